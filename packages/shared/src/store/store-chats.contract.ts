import type { ChatInput } from '../domain.schemas';
import { MINUTE, T0, allChatPages, chat, iso, message, uniqueSessionId, type GetStore } from './store-fixtures.contract';

/** Chat listing and recent history of the store contract. */
export function describeChatContract(get: GetStore): void {
  describe('chat listing', () => {
    it('lists newest activity first, chats without activity last, ties by id', async () => {
      const s = uniqueSessionId('corder');
      await get().upsertChats(s, [
        chat('b@c.us', T0),
        chat('none-b@c.us', null),
        chat('a@c.us', T0),
        chat('new@g.us', T0 + MINUTE),
        chat('none-a@c.us', null),
        chat('old@c.us', T0 - MINUTE),
      ]);
      const page = await get().listChats(s, { limit: 50 });
      expect(page.nextCursor).toBeNull();
      expect(page.items.map((c) => c.id)).toEqual(['new@g.us', 'a@c.us', 'b@c.us', 'old@c.us', 'none-a@c.us', 'none-b@c.us']);
      expect(page.items[0]).toEqual({
        id: 'new@g.us', name: 'name of new@g.us', isGroup: true, unreadCount: 0, lastMessageAt: iso(T0 + MINUTE), messageCount: 0,
      });
      // Activity from a message batch reorders the list.
      await get().upsertMessages(s, 'old@c.us', [message('old@c.us', 5)]);
      expect((await get().listChats(s, { limit: 1 })).items[0].id).toBe('old@c.us');
    });

    it('cursor paging visits every chat exactly once', async () => {
      const s = uniqueSessionId('cpage');
      const chats: ChatInput[] = [];
      for (let i = 0; i < 23; i += 1) {
        // Repeated times and a run of nulls, so page edges fall inside ties.
        chats.push(chat(`c${String(i).padStart(2, '0')}@c.us`, i % 5 === 4 ? null : T0 + Math.floor(i / 3) * MINUTE));
      }
      await get().upsertChats(s, chats);
      const full = (await get().listChats(s, { limit: 500 })).items.map((c) => c.id);
      for (const limit of [1, 4, 5, 23]) {
        const pages = await allChatPages(get(), s, limit);
        const ids = pages.flat().map((c) => c.id);
        expect(ids).toEqual(full);
        expect(pages.at(-1)!.length).toBeGreaterThan(0);
      }
      expect(new Set(full)).toEqual(new Set(chats.map((c) => c.id)));
      expect(await get().listChats(uniqueSessionId('nochats'), { limit: 5 })).toEqual({ items: [], nextCursor: null });
    });

    it('getChat returns null for an unknown chat and sessions do not see each other', async () => {
      const a = uniqueSessionId('iso-a');
      const b = uniqueSessionId('iso-b');
      await get().upsertChats(a, [chat('x@c.us', T0)]);
      await get().upsertMessages(a, 'x@c.us', [message('x@c.us', 1)]);
      expect(await get().getChat(a, 'y@c.us')).toBeNull();
      expect(await get().getChat(b, 'x@c.us')).toBeNull();
      expect((await get().listMessages(b, 'x@c.us', { limit: 5 })).items).toEqual([]);
      await get().upsertChats(a, []);
    });
  });

  describe('recent history', () => {
    it('groups recent messages by chat, newest chat first, within `days` and `limitPerChat`', async () => {
      const s = uniqueSessionId('history');
      const now = Date.now();
      const HOUR = 60 * MINUTE;
      const at = (chatId: string, n: number, ms: number) => message(chatId, n, { timestamp: iso(ms) });
      await get().upsertMessages(s, 'a@c.us', [at('a@c.us', 1, now - 3 * HOUR), at('a@c.us', 2, now - 2 * HOUR), at('a@c.us', 3, now - HOUR)]);
      await get().upsertMessages(s, 'b@g.us', [at('b@g.us', 1, now - 10 * 24 * HOUR), at('b@g.us', 2, now - 30 * MINUTE)]);
      await get().upsertMessages(s, 'old@c.us', [at('old@c.us', 1, now - 10 * 24 * HOUR)]);
      // Activity reported by the engine but no stored message: nothing to show.
      await get().upsertChats(s, [chat('empty@c.us', now)]);

      const history = await get().recentHistory(s, { days: 7, limitPerChat: 2 });
      expect(history.map((h) => h.chatId)).toEqual(['b@g.us', 'a@c.us']);
      expect(history[0]).toEqual({
        chatId: 'b@g.us',
        lastMessageAt: iso(now - 30 * MINUTE),
        messages: [expect.objectContaining({ id: message('b@g.us', 2).id, timestamp: iso(now - 30 * MINUTE) })],
      });
      expect(history[1].messages.map((m) => m.id)).toEqual([message('a@c.us', 3).id, message('a@c.us', 2).id]);

      const wider = await get().recentHistory(s, { days: 30, limitPerChat: 10 });
      expect(wider.map((h) => [h.chatId, h.messages.length])).toEqual([
        ['b@g.us', 2],
        ['a@c.us', 3],
        ['old@c.us', 1],
      ]);
      expect(await get().recentHistory(uniqueSessionId('nohistory'), { days: 7, limitPerChat: 5 })).toEqual([]);
    });
  });
}
