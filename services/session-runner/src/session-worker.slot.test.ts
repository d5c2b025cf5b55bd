/**
 * When a session's queue worker counts as drained, on a real BullMQ worker in a private Redis. The
 * worker's own events are replayed in an order BullMQ produces under load with several jobs in
 * flight: `drained` from one fetch, then the `active` of a job another fetch took just before.
 * BullMQ emits no further `drained` when that job ends, so the slot must not wait for one.
 */
import { type Job, Worker } from 'bullmq';
import type { CatalogWorker } from '@wa-sync/shared/runtime';
import { BULL_PREFIX, sessionQueueName } from '@wa-sync/shared/contracts';
import { suiteRedis } from '../../../test/support/redis-server';
import { QUIET_CHECK_MS, SessionWorkerSlot } from './session-worker.slot';

const suite = suiteRedis();
const GRACE = 2_000;
let worker: Worker;
let slot: SessionWorkerSlot;
let connection: ReturnType<typeof suite.redis.duplicate>;

beforeEach(async () => {
  slot = new SessionWorkerSlot(
    'slot-test',
    () => {
      connection = suite.redis.duplicate();
      worker = new Worker(sessionQueueName('slot-test'), async () => 'ok', { connection, prefix: BULL_PREFIX, autorun: false });
      return worker as unknown as CatalogWorker<'session'>;
    },
    suite.redis,
    () => undefined,
  );
  await slot.resume();
});

afterEach(async () => {
  await slot.close(true);
  await connection.quit();
});

it('counts a worker drained from the end of a job whose active came after the drained event', () => {
  const job = { id: '1' } as Job;
  worker.emit('drained');
  worker.emit('active', job, 'waiting');
  expect(slot.drainedFor(Date.now() + GRACE, GRACE)).toBe(false);
  worker.emit('completed', job, 'ok', 'active');
  expect(slot.drainedFor(Date.now() + GRACE, GRACE)).toBe(true);
});

it('looks at the queue of a worker silent for QUIET_CHECK_MS, whatever its events said', () => {
  worker.emit('drained');
  worker.emit('active', { id: '2' } as Job, 'waiting');
  // A job that ends by being moved (delayed, waiting for children) emits neither completed nor failed.
  expect(slot.drainedFor(Date.now() + GRACE, GRACE)).toBe(false);
  expect(slot.drainedFor(Date.now() + QUIET_CHECK_MS, GRACE)).toBe(true);
});
