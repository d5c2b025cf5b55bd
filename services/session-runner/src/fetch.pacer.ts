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
 * Spaces the starts of a session's fetches by at least `pauseMs`, whatever the worker's
 * concurrency: a real account sees a steady trickle of history loads, not a burst. The cap on
 * fetches at once is the session worker's `concurrency`.
 */
export class FetchPacer {
  /** Callers take turns; each turn waits for the previous actual start plus the pause. */
  private turns: Promise<void> = Promise.resolve();
  private lastStart = -Infinity;

  constructor(
    private readonly pauseMs: number,
    private readonly clock: PacerClock = systemClock,
  ) {
    if (!(pauseMs >= 0)) throw new RangeError('pauseMs must be >= 0');
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.pauseMs > 0) {
      const turn = this.turns.then(async () => {
        // A loop, not one sleep: timers may fire a little early.
        for (let wait = this.until(); wait > 0; wait = this.until()) await this.clock.sleep(wait);
        this.lastStart = this.clock.now();
      });
      this.turns = turn;
      await turn;
    }
    return fn();
  }

  private until(): number {
    return this.lastStart + this.pauseMs - this.clock.now();
  }
}
