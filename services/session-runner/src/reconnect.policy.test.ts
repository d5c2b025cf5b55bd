import { RECONNECT_DEFAULTS, onDisconnect, reconnectDelay } from './reconnect.policy';

describe('reconnect policy', () => {
  it('doubles from 1 s and caps at 60 s by default', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => reconnectDelay(RECONNECT_DEFAULTS, n));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('rebuilds after a dropped connection, not after a logout or a ban', () => {
    expect(onDisconnect('CONFLICT')).toBe('reconnect');
    expect(onDisconnect('UNPAIRED')).toBe('reconnect');
    expect(onDisconnect('NAVIGATION')).toBe('reconnect');
    expect(onDisconnect('LOGOUT')).toBe('logout');
    expect(onDisconnect('TOS_BLOCK')).toBe('give-up');
  });
});
