/**
 * A sync whose jobs Redis lost is closed even when a newer sync already sits on top of it: the
 * restarted client's `ready` may store its sync before the runner's check looks, and a check of the
 * newest run alone left the lost one open for good. A private redis-server and a real SQLite store.
 */
import { createStore, type Store } from '@wa-sync/shared/store';
import { EventLog, SessionQueues, SyncLedger, createLogger } from '@wa-sync/shared/runtime';
import { suiteRedis } from '../../../test/support/redis-server';
import { closeOrphanSync, type OrphanSyncDeps } from './orphan-sync.check';
import { SessionStatusReporter } from './session-status.reporter';

const suite = suiteRedis();
let store: Store;
let queues: SessionQueues;
let deps: OrphanSyncDeps;

beforeEach(async () => {
  await suite.redis.flushall();
  store = await createStore('sqlite::memory:');
  queues = new SessionQueues(suite.redis);
  const logger = createLogger('test', 'silent');
  const reporter = new SessionStatusReporter(store, suite.redis, new EventLog(suite.redis), logger);
  deps = { store, queues, ledger: new SyncLedger(suite.redis), reporter, logger, limitPerChat: 100 };
});

afterEach(async () => {
  await queues.close();
  await store.close();
});

/** What the runner does for a sync it starts: the request marks it active, the run is stored, progress begins. */
async function startSync(sessionId: string): Promise<string> {
  const { syncId } = await new SyncLedger(suite.redis).request(queues, { sessionId, reason: 'ready', limitPerChat: 100 });
  await store.startSyncRun({ syncId, sessionId, reason: 'ready', nChats: 3 });
  await deps.ledger.begin(sessionId, syncId, 3);
  return syncId;
}

async function syncErrors(sessionId: string): Promise<string[]> {
  const { events } = await new EventLog(suite.redis).readAfter(sessionId, '0-0');
  return events.filter((e) => e.event === 'sync_error').map((e) => (e.data as { syncId: string }).syncId);
}

it('closes a lost sync stored behind the newer sync the restarted client asked for, and leaves that one running', async () => {
  await store.ensureSession('s1');
  // Stored before Redis restarted empty: its progress and job graph are gone.
  await store.startSyncRun({ syncId: 'lost', sessionId: 's1', reason: 'ready', nChats: 3 });
  const current = await startSync('s1');

  expect(await closeOrphanSync(deps, 's1', true)).toEqual(['lost']);

  expect(await store.getSyncRun('lost')).toMatchObject({ done: true, chatsFailed: 3 });
  expect(await store.getSyncRun(current)).toMatchObject({ done: false });
  expect(await syncErrors('s1')).toEqual(['lost']);
  // The running sync covers the session: no second sync-start is queued.
  expect((await queues.get('s1').getJobs(['waiting', 'delayed', 'active'])).map((j) => j.id)).toEqual([current]);
  // A second look finds nothing more to close.
  expect(await closeOrphanSync(deps, 's1', true)).toEqual([]);
});

it('leaves a sync that is only starting (named active, progress not begun) open', async () => {
  await store.ensureSession('s2');
  const { syncId } = await new SyncLedger(suite.redis).request(queues, { sessionId: 's2', reason: 'ready', limitPerChat: 100 });
  await store.startSyncRun({ syncId, sessionId: 's2', reason: 'ready', nChats: 3 });

  expect(await closeOrphanSync(deps, 's2', true)).toEqual([]);
  expect(await store.getSyncRun(syncId)).toMatchObject({ done: false });
  expect(await syncErrors('s2')).toEqual([]);
});

it('asks for a new sync once the lost one is closed, if the client is ready', async () => {
  await store.ensureSession('s3');
  await store.startSyncRun({ syncId: 'lost-a', sessionId: 's3', reason: 'ready', nChats: 2 });
  await store.startSyncRun({ syncId: 'lost-b', sessionId: 's3', reason: 'manual', nChats: 2 });

  expect(await closeOrphanSync(deps, 's3', true)).toEqual(['lost-a', 'lost-b']);
  const queued = await queues.get('s3').getJobs(['waiting', 'delayed', 'active']);
  expect(queued.map((j) => [j.name, 'reason' in j.data ? j.data.reason : null])).toEqual([['sync-start', 'reconnect']]);
});
