/**
 * A finalize job whose `session_ready` Redis lost. A Sentinel failover that loses the primary's
 * newest writes can leave that: the finalize job was taken before the failover, logged
 * `session_ready` (and finished the sync) on the old primary, then completed on the new one, where
 * its lock was still valid. The finalize job must notice before it completes, and run again.
 * Real BullMQ, a private redis-server, the sync workers, a SQLite file. The loss is made by Redis
 * itself: a keyspace notification of the ready marker's SET makes the test delete the marker and
 * the logged entry at once (once), while the job is still on its way to completing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import { Keys, QueueName, SyncJobId } from '@wa-sync/shared/contracts';
import { createLogger, createRedis, EventLog, type Redis, SyncLedger } from '@wa-sync/shared/runtime';
import { createStore, type Store } from '@wa-sync/shared/store';
import { startSyncWorkers, type SyncWorkers } from '../services/sync-workers/src/sync.workers';
import { suiteRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

const suite = suiteRedis();
const SESSION = 'lost-ready';
const SYNC = 'sync-lost-ready';

it('runs a finalize again whose session_ready was lost before it completed: session_ready logged once, the sync finished', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-lost-ready-'));
  const store: Store = await createStore(`sqlite:${join(dir, 'store.db')}`);
  const workersRedis: Redis = createRedis(suite.url);
  const watcher: Redis = createRedis(suite.url);
  const ledger = new SyncLedger(suite.redis);
  await ledger.begin(SESSION, SYNC, 0);
  await store.startSyncRun({ syncId: SYNC, sessionId: SESSION, reason: 'manual', nChats: 0 });

  // The loss: the first time the marker is set, it and the entry it names are deleted.
  await suite.redis.config('SET', 'notify-keyspace-events', 'K$');
  let lost = 0;
  await watcher.subscribe(`__keyspace@0__:${Keys.sessionReady(SYNC)}`);
  watcher.on('message', (_channel: string, op: string) => {
    if (op !== 'set' || lost > 0) return;
    lost++;
    void suite.redis.get(Keys.sessionReady(SYNC)).then((id) => suite.redis.multi().del(Keys.sessionReady(SYNC)).xdel(Keys.eventLog(SESSION), id ?? '0-1').exec());
  });

  const flow = new FlowProducer({ connection: suite.redis });
  const finalizeQueue = new Queue(QueueName.syncFinalize, { connection: suite.redis });
  let workers: SyncWorkers | undefined;
  try {
    workers = startSyncWorkers({ store, redis: workersRedis, logger: createLogger('test', 'silent'), concurrency: 2 });
    await flow.add({
      name: 'finalize-sync',
      queueName: QueueName.syncFinalize,
      data: { sessionId: SESSION, syncId: SYNC, chatIds: [] },
      opts: { jobId: SyncJobId.finalize(SYNC), attempts: 10, backoff: { type: 'fixed', delay: 100 } },
    });
    await waitFor('the finalize job to complete', async () => (await finalizeQueue.getJobState(SyncJobId.finalize(SYNC))) === 'completed', 30_000);
    expect(lost).toBe(1);
    const job = (await finalizeQueue.getJob(SyncJobId.finalize(SYNC)))!;
    expect(job.attemptsMade).toBeGreaterThanOrEqual(1);
    const log = await new EventLog(suite.redis).tail(SESSION, 100);
    expect(log.filter((e) => e.event === 'session_ready').map((e) => e.data)).toEqual([expect.objectContaining({ syncId: SYNC, nChats: 0, chatsFailed: 0 })]);
    expect(await ledger.readyLogged(SYNC)).toBe(true);
    expect((await store.getSyncRun(SYNC))?.finishedAt).toBeTruthy();
  } finally {
    await watcher.quit();
    await finalizeQueue.close();
    await flow.close();
    await workers?.close();
    await workersRedis.quit();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
