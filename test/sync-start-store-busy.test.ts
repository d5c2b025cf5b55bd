/**
 * A sync that starts while another process holds the SQLite lock past the runner's wait: its
 * sync-start is put back without spending an attempt and runs once the lock goes, instead of
 * failing for good after its attempts (and with it the sync). The runner's manager and the sync
 * workers in one process (SyncHarness), a SQLite file locked by another process.
 */
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { type SyncSnapshot, sessionQueueName } from '@wa-sync/shared/contracts';
import { SyncLedger } from '@wa-sync/shared/runtime';
import { createStore, type Store } from '@wa-sync/shared/store';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { holdSqliteLock } from './support/store-lock';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const SESSION = 'start-busy';
let h: SyncHarness;
let runnerStore: Store;

beforeAll(async () => {
  h = await SyncHarness.start();
  // The runner's own handle on the file, as its main.ts opens it but with a short wait.
  runnerStore = await createStore(`sqlite:${join(h.dir, 'test.db')}`, { sqlite: { lockWaitMs: 100 } });
});
afterAll(async () => {
  await h?.stop();
  await runnerStore?.close();
});

const done = (syncId: string) => h.events.find((e) => e.event === 'sync_chats' && (e.data as SyncSnapshot).syncId === syncId && (e.data as SyncSnapshot).done);

it('waits for the store, then syncs every chat', async () => {
  const engine = new SimulatedEngine({ chats: 5, messagesPerChat: 10, fetchLatencyMs: 1, seed: 4, autoScanMs: 10 });
  await h.manager(engine, { store: runnerStore, limitPerChat: 10 }).start(SESSION);
  const first = await waitFor('the first sync', () => h.events.find((e) => e.event === 'sync_chats' && (e.data as SyncSnapshot).done));
  expect((first.data as SyncSnapshot).chatsFailed).toBe(0);

  const held = await holdSqliteLock(join(h.dir, 'test.db'), 2_500);
  // Every chat again (chatIds), so this sync writes its chat list at start, under the lock.
  const chatIds = (await h.store.listChats(SESSION, { limit: 10 })).items.map((c) => c.id);
  const { syncId } = await new SyncLedger(h.redis).request(h.queues, { sessionId: SESSION, reason: 'manual', limitPerChat: 10, chatIds });
  const queue = new Queue(sessionQueueName(SESSION), { connection: h.redis });
  try {
    const startJob = async () => (await queue.getJobs(['delayed', 'waiting', 'active', 'completed', 'failed'])).find((j) => j.name === 'sync-start' && j.data.syncId === syncId);
    await waitFor('sync-start to wait for the store', async () => (await (await startJob())?.getState()) === 'delayed');
    expect((await startJob())?.attemptsMade).toBe(0);
    await held.released;
    const last = await waitFor('the sync to finish', () => done(syncId), 30_000);
    expect(last.data).toMatchObject({ nChats: 5, currentChat: 5, chatsFailed: 0 });
    expect((await startJob())?.attemptsMade).toBe(1);
  } finally {
    await held.released.catch(() => undefined);
    await queue.close();
  }
});
