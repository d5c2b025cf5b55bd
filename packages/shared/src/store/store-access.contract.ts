import { uniqueSessionId, type GetStore } from './store-fixtures.contract';

/** Token secrets and revocation epochs of the store contract. */
export function describeAccessContract(get: GetStore): void {
  describe('token secret and revocation epochs', () => {
    it('keeps the first secret stored under a name: later candidates, even racing ones, get that one back', async () => {
      const name = uniqueSessionId('secret');
      const racing = await Promise.all(['a', 'b', 'c', 'd'].map((c) => get().ensureSecret(name, `candidate-${c}`)));
      expect(new Set(racing).size).toBe(1);
      expect(racing[0]).toMatch(/^candidate-[abcd]$/);
      expect(await get().ensureSecret(name, 'later')).toBe(racing[0]);
      expect(await get().ensureSecret(uniqueSessionId('other-secret'), 'other')).toBe('other');
    });

    it('starts a session at epoch 0 and raises it by one per revocation, racing bumps each counted', async () => {
      const s = uniqueSessionId('epoch');
      expect(await get().getTokenEpoch(s)).toBe(0);
      expect(await get().bumpTokenEpoch(s)).toBe(1);
      expect(await get().getTokenEpoch(s)).toBe(1);
      const racing = await Promise.all([1, 2, 3].map(() => get().bumpTokenEpoch(s)));
      expect(racing.sort()).toEqual([2, 3, 4]);
      expect(await get().getTokenEpoch(s)).toBe(4);
      expect(await get().getTokenEpoch(uniqueSessionId('untouched'))).toBe(0);
    });
  });
}
