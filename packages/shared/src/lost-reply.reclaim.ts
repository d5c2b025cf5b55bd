import { Job, type Worker } from 'bullmq';
import type { Logger } from './logger.factory';
import type { Redis } from './redis.client';


/** A worker whatever its job types: the reclaim reads its keys, ids and lock tokens, never job data. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorker = Worker<any, any, any>;
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
 *
 * A plain take-next call (`moveToActive`) can lose its reply the same way, without any error: ioredis
 * sends it again and the worker runs what the second run took, while the first run's job stays
 * locked with one of the worker's tokens. So after every reconnect of the worker's connection a sweep
 * looks twice, a pause apart, for active jobs locked with one of this worker's tokens (`<worker
 * id>:<n>`) that no handler of this worker took: a job the worker is about to start is taken by its
 * handler within the pause; one still untaken at the second look is an orphan and is put back.
 */
export class LostReplyReclaim {
  /** Token of each job a handler took, until BullMQ confirms its completion or failure. */
  private readonly tokens = new Map<string, string>();
  /** Jobs whose handler is running (never evicted: a long job must not look untaken to a sweep). */
  private readonly running = new Set<string>();
  /** A reconnect sweep is under way; another reconnect meanwhile asks for one more after it. */
  private sweeping = false;
  private sweepAgain = false;

  constructor(
    private readonly worker: AnyWorker,
    /** The worker's own connection (commands, not its blocking one). */
    private readonly redis: Redis,
    private readonly logger: Logger,
    /** Entries kept at most (jobs moved back to wait or delayed by a handler confirm nothing). */
    private readonly maxTracked = 10_000,
    /** Between the two looks of a sweep: longer than a fetched job waits for its handler. */
    private readonly sweepPause: () => Promise<void> = () => new Promise((r) => setTimeout(r, SWEEP_PAUSE_MS)),
  ) {
    worker.on('completed', (job) => this.tokens.delete(job.id ?? ''));
    worker.on('failed', (job) => job && this.tokens.delete(job.id ?? ''));
    onReconnect(redis, this);
    worker.on('closed', () => offReconnect(redis, this));
  }

  /** The connection is back after a drop: one sweep at a time, and one more if it dropped again meanwhile. */
  reconnected(): void {
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    void this.sweepOrphans()
      .catch((e: Error) => this.logger.warn({ queue: this.worker.name, err: e.message }, 'could not look for jobs orphaned by a lost reply'))
      .finally(() => {
        this.sweeping = false;
        if (this.sweepAgain) {
          this.sweepAgain = false;
          this.reconnected();
        }
      });
  }

  /**
   * Puts back every active job locked with one of this worker's tokens that no handler of this
   * worker took, at both looks of the sweep. Returns the jobs put back.
   */
  async sweepOrphans(): Promise<string[]> {
    const first = await this.untaken();
    if (first.size === 0) return [];
    await this.sweepPause();
    if (this.worker.closing) return [];
    const second = await this.untaken();
    const moved = await this.putBack([...second].filter(([id, token]) => first.get(id) === token));
    if (moved.length) this.logger.warn({ queue: this.worker.name, jobs: moved }, 'put back jobs orphaned by a lost reply after a reconnect');
    return moved;
  }

  /** Active jobs locked with one of this worker's tokens that no handler of this worker took: id → token. */
  private async untaken(): Promise<Map<string, string>> {
    const mine = `${this.worker.id}:`;
    const found = new Map<string, string>();
    for (const [id, lock] of await this.activeLocks()) {
      if (lock?.startsWith(mine) && !this.running.has(id) && this.tokens.get(id) !== lock) found.set(id, lock);
    }
    return found;
  }

  /** Every active job of the queue with the token locking it (null: no lock). */
  private async activeLocks(): Promise<[string, string | null][]> {
    const active = await this.redis.lrange(this.worker.keys.active, 0, -1);
    if (active.length === 0) return [];
    const locks = await this.redis.mget(active.map((id) => `${this.worker.toKey(id)}:lock`));
    return active.map((id, i) => [id, locks[i]]);
  }

  /** Moves each job back to wait with the token it is locked with; returns those moved. */
  private async putBack(jobs: [string, string][]): Promise<string[]> {
    const moved: string[] = [];
    for (const [id, token] of jobs) {
      const job = await Job.fromId(this.worker, id);
      // The script checks the token again: a job taken meanwhile by someone else is left alone.
      if (job && (await job.moveToWait(token).then(() => true, () => false))) moved.push(id);
    }
    // BullMQ's script puts a job with a priority (saves, media downloads) back into the prioritized
    // set without the marker that wakes a worker blocked for jobs: it would sleep out its block
    // (drainDelay, 5 s) first. The marker BullMQ adds for any other job that becomes available.
    if (moved.length > 0) await this.redis.zadd(this.worker.keys.marker, 0, '0');
    return moved;
  }

  /** A handler took `jobId` with `token`. */
  track(jobId: string | undefined, token: string | undefined): void {
    if (!jobId || !token) return;
    this.running.add(jobId);
    this.tokens.delete(jobId);
    this.tokens.set(jobId, token);
    if (this.tokens.size > this.maxTracked) this.tokens.delete(this.tokens.keys().next().value as string);
  }

  /** The handler of `jobId` returned or threw (its token stays noted until BullMQ confirms the outcome). */
  handlerDone(jobId: string | undefined): void {
    if (jobId) this.running.delete(jobId);
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
    const orphans = (await this.activeLocks()).filter((entry): entry is [string, string] => entry[0] !== finishedId && entry[1] === token);
    const moved = await this.putBack(orphans);
    if (moved.length) this.logger.warn({ queue: this.worker.name, jobs: moved, after: finishedId }, 'put back jobs orphaned by a lost reply');
    return moved;
  }
}

/** Between the two looks of a reconnect sweep. */
const SWEEP_PAUSE_MS = 2_000;

/**
 * One `ready` listener per connection, whatever the number of workers on it (the runner has one
 * per session): the first `ready` is the connect, every later one a reconnect.
 */
const reclaims = new WeakMap<Redis, Set<LostReplyReclaim>>();

function onReconnect(redis: Redis, reclaim: LostReplyReclaim): void {
  let set = reclaims.get(redis);
  if (!set) {
    const members = (set = new Set());
    reclaims.set(redis, members);
    let connected = redis.status === 'ready';
    redis.on('ready', () => {
      if (connected) for (const r of members) r.reconnected();
      connected = true;
    });
  }
  set.add(reclaim);
}

function offReconnect(redis: Redis, reclaim: LostReplyReclaim): void {
  reclaims.get(redis)?.delete(reclaim);
}

/** The job id of BullMQ's "Missing lock for job <id>. moveToFinished" error; null for any other. */
export function lostReplyJobId(err: Error): string | null {
  return /^Missing lock for job (\S+)\. moveToFinished$/.exec(err?.message ?? '')?.[1] ?? null;
}
