import { StoreBusyError } from '@wa-sync/shared/store';
import type { Logger } from '@wa-sync/shared/runtime';

/** Live writes held while the store is locked, per client; past this, new ones are dropped (and logged). */
export const MAX_QUEUED_LIVE_WRITES = 10_000;

/**
 * One client's live writes (new messages, acks, edits, deletes), one at a time in arrival order.
 * A write that finds the store locked by another process (StoreBusyError) waits and is tried
 * again, and the later writes wait behind it: an edit never reaches the store before its message,
 * and nothing received during a long lock is dropped. Any other error is logged and the next write
 * goes on (the old behaviour).
 */
export class LiveWriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly logger: Logger,
    private readonly maxQueued = MAX_QUEUED_LIVE_WRITES,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Writes still to run, including one waiting for the store. */
  get pending(): number {
    return this.queued;
  }

  push(what: string, write: () => Promise<unknown>): void {
    if (this.queued >= this.maxQueued) {
      this.logger.error({ what, queued: this.queued }, 'live write dropped: the store has been locked too long');
      return;
    }
    this.queued += 1;
    this.tail = this.tail.then(() => this.run(what, write)).finally(() => {
      this.queued -= 1;
    });
  }

  /** Resolves once every write pushed so far has run (or was given up). */
  drained(): Promise<void> {
    return this.tail;
  }

  private async run(what: string, write: () => Promise<unknown>): Promise<void> {
    for (let waits = 0; ; waits++) {
      try {
        await write();
        if (waits > 0) this.logger.info({ what, waits }, 'live write stored after the store was released');
        return;
      } catch (err) {
        if (!(err instanceof StoreBusyError)) {
          this.logger.error({ err }, `live ${what} not stored`);
          return;
        }
        if (waits === 0) this.logger.warn({ what, queued: this.queued }, 'store locked: live writes wait for it');
        await this.sleep(err.retryAfterS * 1000);
      }
    }
  }
}
