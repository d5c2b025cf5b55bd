/** Time as the pacer sees it; tests pass a virtual one so spacing is checked without wall-clock time. */
export interface PacerClock {
  /** Monotonic milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * The phone line of one session: at most `limit` calls at once, and their starts spaced by at least
 * `pauseMs`, whatever the worker's concurrency: a real account sees a steady trickle of history
 * loads, not a burst.
 *
 * The cap lives here, not in the BullMQ worker's `concurrency`, so the worker can hold the next jobs
 * active while the calls run: a freed slot goes to a job already in this process at once, instead of
 * after the round trips that complete one job and fetch the next.
 */
export class FetchPacer {
  /** Callers take turns; each turn waits for the previous actual start plus the pause. */
  private turns: Promise<void> = Promise.resolve();
  private lastStart = -Infinity;
  private running = 0;
  private readonly queued: Array<() => void> = [];

  constructor(
    private readonly pauseMs: number,
    private readonly clock: PacerClock = systemClock,
    private readonly limit = Infinity,
  ) {
    if (!(pauseMs >= 0)) throw new RangeError('pauseMs must be >= 0');
    if (!(limit >= 1)) throw new RangeError('limit must be >= 1');
  }

  /** Calls in progress now (a test's view of the cap). */
  get inFlight(): number {
    return this.running;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      if (this.pauseMs > 0) {
        const turn = this.turns.then(async () => {
          // A loop, not one sleep: timers may fire a little early.
          for (let wait = this.until(); wait > 0; wait = this.until()) await this.clock.sleep(wait);
          this.lastStart = this.clock.now();
        });
        this.turns = turn;
        await turn;
      }
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.limit) {
      this.running += 1;
      return Promise.resolve();
    }
    // The slot passes straight from release() to the next in line: running stays at the limit.
    return new Promise((resolve) => this.queued.push(resolve));
  }

  private release(): void {
    const next = this.queued.shift();
    if (next) next();
    else this.running -= 1;
  }

  private until(): number {
    return this.lastStart + this.pauseMs - this.clock.now();
  }
}
