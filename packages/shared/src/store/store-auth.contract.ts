import { uniqueSessionId, type GetStore } from './store-fixtures.contract';

/** Linked-session credentials (WA_AUTH_STORE=store) of the store contract. */
export function describeAuthStateContract(get: GetStore): void {
  describe('linked-session auth state', () => {
    it('keeps one blob per session, byte for byte, replaced whole by a save and gone after a delete', async () => {
      const s = uniqueSessionId('auth');
      expect(await get().getAuthState(s)).toBeNull();
      const first = Buffer.from([0, 1, 2, 255, 0x50, 0x4b, 3, 4]);
      await get().putAuthState(s, first);
      expect((await get().getAuthState(s))?.equals(first)).toBe(true);
      const bigger = Buffer.alloc(256 * 1024, 7);
      await get().putAuthState(s, bigger);
      expect((await get().getAuthState(s))?.equals(bigger)).toBe(true);
      expect(await get().getAuthState(uniqueSessionId('auth-other'))).toBeNull();
      await get().deleteAuthState(s);
      expect(await get().getAuthState(s)).toBeNull();
      await expect(get().deleteAuthState(s)).resolves.toBeUndefined();
    });

    it('racing saves of one session leave one of them whole', async () => {
      const s = uniqueSessionId('auth-race');
      const blobs = [1, 2, 3, 4].map((n) => Buffer.alloc(10_000 + n, n));
      await Promise.all(blobs.map((b) => get().putAuthState(s, b)));
      const kept = await get().getAuthState(s);
      expect(blobs.some((b) => kept?.equals(b))).toBe(true);
    });
  });
}
