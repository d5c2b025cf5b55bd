import type { MediaDescriptor } from '../domain.schemas';
import { message, uniqueSessionId, type GetStore } from './store-fixtures.contract';

const C = '4915112345678@c.us';
const D = '120363000000000001@g.us';

function pending(size = 1000): MediaDescriptor {
  return { mimetype: 'image/png', filename: null, size, sha256: null, durationSeconds: null, status: 'pending', error: null };
}

/** Media descriptors of the store contract: written with the message, then moved by the media pipeline. */
export function describeMediaContract(get: GetStore): void {
  describe('media descriptors', () => {
    it('keeps the descriptor a message came with, and no descriptor for a message without media', async () => {
      const s = uniqueSessionId('media');
      await get().upsertMessages(s, C, [message(C, 0, { hasMedia: true, type: 'image', media: pending() }), message(C, 1)]);
      expect((await get().getMessage(s, C, message(C, 0).id))?.media).toEqual(pending());
      const plain = await get().getMessage(s, C, message(C, 1).id);
      expect(plain?.media ?? null).toBeNull();
      await expect(get().getMessage(s, C, 'no-such-id')).resolves.toBeNull();
      const listed = (await get().listMessages(s, C, { limit: 10 })).items.find((m) => m.id === message(C, 0).id);
      expect(listed?.media).toEqual(pending());
    });

    it('moves a descriptor to its final status; a re-fetch of the message never resets it, and stored is final', async () => {
      const s = uniqueSessionId('media-final');
      const m = message(C, 0, { hasMedia: true, type: 'image', media: pending() });
      await get().upsertMessages(s, C, [m]);
      const stored: MediaDescriptor = { ...pending(1234), sha256: 'a'.repeat(64), status: 'stored' };
      await expect(get().setMedia(s, C, m.id, { ...pending(), status: 'failed', error: 'boom' })).resolves.toBe(true);
      await expect(get().setMedia(s, C, m.id, stored)).resolves.toBe(true);
      await get().upsertMessages(s, C, [m]);
      expect((await get().getMessage(s, C, m.id))?.media).toEqual(stored);
      await expect(get().setMedia(s, C, m.id, { ...pending(), status: 'failed', error: 'late duplicate' })).resolves.toBe(false);
      expect((await get().getMessage(s, C, m.id))?.media).toEqual(stored);
      await expect(get().setMedia(s, C, 'no-such-id', stored)).resolves.toBe(false);
    });

    it('gives a message stored without a descriptor the one a later fetch carries', async () => {
      const s = uniqueSessionId('media-late');
      await get().upsertMessages(s, C, [message(C, 0, { hasMedia: true, type: 'image' })]);
      await get().upsertMessages(s, C, [message(C, 0, { hasMedia: true, type: 'image', media: pending(77) })]);
      expect((await get().getMessage(s, C, message(C, 0).id))?.media).toEqual(pending(77));
    });

    it('counts media by status with the stored bytes, and lists the pending ones of the session only', async () => {
      const s = uniqueSessionId('media-counts');
      const other = uniqueSessionId('media-other');
      const batch = [0, 1, 2, 3, 4].map((n) => message(C, n, { hasMedia: true, type: 'image', media: pending(100 + n) }));
      await get().upsertMessages(s, C, batch);
      await get().upsertMessages(s, D, [message(D, 0, { hasMedia: true, type: 'image', media: pending() }), message(D, 1)]);
      await get().upsertMessages(other, C, [message(C, 0, { hasMedia: true, type: 'image', media: pending() })]);
      await get().setMedia(s, C, batch[0].id, { ...pending(500), sha256: 'b'.repeat(64), status: 'stored' });
      await get().setMedia(s, C, batch[1].id, { ...pending(700), sha256: 'c'.repeat(64), status: 'stored' });
      await get().setMedia(s, C, batch[2].id, { ...pending(), status: 'expired' });
      await get().setMedia(s, C, batch[3].id, { ...pending(), status: 'skipped', error: 'policy' });
      expect(await get().mediaCounts(s)).toEqual({ pending: 2, stored: 2, skipped: 1, expired: 0 + 1, failed: 0, bytes: 1200 });
      const refs = await get().pendingMedia(s, 10);
      expect(refs.map((r) => `${r.chatId}/${r.messageId}`).sort()).toEqual([`${C}/${batch[4].id}`, `${D}/${message(D, 0).id}`].sort());
      expect(await get().pendingMedia(s, 1)).toHaveLength(1);
      expect(await get().mediaCounts(uniqueSessionId('media-none'))).toEqual({ pending: 0, stored: 0, skipped: 0, expired: 0, failed: 0, bytes: 0 });
    });
  });
}
