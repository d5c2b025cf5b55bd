/**
 * A save that completed but whose count Redis lost. A Sentinel failover that loses the primary's
 * newest writes can leave exactly that: the save was taken before the failover, wrote its chat's
 * count to the old primary (lost) and then completed on the new one, where its lock was still
 * valid. CI saw it once: `chatsFailed: 1` and 25 messages short of the total, the chat stored.
 * The finalize job must count the chat from its save's result: saved, with its messages.
 * Real BullMQ, a private redis-server, the sync workers, a SQLite file; the lost count is made by
 * completing the save with a plain worker that stores the chat and leaves the ledger alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { QueueName, SyncJobId } from '@wa-sync/shared/contracts';
import { createLogger, createRedis, type Redis, SyncLedger } from '@wa-sync/shared/runtime';
import { createStore, type Store } from '@wa-sync/shared/store';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { startSyncWorkers, type SyncWorkers } from '../services/sync-workers/src/sync.workers';
import { suiteRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

const suite = suiteRedis();
const SESSION = 'lost-count';
const SYNC = 'sync-lost-count';

it('counts a chat whose save completed but whose count was lost as saved, with its messages', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-lost-count-'));
  const store: Store = await createStore(`sqlite:${join(dir, 'store.db')}`);
  const workersRedis: Redis = createRedis(suite.url);
  const account = new SimulatedAccount({ seed: 5, chats: 3, messagesPerChat: 7 });
  const chats = account.listChats();
  await store.upsertChats(SESSION, chats);
  const ledger = new SyncLedger(suite.redis);
  await ledger.begin(SESSION, SYNC, chats.length);
  await store.startSyncRun({ syncId: SYNC, sessionId: SESSION, reason: 'manual', nChats: chats.length });

  const flow = new FlowProducer({ connection: suite.redis });
  const finalizeQueue = new Queue(QueueName.syncFinalize, { connection: suite.redis });
  // Stands in for the save that ran across the failover: the chat is stored, the ledger never hears of it.
  const saver = new Worker(QueueName.chatSave, async (job) => {
    const chatId = job.data.chatId as string;
    const messages = account.latestMessages(chatId, 7);
    await store.upsertMessages(SESSION, chatId, messages);
    return { messages: messages.length, failed: false };
  }, { connection: suite.redis });
  let workers: SyncWorkers | undefined;
  try {
    await flow.add({
      name: 'finalize-sync',
      queueName: QueueName.syncFinalize,
      data: { sessionId: SESSION, syncId: SYNC, chatIds: chats.map((c) => c.id) },
      opts: { jobId: SyncJobId.finalize(SYNC) },
      children: chats.map((c, place) => ({
        name: 'save-chat',
        queueName: QueueName.chatSave,
        data: { sessionId: SESSION, syncId: SYNC, chatId: c.id },
        opts: { jobId: SyncJobId.save(SYNC, place), ignoreDependencyOnFailure: true },
      })),
    });
    await waitFor('every save to complete', async () => (await finalizeQueue.getJobState(SyncJobId.finalize(SYNC))) === 'waiting', 10_000);
    expect(await ledger.uncounted(SYNC, chats.map((c) => c.id))).toHaveLength(chats.length);

    workers = startSyncWorkers({ store, redis: workersRedis, logger: createLogger('test', 'silent'), concurrency: 2 });
    await waitFor('the finalize job to complete', async () => (await finalizeQueue.getJobState(SyncJobId.finalize(SYNC))) === 'completed', 30_000);
    const summary = (await finalizeQueue.getJob(SyncJobId.finalize(SYNC)))!.returnvalue;
    expect(summary).toMatchObject({ nChats: chats.length, chatsFailed: 0, totalMessages: chats.length * 7 });
    expect(await ledger.get(SYNC)).toMatchObject({ currentChat: chats.length, chatsFailed: 0, totalMessagesSynced: chats.length * 7 });
  } finally {
    await saver.close();
    await finalizeQueue.close();
    await flow.close();
    await workers?.close();
    await workersRedis.quit();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
