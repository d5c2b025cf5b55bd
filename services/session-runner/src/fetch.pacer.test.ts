import { FetchPacer, type PacerClock } from './fetch.pacer';
import { VirtualClock } from '../../../test/support/virtual-clock';

describe('FetchPacer', () => {
  it('spaces the starts of fetches arriving together by the pause', async () => {
    const clock = new VirtualClock();
    const pacer = new FetchPacer(40, clock);
    const starts: number[] = [];
    await Promise.all([1, 2, 3].map(() => pacer.run(async () => starts.push(clock.now()))));
    expect(starts).toEqual([0, 40, 80]);
  });

  it('waits only for what is left of the pause', async () => {
    const clock = new VirtualClock();
    const pacer = new FetchPacer(40, clock);
    await pacer.run(async () => undefined);
    await clock.sleep(25);
    await pacer.run(async () => undefined);
    expect(clock.sleeps).toEqual([25, 15]);
  });

  it('sleeps again when a timer fires early', async () => {
    let t = 0;
    const early: PacerClock = { now: () => t, sleep: async (ms) => { t += Math.max(1, ms - 3); } };
    const pacer = new FetchPacer(10, early);
    const starts: number[] = [];
    for (let i = 0; i < 3; i++) await pacer.run(async () => starts.push(t));
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(10);
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(10);
  });

  it('with no pause, runs at once and passes results and errors through', async () => {
    const pacer = new FetchPacer(0);
    await expect(pacer.run(async () => 7)).resolves.toBe(7);
    await expect(pacer.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
  });
});

describe('FetchPacer slots', () => {
  it('runs at most `limit` calls at once, and hands a freed slot to the next caller in line', async () => {
    const pacer = new FetchPacer(0, undefined, 2);
    const gates: Array<() => void> = [];
    const started: number[] = [];
    let peak = 0;
    const calls = [0, 1, 2, 3].map((i) =>
      pacer.run(async () => {
        started.push(i);
        peak = Math.max(peak, pacer.inFlight);
        await new Promise<void>((resolve) => gates.push(resolve));
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    while (gates.length) gates.shift()!(), await new Promise((r) => setImmediate(r));
    await expect(Promise.all(calls)).resolves.toEqual([0, 1, 2, 3]);
    expect(peak).toBe(2);
    expect(pacer.inFlight).toBe(0);
  });

  it('frees the slot of a call that throws', async () => {
    const pacer = new FetchPacer(0, undefined, 1);
    await expect(pacer.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(pacer.run(async () => 'next')).resolves.toBe('next');
    expect(pacer.inFlight).toBe(0);
  });
});
