/**
 * A lost reply of BullMQ's complete-and-take-next call, replayed by hand on a private redis-server:
 * the first call completes job a and locks job b with a's token, its reply is "lost", the same
 * call sent again fails with "Missing lock". Without the reclaim, b stays active under a lock no
 * worker knows; with it, b is back in wait at once, without a spent attempt.
 */
import { Queue, Worker } from 'bullmq';
import { suiteRedis } from '../../../test/support/redis-server';
import { createLogger } from './logger.factory';
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
