/**
 * A save that runs while its fetch has not finished: BullMQ never lets it, but a Sentinel failover
 * that loses the primary's newest writes can (the fetch's completion lost, the save already taken).
 * The full fault row saw it: 3 chats of 900 stored whole yet counted failed ("fetch failed: no
 * result"). The save must park until its fetch completes, then save the chat once, not failed.
 * Real BullMQ, a private redis-server, the sync workers, a SQLite file; the lost state is made by
 * moving the save from `waiting-children` to `wait` by hand, as the failover left it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { BULL_PREFIX, Keys, QueueName, sessionQueueName } from '@wa-sync/shared/contracts';
import { createLogger, createRedis, type Redis, SyncLedger } from '@wa-sync/shared/runtime';
import { createStore, type Store } from '@wa-sync/shared/store';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { startSyncWorkers, type SyncWorkers } from '../services/sync-workers/src/sync.workers';
import { suiteRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

const suite = suiteRedis();
const SESSION = 'pending';
const SYNC = 'sync-pending';
const SAVE = 'save-pending-0';

it('parks a save whose fetch has not finished, then saves the chat once when it has, not counted failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-pending-'));
  const store: Store = await createStore(`sqlite:${join(dir, 'store.db')}`);
  const workersRedis: Redis = createRedis(suite.url);
  const account = new SimulatedAccount({ seed: 4, chats: 1, messagesPerChat: 5 });
  const [chat] = account.listChats();
  const messages = account.latestMessages(chat.id, 5);
  await store.upsertChats(SESSION, [chat]);
  const ledger = new SyncLedger(suite.redis);
  await ledger.begin(SESSION, SYNC, 1);
  const stagingKey = Keys.staging(SYNC, chat.id);
  await suite.redis.set(stagingKey, JSON.stringify(messages));

  const flow = new FlowProducer({ connection: suite.redis });
  const saves = new Queue(QueueName.chatSave, { connection: suite.redis });
  // The runner's fetch, completed by hand with the result a real fetch returns, once allowed to.
  const fetcher = new Worker(sessionQueueName(SESSION), async () => ({ stagingKey, count: messages.length }), { connection: suite.redis, autorun: false });
  let workers: SyncWorkers | undefined;
  try {
    await flow.add({
      name: 'save-chat',
      queueName: QueueName.chatSave,
      data: { sessionId: SESSION, syncId: SYNC, chatId: chat.id },
      opts: { jobId: SAVE, attempts: 5, backoff: { type: 'exponential', delay: 50 }, ignoreDependencyOnFailure: true },
      children: [{ name: 'fetch-messages', queueName: sessionQueueName(SESSION), data: {}, opts: { jobId: 'fetch-pending-0', ignoreDependencyOnFailure: true } }],
    });
    expect(await saves.getJobState(SAVE)).toBe('waiting-children');
    // The state a lossy failover leaves: the save waiting to run, its fetch not done.
    const k = (part: string) => `${BULL_PREFIX}:${QueueName.chatSave}:${part}`;
    await suite.redis.multi().zrem(k('waiting-children'), SAVE).lpush(k('wait'), SAVE).zadd(k('marker'), 0, '0').exec();

    workers = startSyncWorkers({ store, redis: workersRedis, logger: createLogger('test', 'silent'), concurrency: 2 });
    await waitFor('the save to run and park again', async () => (await saves.getJobState(SAVE)) === 'waiting-children' && (await saves.getJob(SAVE))?.processedOn, 10_000);
    expect(await ledger.isChatCounted(SYNC, chat.id)).toBe(false);

    void fetcher.run();
    await waitFor('the save to complete', async () => (await saves.getJobState(SAVE)) === 'completed', 30_000);
    const page = await store.listMessages(SESSION, chat.id, { limit: 50 });
    expect(page.items.map((m) => m.id).sort()).toEqual(messages.map((m) => m.id).sort());
    expect(await ledger.get(SYNC)).toMatchObject({ currentChat: 1, chatsFailed: 0, messagesSynced: messages.length });
  } finally {
    await fetcher.close();
    await saves.close();
    await flow.close();
    await workers?.close();
    await workersRedis.quit();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
