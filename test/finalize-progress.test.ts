/**
 * Bull Board shows a sync's percentage on its finalize job: the job's `progress` rises as chats
 * are saved (never down, whole percents) and ends at 100. Real BullMQ on a private Redis, the
 * real runner and workers, the simulated phone.
 */
import { QueueEvents } from 'bullmq';
import { QueueName, SyncJobId, type SyncSnapshot } from '@wa-sync/shared/contracts';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const CHATS = 20;
let h: SyncHarness;
let events: QueueEvents;

beforeAll(async () => {
  h = await SyncHarness.start({ workerConcurrency: 2 });
  events = new QueueEvents(QueueName.syncFinalize, { connection: h.redis });
  await events.waitUntilReady();
});

afterAll(async () => {
  await events?.close();
  await h?.stop();
});

it('the finalize job of a sync reports its percentage as chats are saved, ending at 100', async () => {
  const progress: Array<{ jobId: string; data: unknown }> = [];
  events.on('progress', ({ jobId, data }) => progress.push({ jobId, data }));
  const manager = h.manager(new SimulatedEngine({ chats: CHATS, messagesPerChat: 5, autoScanMs: 10, fetchLatencyMs: 15 }), { concurrency: 2 });
  await manager.start('bb');
  const done = await waitFor('the sync to finish', () =>
    h.events.find((e) => e.sessionId === 'bb' && e.event === 'sync_chats' && (e.data as SyncSnapshot).done),
  );
  const { syncId } = done.data as SyncSnapshot;
  const jobId = SyncJobId.finalize(syncId);
  await waitFor('progress 100', () => progress.some((p) => p.jobId === jobId && p.data === 100), 10_000);

  const values = progress.filter((p) => p.jobId === jobId).map((p) => p.data as number);
  process.stdout.write(`finalize progress of ${CHATS} chats: ${values.join(' ')}\n`);
  expect(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 100)).toBe(true);
  expect(values.some((v) => v > 0 && v < 100)).toBe(true);
  expect(values[values.length - 1]).toBe(100);
  // Never down (updates of one chat can cross, but only a higher percent is written).
  expect([...values].sort((a, b) => a - b)).toEqual(values);
  expect(values.length).toBeLessThanOrEqual(CHATS + 1);
});
