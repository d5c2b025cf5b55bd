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
