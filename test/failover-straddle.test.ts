/**
 * Jobs that straddled a lossy Sentinel failover. A job taken before the failover holds a lock the
 * new primary still has (it was written before the writes that were lost); its own writes in between
 * go to the old primary and are lost, and its completion, sent or resent after the reconnect,
 * succeeds on the new one. CI saw it once: `chatsFailed: 1` and 25 messages short, the chat stored.
 * Each case makes the lost state on a real Redis (a private redis-server) with real BullMQ, the
 * sync workers and a SQLite file. (A fetch that straddles it: test/lost-batch.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { Keys, QueueName, SyncJobId } from '@wa-sync/shared/contracts';
import { createLogger, createRedis, EventLog, type Redis, SyncLedger } from '@wa-sync/shared/runtime';
import { createStore, type Store } from '@wa-sync/shared/store';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { startSyncWorkers, type SyncWorkers } from '../services/sync-workers/src/sync.workers';
import { suiteRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

const suite = suiteRedis();
const finalizeState = (q: Queue, syncId: string) => q.getJobState(SyncJobId.finalize(syncId));

/** A begun sync of `nChats` in the ledger and the store; the handles are closed by `close`. */
async function begin(sessionId: string, syncId: string, nChats: number) {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-straddle-'));
  const store: Store = await createStore(`sqlite:${join(dir, 'store.db')}`);
  const workersRedis: Redis = createRedis(suite.url);
  const ledger = new SyncLedger(suite.redis);
  await ledger.begin(sessionId, syncId, nChats);
  await store.startSyncRun({ syncId, sessionId, reason: 'manual', nChats });
  const flow = new FlowProducer({ connection: suite.redis });
  const finalizeQueue = new Queue(QueueName.syncFinalize, { connection: suite.redis });
  let workers: SyncWorkers | undefined;
  return {
    store,
    ledger,
    flow,
    finalizeQueue,
    startWorkers: () => (workers = startSyncWorkers({ store, redis: workersRedis, logger: createLogger('test', 'silent'), concurrency: 2 })),
    async close() {
      await finalizeQueue.close();
      await flow.close();
      await workers?.close();
      await workersRedis.quit();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

it('a save that completed but whose count was lost: its chat counts as saved, with its messages', async () => {
  const [SESSION, SYNC] = ['lost-count', 'sync-lost-count'];
  const account = new SimulatedAccount({ seed: 5, chats: 3, messagesPerChat: 7 });
  const chats = account.listChats();
  const t = await begin(SESSION, SYNC, chats.length);
  await t.store.upsertChats(SESSION, chats);
  // Stands in for the save that ran across the failover: the chat is stored, the ledger never hears of it.
  const saver = new Worker(QueueName.chatSave, async (job) => {
    const chatId = job.data.chatId as string;
    const messages = account.latestMessages(chatId, 7);
    await t.store.upsertMessages(SESSION, chatId, messages);
    return { messages: messages.length, failed: false };
  }, { connection: suite.redis });
  try {
    await t.flow.add({
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
    await waitFor('every save to complete', async () => (await finalizeState(t.finalizeQueue, SYNC)) === 'waiting', 10_000);
    expect(await t.ledger.uncounted(SYNC, chats.map((c) => c.id))).toHaveLength(chats.length);

    t.startWorkers();
    await waitFor('the finalize job to complete', async () => (await finalizeState(t.finalizeQueue, SYNC)) === 'completed', 30_000);
    const summary = (await t.finalizeQueue.getJob(SyncJobId.finalize(SYNC)))!.returnvalue;
    expect(summary).toMatchObject({ nChats: chats.length, chatsFailed: 0, totalMessages: chats.length * 7 });
    expect(await t.ledger.get(SYNC)).toMatchObject({ currentChat: chats.length, chatsFailed: 0, totalMessagesSynced: chats.length * 7 });
  } finally {
    await saver.close();
    await t.close();
  }
});

it('a finalize whose session_ready was lost before it completed runs again: session_ready logged once, the sync finished', async () => {
  const [SESSION, SYNC] = ['lost-ready', 'sync-lost-ready'];
  const t = await begin(SESSION, SYNC, 0);
  // The loss, made by Redis itself: the first time the ready marker is set, it and the entry it
  // names are deleted, while the job is still on its way to completing.
  const watcher: Redis = createRedis(suite.url);
  await suite.redis.config('SET', 'notify-keyspace-events', 'K$');
  let lost = 0;
  // Ready before it subscribes: ioredis' ready check (INFO) fails on a connection already in subscriber mode.
  await watcher.ping();
  await watcher.subscribe(`__keyspace@0__:${Keys.sessionReady(SYNC)}`);
  watcher.on('message', (_channel: string, op: string) => {
    if (op !== 'set' || lost > 0) return;
    lost++;
    void suite.redis.get(Keys.sessionReady(SYNC)).then((id) => suite.redis.multi().del(Keys.sessionReady(SYNC)).xdel(Keys.eventLog(SESSION), id ?? '0-1').exec());
  });
  try {
    t.startWorkers();
    await t.flow.add({
      name: 'finalize-sync',
      queueName: QueueName.syncFinalize,
      data: { sessionId: SESSION, syncId: SYNC, chatIds: [] },
      opts: { jobId: SyncJobId.finalize(SYNC), attempts: 10, backoff: { type: 'fixed', delay: 100 } },
    });
    await waitFor('the finalize job to complete', async () => (await finalizeState(t.finalizeQueue, SYNC)) === 'completed', 30_000);
    expect(lost).toBe(1);
    expect((await t.finalizeQueue.getJob(SyncJobId.finalize(SYNC)))!.attemptsMade).toBeGreaterThanOrEqual(1);
    const log = await new EventLog(suite.redis).tail(SESSION, 100);
    expect(log.filter((e) => e.event === 'session_ready').map((e) => e.data)).toEqual([expect.objectContaining({ syncId: SYNC, nChats: 0, chatsFailed: 0 })]);
    expect(await t.ledger.readyLogged(SYNC)).toBe(true);
    expect((await t.store.getSyncRun(SYNC))?.finishedAt).toBeTruthy();
  } finally {
    await watcher.quit();
    await t.close();
  }
});
