/**
 * A lost reply of BullMQ's complete-and-take-next call, replayed by hand on a private redis-server:
 * the first call completes job a and locks job b with a's token, its reply is "lost", the same
 * call sent again fails with "Missing lock". Without the reclaim, b stays active under a lock no
 * worker knows; with it, b is back in wait at once, without a spent attempt.
 */
import { Queue, Worker } from 'bullmq';
import { suiteRedis } from '../../../test/support/redis-server';
import { waitFor } from '../../../test/support/wait-for';
import { createLogger } from './logger.factory';
import { createRedis } from './redis.client';
import { LostReplyReclaim, lostReplyJobId } from './lost-reply.reclaim';

const suite = suiteRedis();
const logger = createLogger('test', 'silent');

/** A queue and a worker without a processor (the test drives the worker's calls), closed after `fn`. */
async function withQueue(name: string, fn: (queue: Queue, worker: Worker, reclaim: LostReplyReclaim) => Promise<void>): Promise<void> {
  const queue = new Queue(name, { connection: suite.redis });
  const worker = new Worker(name, null, { connection: suite.redis, autorun: false });
  try {
    await fn(queue, worker, new LostReplyReclaim(worker, suite.redis, logger));
  } finally {
    await worker.close();
    await queue.close();
  }
}

it('puts back the job a lost complete-and-take-next reply left locked', () =>
  withQueue('lost-reply', async (queue, worker, reclaim) => {
    await queue.add('x', {}, { jobId: 'a' });
    await queue.add('x', {}, { jobId: 'b' });
    const token = 'worker-1:0';
    const a = await worker.getNextJob(token);
    expect(a?.id).toBe('a');
    reclaim.track('a', token);

    await a!.moveToCompleted('done', token, true); // runs; its reply is the one "lost"
    const again = await a!.moveToCompleted('done', token, true).then(
      () => null,
      (err: Error) => err,
    );
    expect(again).toBeInstanceOf(Error);
    // The error the trigger recognises is the one BullMQ gives.
    expect(lostReplyJobId(again!)).toBe('a');
    expect(await queue.getJobState('b')).toBe('active');
    expect(await suite.redis.get('bull:lost-reply:b:lock')).toBe(token);

    expect(await reclaim.reclaim(token, 'a')).toEqual(['b']);
    expect(await queue.getJobState('b')).toBe('waiting');
    expect((await queue.getJob('b'))?.attemptsMade).toBe(0);
    // And a worker takes it again.
    const b = await worker.getNextJob('worker-1:1');
    expect(b?.id).toBe('b');
  }));

it('wakes a worker blocked waiting for jobs when it puts back a job with a priority', () =>
  withQueue('lost-prio', async (queue, worker, reclaim) => {
    // As the saves and media downloads are: one priority for all.
    await queue.add('x', {}, { jobId: 'p', priority: 1 });
    await queue.add('x', {}, { jobId: 'q', priority: 1 });
    const token = 'worker-1:0';
    const p = await worker.getNextJob(token);
    reclaim.track('p', token);
    await p!.moveToCompleted('done', token, true); // q is now locked with p's token; the reply "lost"
    expect(await queue.getJobState('q')).toBe('active');

    // Another worker finds nothing to take and blocks for jobs for a minute.
    const taken: string[] = [];
    const other = new Worker('lost-prio', async (job) => void taken.push(job.id!), { connection: suite.redis, drainDelay: 60 });
    try {
      await waitFor('the other worker blocked for jobs', async () => ((await suite.redis.client('LIST')) as string).includes('cmd=bzpopmin'));
      expect(await reclaim.reclaim(token, 'p')).toEqual(['q']);
      // Taken while that block still has most of its minute to run.
      await waitFor('the put-back job taken by the blocked worker', () => taken.includes('q'), 20_000);
    } finally {
      await other.close();
    }
  }));

it('leaves alone active jobs locked with another token, and ignores other errors', () =>
  withQueue('lost-reply-2', async (queue, worker, reclaim) => {
    await queue.add('x', {}, { jobId: 'c' });
    const c = await worker.getNextJob('live-token');
    expect(c?.id).toBe('c');
    expect(await reclaim.reclaim('dead-token', 'z')).toEqual([]);
    expect(await queue.getJobState('c')).toBe('active');
    expect(lostReplyJobId(new Error('Missing lock for job c. moveToDelayed'))).toBeNull();
    expect(lostReplyJobId(new Error('connection closed'))).toBeNull();
  }));

it("puts back, after a reconnect sweep, a job a lost take-next reply left locked with one of the worker's tokens, and no other", () =>
  withQueue('lost-take', async (queue, worker) => {
    for (const id of ['o', 't', 'f', 's']) await queue.add('x', {}, { jobId: id });
    let reclaim: LostReplyReclaim;
    // Between the two looks, the worker's handler takes s (fetched just before the first look).
    const pause = async () => reclaim.track('s', `${worker.id}:3`);
    reclaim = new LostReplyReclaim(worker, suite.redis, logger, 10_000, pause);
    expect((await worker.getNextJob(`${worker.id}:0`))?.id).toBe('o'); // taken; its reply "lost"
    expect((await worker.getNextJob(`${worker.id}:1`))?.id).toBe('t');
    reclaim.track('t', `${worker.id}:1`);
    expect((await worker.getNextJob('another-worker:0'))?.id).toBe('f');
    expect((await worker.getNextJob(`${worker.id}:3`))?.id).toBe('s');

    expect(await reclaim.sweepOrphans()).toEqual(['o']);
    expect(await queue.getJobState('o')).toBe('waiting');
    expect((await queue.getJob('o'))?.attemptsMade).toBe(0);
    for (const id of ['t', 'f', 's']) expect(await queue.getJobState(id)).toBe('active');
  }));

it('sweeps when the connection comes back: the orphan is taken again without waiting for its lock to expire', async () => {
  const connection = createRedis(suite.url);
  const queue = new Queue('lost-take-reconnect', { connection: suite.redis });
  // No stalled check runs here (autorun off): without the sweep the orphan would stay active for good.
  const worker = new Worker('lost-take-reconnect', null, { connection, autorun: false });
  try {
    await worker.waitUntilReady();
    const reclaim = new LostReplyReclaim(worker, connection, logger, 10_000, () => new Promise((r) => setTimeout(r, 50)));
    await queue.add('x', {}, { jobId: 'o' });
    expect((await worker.getNextJob(`${worker.id}:0`))?.id).toBe('o');
    expect(reclaim).toBeDefined();

    const id = await connection.client('ID');
    await suite.redis.client('KILL', 'ID', String(id));
    await waitFor('the orphan back in wait', async () => (await queue.getJobState('o')) === 'waiting', 20_000);
  } finally {
    await worker.close();
    await queue.close();
    await connection.quit();
  }
});

it('never sweeps a job whose handler is still running, however many jobs were noted since', () =>
  withQueue('lost-take-long', async (queue, worker) => {
    await queue.add('x', {}, { jobId: 'long' });
    const reclaim = new LostReplyReclaim(worker, suite.redis, logger, 1, async () => undefined);
    expect((await worker.getNextJob(`${worker.id}:0`))?.id).toBe('long');
    reclaim.track('long', `${worker.id}:0`);
    reclaim.track('other', `${worker.id}:1`); // evicts long's token (maxTracked 1)
    expect(await reclaim.sweepOrphans()).toEqual([]);
    expect(await queue.getJobState('long')).toBe('active');
    reclaim.handlerDone('long'); // returned; its completion is lost with the reply
    expect(await reclaim.sweepOrphans()).toEqual(['long']);
  }));
