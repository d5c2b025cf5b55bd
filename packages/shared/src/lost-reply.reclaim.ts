import { Job, type Worker } from 'bullmq';
import type { Logger } from './logger.factory';
import type { Redis } from './redis.client';

/**
 * Jobs orphaned by a lost reply, put back at once instead of after their lock expires.
 *
 * A worker completes a job and takes the next in one call (`moveToFinished` with fetchNext), and
 * the next job is locked with the same token. When Redis restarts (or the connection drops) after
 * running that call but before its reply arrives, ioredis sends it again: the second run finds the
 * lock gone ("Missing lock for job … moveToFinished") and the worker never learns of the job the
 * first run took. That job stays active under a lock nobody renews until the lock expires and a
 * stalled check runs (job lock + stalled interval: 20 s with the runner's defaults). The token is
 * dead by then (the worker drops it with the failed call), so any active job it still locks is such
 * an orphan: moved back to wait with that token, it is taken again within a round trip.
 */
export class LostReplyReclaim {
  /** Token of each job a handler took, until BullMQ confirms its completion or failure. */
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly worker: Worker,
    /** The worker's own connection (commands, not its blocking one). */
    private readonly redis: Redis,
    private readonly logger: Logger,
    /** Entries kept at most (jobs moved back to wait or delayed by a handler confirm nothing). */
    private readonly maxTracked = 10_000,
  ) {
    worker.on('completed', (job) => this.tokens.delete(job.id ?? ''));
    worker.on('failed', (job) => job && this.tokens.delete(job.id ?? ''));
  }

  /** A handler took `jobId` with `token`. */
  track(jobId: string | undefined, token: string | undefined): void {
    if (!jobId || !token) return;
    this.tokens.delete(jobId);
    this.tokens.set(jobId, token);
    if (this.tokens.size > this.maxTracked) this.tokens.delete(this.tokens.keys().next().value as string);
  }

  /** For the worker's `error` event: acts on a lost-reply "Missing lock", ignores anything else. */
  onWorkerError(err: Error): void {
    const jobId = lostReplyJobId(err);
    if (!jobId) return;
    const token = this.tokens.get(jobId);
    this.tokens.delete(jobId);
    if (!token) return;
    this.reclaim(token, jobId).catch((e: Error) => this.logger.warn({ queue: this.worker.name, jobId, err: e.message }, 'could not look for jobs orphaned by a lost reply'));
  }

  /** Moves back to wait every active job still locked with `token` (a dead one), `finishedId` aside. */
  async reclaim(token: string, finishedId: string): Promise<string[]> {
    const client = this.redis;
    const active = await client.lrange(this.worker.keys.active, 0, -1);
    const moved: string[] = [];
    for (const id of active) {
      if (id === finishedId || (await client.get(`${this.worker.toKey(id)}:lock`)) !== token) continue;
      const job = await Job.fromId(this.worker, id);
      // The script checks the token again: a job taken meanwhile by someone else is left alone.
      if (job && (await job.moveToWait(token).then(() => true, () => false))) moved.push(id);
    }
    if (moved.length) this.logger.warn({ queue: this.worker.name, jobs: moved, after: finishedId }, 'put back jobs orphaned by a lost reply');
    return moved;
  }
}

/** The job id of BullMQ's "Missing lock for job <id>. moveToFinished" error; null for any other. */
export function lostReplyJobId(err: Error): string | null {
  return /^Missing lock for job (\S+)\. moveToFinished$/.exec(err?.message ?? '')?.[1] ?? null;
}
