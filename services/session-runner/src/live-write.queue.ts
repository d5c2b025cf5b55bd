import { untilStoreFree } from '@wa-sync/shared/store';
import type { Logger } from '@wa-sync/shared/runtime';

/** Live writes held while the store is locked, per session; past this, new ones are dropped (and logged). */
export const MAX_QUEUED_LIVE_WRITES = 10_000;

/** One live update: its store write (true when it changed something) and what announces the change. */
export interface LiveWrite {
  store: () => Promise<boolean>;
  announce: () => Promise<unknown>;
}

/**
 * A session's live writes (new messages, acks, edits, deletes), one at a time in arrival order.
 * A write that finds the store locked by another process (StoreBusyError) waits and is tried
 * again, and the later writes wait behind it: an edit never reaches the store before its message,
 * and nothing received during a long lock is dropped. Any other error is logged and the next write
 * goes on.
 *
 * Announcements follow on a chain of their own, in the same order: a Redis outage holds them back
 * (ioredis queues the commands) but not the store writes behind them.
 */
export class LiveWriteQueue {
  private writing: Promise<void> = Promise.resolve();
  private announcing: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly logger: Logger,
    private readonly maxQueued = MAX_QUEUED_LIVE_WRITES,
    /** Between tries on a locked store (tests pass their clock; default: untilStoreFree's timer). */
    private readonly sleep?: (ms: number) => Promise<void>,
  ) {}

  /** Store writes still to run, including one waiting for the store. */
  get pending(): number {
    return this.queued;
  }

  push(what: string, write: LiveWrite): void {
    if (this.queued >= this.maxQueued) {
      this.logger.error({ what, queued: this.queued }, 'live write dropped: the store has been locked too long');
      return;
    }
    this.queued += 1;
    this.writing = this.writing
      .then(() => this.store(what, write))
      .then((changed) => {
        if (changed) this.announcing = this.announcing.then(() => write.announce().then(() => undefined, (err) => this.logger.error({ err }, `live ${what} not announced`)));
      })
      .finally(() => {
        this.queued -= 1;
      });
  }

  /** Resolves once every write pushed so far has run (or was given up) and been announced. */
  async drained(): Promise<void> {
    await this.writing;
    await this.announcing;
  }

  private async store(what: string, write: LiveWrite): Promise<boolean> {
    try {
      return await untilStoreFree(
        write.store,
        () => this.logger.warn({ what, queued: this.queued }, 'store locked: live writes wait for it'),
        this.sleep,
      );
    } catch (err) {
      this.logger.error({ err }, `live ${what} not stored`);
      return false;
    }
  }
}
