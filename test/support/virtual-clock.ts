import type { PacerClock } from '../../services/session-runner/src/fetch.pacer';

/** Time that moves only when someone sleeps: spacing is asserted exactly, never against the wall clock. */
export class VirtualClock implements PacerClock {
  private t = 0;
  readonly sleeps: number[] = [];

  now = (): number => this.t;

  sleep = (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
    return new Promise((resolve) => setImmediate(resolve));
  };
}
