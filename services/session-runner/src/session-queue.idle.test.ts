/**
 * What the idle-worker watch sees of a closed worker's queue, on real BullMQ queues in a private
 * Redis: work is a job in any state a worker must act on, with or without the marker BullMQ
 * writes on each add. A failover that loses the newest writes can leave a job waiting whose
 * marker was consumed, or active with no worker left to finish it: both must count.
 */
import { Queue, Worker } from 'bullmq';
import { BULL_PREFIX, sessionQueueName } from '@wa-sync/shared/contracts';
import { suiteRedis } from '../../../test/support/redis-server';
import { closeIfQueueEmpty, queuesWithWork } from './session-queue.idle';

const suite = suiteRedis();
const marker = (id: string) => `${BULL_PREFIX}:${sessionQueueName(id)}:marker`;
const queues: Queue[] = [];
const connections: ReturnType<typeof suite.redis.duplicate>[] = [];

/** A connection of its own (a worker's), closed after the tests. */
function own(): ReturnType<typeof suite.redis.duplicate> {
  const c = suite.redis.duplicate();
  connections.push(c);
  return c;
}

function queue(id: string): Queue {
  const q = new Queue(sessionQueueName(id), { connection: suite.redis, prefix: BULL_PREFIX });
  queues.push(q);
  return q;
}

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await Promise.all(connections.map((c) => c.quit()));
});

it('finds the queues with a job waiting, active, delayed or marked, and only those', async () => {
  const ids = ['empty', 'done', 'waiting', 'marker-lost', 'active-orphan', 'delayed'];
  const [, done, waiting, markerLost, orphan, delayed] = ids.map(queue);
  // A queue whose only job completed: empty once its marker is cleared, as an idle close leaves it.
  const worker = new Worker(sessionQueueName('done'), async () => 'ok', { connection: own(), prefix: BULL_PREFIX });
  const finished = new Promise((r) => worker.once('completed', r));
  await done.add('x', {});
  await finished;
  await worker.close();
  const events = `${BULL_PREFIX}:${sessionQueueName('done')}:events`;
  expect(await suite.redis.exists(events)).toBe(1);
  expect(await closeIfQueueEmpty(suite.redis, 'done', { clearMarker: true })).toBe(true);
  // Nothing reads a session queue's events: an idle queue keeps none.
  expect(await suite.redis.exists(events, marker('done'))).toBe(0);

  await waiting.add('x', {});
  await markerLost.add('x', {});
  await suite.redis.del(marker('marker-lost'));
  // Taken by a worker that then went away without finishing it (its lock lapses by itself).
  await orphan.add('x', {});
  const gone = new Worker(sessionQueueName('active-orphan'), null, { connection: own(), prefix: BULL_PREFIX, lockDuration: 1000 });
  expect(await gone.getNextJob('token-1')).toBeTruthy();
  await gone.close(true);
  await suite.redis.del(marker('active-orphan'));
  await delayed.add('x', {}, { delay: 60_000 });

  expect((await queuesWithWork(suite.redis, ids)).sort()).toEqual(['active-orphan', 'delayed', 'marker-lost', 'waiting']);
  expect(await closeIfQueueEmpty(suite.redis, 'active-orphan', { clearMarker: false })).toBe(false);
});

it('answers for more sessions than one script call takes', async () => {
  const ids = Array.from({ length: 1_203 }, (_, i) => `many-${i}`);
  await queue('many-1100').add('x', {});
  await queue('many-7').add('x', {});
  expect((await queuesWithWork(suite.redis, ids)).sort()).toEqual(['many-1100', 'many-7']);
});
