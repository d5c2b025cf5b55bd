import type { BusEnvelope } from '@wa-sync/shared/contracts';
import { ReplayGate } from './replay.gate';

const live = (id: string) => ({ id, sessionId: 's', event: 'qr', data: {} }) as unknown as BusEnvelope;

describe('ReplayGate', () => {
  it('holds live events during the replay and hands back only those the replay did not carry', () => {
    const gate = new ReplayGate();
    expect(['1-0', '2-0', '3-0'].map((id) => gate.admit(live(id)))).toEqual(['held', 'held', 'held']);
    expect(gate.release('2-0').map((e) => e.id)).toEqual(['3-0']);
  });

  it('after the replay, skips a late event the replay carried, then delivers everything newer', () => {
    const gate = new ReplayGate();
    gate.release('5-0');
    expect(gate.open).toBe(false);
    expect(gate.admit(live('4-0'))).toBe('skip');
    expect(gate.admit(live('6-0'))).toBe('deliver');
    expect(gate.open).toBe(true);
  });

  it('with a replay that carried nothing, hands back everything held and is open at once', () => {
    const gate = new ReplayGate();
    gate.admit(live('1-0'));
    expect(gate.release(null).map((e) => e.id)).toEqual(['1-0']);
    expect(gate.open).toBe(true);
  });

  it('reports an overflow when more than the limit piles up', () => {
    const gate = new ReplayGate();
    expect(gate.admit(live('1-0'), 1)).toBe('held');
    expect(gate.admit(live('2-0'), 1)).toBe('overflow');
  });
});
