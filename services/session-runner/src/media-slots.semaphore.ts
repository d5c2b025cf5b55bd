/**
 * Media downloads at once in this runner, across all its sessions (MEDIA_CONCURRENCY): each holds
 * a whole file in memory (whatsapp-web.js hands it over as base64), so this bounds the runner's
 * memory, whatever the number of sessions. Waiters are served in arrival order.
 */
export class MediaSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Most slots ever held at once (tests and figures). */
  peak = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`media slots must be an integer >= 1, got ${size}`);
  }

  get inUse(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: `active` stays as it is.
      if (next) next();
      else this.active -= 1;
    }
  }
}
