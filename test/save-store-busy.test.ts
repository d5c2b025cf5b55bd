/**
 * A save that finds the SQLite store locked by another process (as the sync-workers open it: the
 * lock is waited for asynchronously, then StoreBusyError) waits for it without spending an
 * attempt: a long lock used to burn the save's attempts and end in a failed chat whose messages
 * were never stored. Real BullMQ, a private redis-server, a SQLite file locked by another process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { Keys, QueueName, sessionQueueName } from '@wa-sync/shared/contracts';
import { createLogger, createRedis, type Redis, SyncLedger } from '@wa-sync/shared/runtime';
import { createStore, type Store } from '@wa-sync/shared/store';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { startSyncWorkers, type SyncWorkers } from '../services/sync-workers/src/sync.workers';
import { suiteRedis } from './support/redis-server';
import { holdSqliteLock } from './support/store-lock';
import { waitFor } from './support/wait-for';

const suite = suiteRedis();
const SESSION = 'busy';
const SYNC = 'sync-busy';
it('waits for a locked store without spending an attempt, then saves the chat once', async () => {
  // Everything closed in this test, before the suite's redis-server stops.
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-busy-'));
  const file = join(dir, 'store.db');
  const store: Store = await createStore(`sqlite:${file}`, { sqlite: { lockWaitMs: 100 } });
  const workersRedis: Redis = createRedis(suite.url);
  const workers: SyncWorkers = startSyncWorkers({ store, redis: workersRedis, logger: createLogger('test', 'silent'), concurrency: 2 });
  const account = new SimulatedAccount({ seed: 3, chats: 1, messagesPerChat: 5 });
  const [chat] = account.listChats();
  const messages = account.latestMessages(chat.id, 5);
  await store.upsertChats(SESSION, [chat]);
  await new SyncLedger(suite.redis).begin(SESSION, SYNC, 1);
  const stagingKey = Keys.staging(SYNC, chat.id);
  await suite.redis.set(stagingKey, JSON.stringify(messages));

  const flow = new FlowProducer({ connection: suite.redis });
  const saves = new Queue(QueueName.chatSave, { connection: suite.redis });
  // The fetch child, completed by hand with the result a real fetch returns.
  const fetcher = new Worker(sessionQueueName(SESSION), async () => ({ stagingKey, count: messages.length }), { connection: suite.redis, autorun: false });
  const held = await holdSqliteLock(file, 2_500);
  try {
    await flow.add({
      name: 'save-chat',
      queueName: QueueName.chatSave,
      data: { sessionId: SESSION, syncId: SYNC, chatId: chat.id },
      opts: { jobId: 'save-busy-0', attempts: 5, backoff: { type: 'exponential', delay: 50 } },
      children: [{ name: 'fetch-messages', queueName: sessionQueueName(SESSION), data: {}, opts: { jobId: 'fetch-busy-0' } }],
    });
    void fetcher.run();
    // While the lock is held, the save is put back, not failed.
    await waitFor('the save to wait for the store', async () => (await saves.getJobState('save-busy-0')) === 'delayed');
    expect((await saves.getJob('save-busy-0'))?.attemptsMade).toBe(0);
    await held.released;
    await waitFor('the save to complete', async () => (await saves.getJobState('save-busy-0')) === 'completed', 30_000);
    // BullMQ counts the completing run as an attempt: that one only, none for the waits.
    expect((await saves.getJob('save-busy-0'))?.attemptsMade).toBe(1);
    const page = await store.listMessages(SESSION, chat.id, { limit: 50 });
    expect(page.items.map((m) => m.id).sort()).toEqual(messages.map((m) => m.id).sort());
    expect(await new SyncLedger(suite.redis).get(SYNC)).toMatchObject({ currentChat: 1, chatsFailed: 0, messagesSynced: messages.length });
  } finally {
    await held.released.catch(() => undefined);
    await fetcher.close();
    await saves.close();
    await flow.close();
    await workers.close();
    await workersRedis.quit();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
