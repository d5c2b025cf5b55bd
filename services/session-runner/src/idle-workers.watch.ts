// The runner's one timer for idle sessions (never one per session): each tick closes the workers
// that found nothing to do for a grace period, and reopens, in one round trip per 500 sessions,
// those whose queue has work (added by the API, a sync worker, a retry or this runner, or left
// behind by a failover that lost the newest writes).
import type { Logger, Redis } from '@wa-sync/shared/runtime';
import { queuesWithWork } from './session-queue.idle';
import type { SessionWorkerSlot } from './session-worker.slot';

export interface IdleWorkerOptions {
  /** A worker that found its queue empty this long is closed; default 2 s. */
  graceMs?: number;
  /** How often idle sessions' queues are looked at (the most a job waits for its worker); default 500 ms. */
  everyMs?: number;
}

export class IdleWorkerWatch {
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private readonly graceMs: number;
  private readonly everyMs: number;

  constructor(
    private readonly slots: () => Iterable<[string, SessionWorkerSlot]>,
    private readonly redis: Redis,
    private readonly logger: Logger,
    opts: IdleWorkerOptions = {},
  ) {
    this.graceMs = opts.graceMs ?? 2_000;
    this.everyMs = opts.everyMs ?? 500;
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
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not look at idle sessions\' queues');
    } finally {
      this.ticking = false;
    }
  }
}
