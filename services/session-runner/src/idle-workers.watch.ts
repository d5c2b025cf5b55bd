// The runner's one timer for idle sessions (never one per session): each tick closes the workers
// that found nothing to do for a grace period, and reopens, in one round trip per 500 sessions,
// those whose queue has work (added by the API, a sync worker, a retry or this runner, or left
// behind by a failover that lost the newest writes). It also sweeps the finished jobs of queues
// idle past their retention, which BullMQ removes only when another job of the queue finishes.
import { JobRetention } from '@wa-sync/shared/contracts';
import type { Logger, Redis } from '@wa-sync/shared/runtime';
import { queuesWithWork } from './session-queue.idle';
import type { SessionWorkerSlot } from './session-worker.slot';

export interface IdleWorkerOptions {
  /** A worker that found its queue empty this long is closed; default 2 s. */
  graceMs?: number;
  /** How often idle sessions' queues are looked at (the most a job waits for its worker); default 500 ms. */
  everyMs?: number;
  /** Completed jobs are kept this long (JobRetention); an idle queue is swept this often. */
  completedKeepMs?: number;
  /** Failed jobs are kept this long (JobRetention). */
  failedKeepMs?: number;
}

/**
 * Removes the session queue's completed and failed jobs older than these; resolves to false when
 * it stopped at its batch size and more may be left.
 */
export type SweepFinishedJobs = (sessionId: string, keep: { completedMs: number; failedMs: number }) => Promise<boolean>;

/** Sweeps per tick: 2,000 sessions gone idle together are swept over a minute, not in one go. */
const SWEEPS_PER_TICK = 20;

export class IdleWorkerWatch {
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private readonly graceMs: number;
  private readonly everyMs: number;
  private readonly keep: { completedMs: number; failedMs: number };

  constructor(
    private readonly slots: () => Iterable<[string, SessionWorkerSlot]>,
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly sweep: SweepFinishedJobs,
    opts: IdleWorkerOptions = {},
  ) {
    this.graceMs = opts.graceMs ?? 2_000;
    this.everyMs = opts.everyMs ?? 500;
    this.keep = { completedMs: opts.completedKeepMs ?? JobRetention.completedS * 1000, failedMs: opts.failedKeepMs ?? JobRetention.failedS * 1000 };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      const idle = new Map<string, SessionWorkerSlot>();
      for (const [id, slot] of this.slots()) {
        if (slot.state === 'idle') idle.set(id, slot);
        else if (slot.drainedFor(now, this.graceMs)) void slot.closeIdle().catch(() => undefined);
      }
      if (idle.size === 0) return;
      for (const id of await queuesWithWork(this.redis, [...idle.keys()])) {
        void idle.get(id)?.wake().catch(() => undefined);
      }
      await this.sweepIdle(idle, now);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not look at idle sessions\' queues');
    } finally {
      this.ticking = false;
    }
  }

  /**
   * An idle queue's finished jobs stay until another of its jobs finishes (BullMQ applies
   * removeOnComplete then): a session idle for days kept its first sync's fetch records, up to
   * 1,000 of them. Once idle for the completed jobs' retention, and as often again while it stays
   * idle, its queue is swept with the same ages. A sweep that removed a full batch is due again.
   */
  private async sweepIdle(idle: Map<string, SessionWorkerSlot>, now: number): Promise<void> {
    let budget = SWEEPS_PER_TICK;
    for (const [id, slot] of idle) {
      if (budget === 0) return;
      if (!slot.sweepDue(now, this.keep.completedMs)) continue;
      budget--;
      if (await this.sweep(id, this.keep)) slot.swept(now);
    }
  }
}
