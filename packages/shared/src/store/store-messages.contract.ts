import { InvalidCursorError } from './store.interface';
import {
  MINUTE,
  T0,
  allMessagePages,
  chat,
  iso,
  message,
  messages,
  uniqueSessionId,
  type GetStore,
} from './store-fixtures.contract';

/** Message writes and reads of the store contract. */
export function describeMessageContract(get: GetStore): void {
  const C = '5511999990000@c.us';

  describe('message writes', () => {
    it('stores a batch once: inserted the first time, existing the second', async () => {
      const s = uniqueSessionId('idem');
      const batch = messages(C, 0, 40);
      expect(await get().upsertMessages(s, C, batch)).toEqual({ inserted: 40, existing: 0 });
      expect(await get().upsertMessages(s, C, batch)).toEqual({ inserted: 0, existing: 40 });
      const page = await get().listMessages(s, C, { limit: 500 });
      expect(page.items).toHaveLength(40);
      expect(new Set(page.items.map((m) => m.id)).size).toBe(40);
      expect((await get().getChat(s, C))?.messageCount).toBe(40);
    });

    it('stores every message exactly once under concurrent overlapping batches', async () => {
      const s = uniqueSessionId('race');
      const G = '120363000000000001@g.us';
      const batches = [messages(C, 0, 60), messages(C, 30, 90), messages(C, 0, 90), messages(C, 45, 75)];
      const results = await Promise.all([
        ...batches.map((b) => get().upsertMessages(s, C, b)),
        // A second chat created by racing writers (its chat row is upserted concurrently too).
        get().upsertMessages(s, G, messages(G, 0, 20)),
        get().upsertMessages(s, G, messages(G, 10, 30)),
      ]);
      results.slice(0, 4).forEach((r, i) => expect(r.inserted + r.existing).toBe(batches[i].length));
      expect(results.slice(0, 4).reduce((n, r) => n + r.inserted, 0)).toBe(90);
      expect(results[4].inserted + results[5].inserted).toBe(30);
      const stored = (await get().listMessages(s, C, { limit: 500 })).items;
      expect(new Set(stored.map((m) => m.id)).size).toBe(90);
      expect(stored).toHaveLength(90);
      expect((await get().getChat(s, C))?.messageCount).toBe(90);
      expect((await get().getChat(s, G))?.messageCount).toBe(30);
      expect((await get().listChats(s, { limit: 10 })).items).toHaveLength(2);
    });

    it('stores a message repeated inside one batch once', async () => {
      const s = uniqueSessionId('dup');
      const m = message(C, 1);
      expect(await get().upsertMessages(s, C, [m, { ...m, ack: 3 }])).toEqual({ inserted: 1, existing: 1 });
      const stored = (await get().listMessages(s, C, { limit: 10 })).items;
      expect(stored).toHaveLength(1);
      expect(stored[0].ack).toBe(3);
    });

    it('only ever raises ack', async () => {
      const s = uniqueSessionId('ack');
      const m = message(C, 1, { ack: 2 });
      await get().upsertMessages(s, C, [m]);
      const ackOf = async () => (await get().listMessages(s, C, { limit: 1 })).items[0].ack;
      await get().upsertMessages(s, C, [{ ...m, ack: 1 }]);
      expect(await ackOf()).toBe(2);
      await get().upsertMessages(s, C, [{ ...m, ack: 3 }]);
      expect(await ackOf()).toBe(3);
      expect(await get().updateMessageAck(s, C, m.id, 2)).toBe(false);
      expect(await get().updateMessageAck(s, C, m.id, 3)).toBe(false);
      expect(await ackOf()).toBe(3);
      expect(await get().updateMessageAck(s, C, m.id, 4)).toBe(true);
      expect(await ackOf()).toBe(4);
      expect(await get().updateMessageAck(s, C, 'false_unknown', 4)).toBe(false);
      expect(await get().updateMessageAck(s, 'other@c.us', m.id, 5)).toBe(false);
    });

    it('writes immutable fields once', async () => {
      const s = uniqueSessionId('immut');
      const first = message(C, 1, { author: 'a@c.us', body: 'original', hasMedia: false });
      await get().upsertMessages(s, C, [first]);
      const changed = {
        ...first,
        fromMe: !first.fromMe,
        author: 'b@c.us',
        body: 'edited',
        type: 'image',
        timestamp: iso(T0 + 999 * MINUTE),
        hasMedia: true,
      };
      expect(await get().upsertMessages(s, C, [changed])).toEqual({ inserted: 0, existing: 1 });
      expect((await get().listMessages(s, C, { limit: 10 })).items).toEqual([first]);
    });

    it('rejects a whole batch holding a message of another chat or a bad timestamp', async () => {
      const s = uniqueSessionId('reject');
      const good = messages(C, 0, 3);
      await expect(get().upsertMessages(s, C, [...good, message('x@c.us', 9)])).rejects.toThrow(/belongs to chat/);
      await expect(get().upsertMessages(s, C, [...good, message(C, 9, { timestamp: 'yesterday' })])).rejects.toThrow(
        /timestamp/,
      );
      expect((await get().listMessages(s, C, { limit: 10 })).items).toEqual([]);
      expect(await get().getChat(s, C)).toBeNull();
    });

    it('treats an empty batch as a no-op', async () => {
      const s = uniqueSessionId('empty');
      expect(await get().upsertMessages(s, C, [])).toEqual({ inserted: 0, existing: 0 });
      expect(await get().getChat(s, C)).toBeNull();
    });
  });

  describe('live edits and deletes', () => {
    it('an edit replaces the text once, only by a newer edit, and a re-fetched older copy never undoes it', async () => {
      const s = uniqueSessionId('edit');
      const m = message(C, 1, { body: 'first words' });
      await get().upsertMessages(s, C, [m]);
      expect(await get().editMessage(s, C, m.id, 'second words', iso(T0 + 10 * MINUTE))).toBe(true);
      const stored = async () => (await get().listMessages(s, C, { limit: 1 })).items[0];
      expect(await stored()).toEqual({ ...m, body: 'second words', editedAt: iso(T0 + 10 * MINUTE) });
      // An older or repeated edit (events out of order, a retry) changes nothing.
      expect(await get().editMessage(s, C, m.id, 'stale', iso(T0 + 5 * MINUTE))).toBe(false);
      expect(await get().editMessage(s, C, m.id, 'second words', iso(T0 + 10 * MINUTE))).toBe(false);
      // A bulk sync that fetched the message before the edit keeps the edit.
      expect(await get().upsertMessages(s, C, [{ ...m, ack: 3 }])).toEqual({ inserted: 0, existing: 1 });
      expect(await stored()).toMatchObject({ body: 'second words', editedAt: iso(T0 + 10 * MINUTE), ack: 3 });
      // A fetch that carries a newer edit applies it.
      await get().upsertMessages(s, C, [{ ...m, body: 'third', editedAt: iso(T0 + 20 * MINUTE) }]);
      expect(await stored()).toMatchObject({ body: 'third', editedAt: iso(T0 + 20 * MINUTE) });
      expect(await get().editMessage(s, C, 'false_unknown', 'x', iso(T0))).toBe(false);
    });

    it('a delete for everyone keeps the id, empties the body and is final', async () => {
      const s = uniqueSessionId('revoke');
      const [a, b] = messages(C, 0, 2);
      await get().upsertMessages(s, C, [a, b]);
      expect(await get().revokeMessage(s, C, a.id)).toBe(true);
      expect(await get().revokeMessage(s, C, a.id)).toBe(false);
      expect(await get().revokeMessage(s, C, 'false_unknown')).toBe(false);
      const list = async () => (await get().listMessages(s, C, { limit: 10 })).items;
      expect(await list()).toEqual([b, { ...a, body: '', revoked: true }]);
      // Neither a re-fetched copy from before the delete nor a later edit brings the text back.
      await get().upsertMessages(s, C, [a, b]);
      expect(await get().editMessage(s, C, a.id, 'back?', iso(T0 + 60 * MINUTE))).toBe(false);
      expect((await list())[1]).toEqual({ ...a, body: '', revoked: true });
      expect((await get().getChat(s, C))?.messageCount).toBe(2);
      // A fetch that already sees it deleted stores it deleted, and deletes a stored one.
      const c = message(C, 5, { body: 'gone', revoked: true });
      await get().upsertMessages(s, C, [c, { ...b, revoked: true }]);
      expect((await list()).slice(0, 2)).toEqual([
        { ...c, body: '', revoked: true },
        { ...b, body: '', revoked: true },
      ]);
    });
  });

  describe('chat counters', () => {
    it('creates a missing chat: name = id, isGroup from @g.us, no unread', async () => {
      const s = uniqueSessionId('newchat');
      const G = '120363000000000002@g.us';
      await get().upsertMessages(s, C, messages(C, 0, 2));
      await get().upsertMessages(s, G, messages(G, 0, 3));
      expect(await get().getChat(s, C)).toEqual({
        id: C, name: C, isGroup: false, unreadCount: 0, lastMessageAt: iso(T0 + MINUTE), messageCount: 2,
      });
      expect(await get().getChat(s, G)).toMatchObject({ id: G, name: G, isGroup: true, messageCount: 3 });
    });

    it('keeps messageCount and lastMessageAt in step with stored messages', async () => {
      const s = uniqueSessionId('count');
      await get().upsertMessages(s, C, messages(C, 10, 20));
      expect(await get().getChat(s, C)).toMatchObject({ messageCount: 10, lastMessageAt: iso(T0 + 19 * MINUTE) });
      // An older batch (history paging backwards) adds to the count but does not move activity back.
      await get().upsertMessages(s, C, messages(C, 0, 15));
      expect(await get().getChat(s, C)).toMatchObject({ messageCount: 20, lastMessageAt: iso(T0 + 19 * MINUTE) });
    });

    it('upsertChats updates metadata but keeps messageCount and never moves lastMessageAt back', async () => {
      const s = uniqueSessionId('keep');
      await get().upsertMessages(s, C, messages(C, 0, 5));
      const last = iso(T0 + 4 * MINUTE);
      await get().upsertChats(s, [chat(C, T0 - MINUTE, { name: 'Alice', unreadCount: 3 })]);
      expect(await get().getChat(s, C)).toEqual({
        id: C, name: 'Alice', isGroup: false, unreadCount: 3, lastMessageAt: last, messageCount: 5,
      });
      await get().upsertChats(s, [chat(C, null, { name: 'Alice B', unreadCount: 0 })]);
      expect(await get().getChat(s, C)).toMatchObject({ name: 'Alice B', unreadCount: 0, lastMessageAt: last, messageCount: 5 });
      await get().upsertChats(s, [chat(C, T0 + 60 * MINUTE)]);
      expect(await get().getChat(s, C)).toMatchObject({ lastMessageAt: iso(T0 + 60 * MINUTE), messageCount: 5 });
      await get().upsertMessages(s, C, messages(C, 5, 7));
      expect(await get().getChat(s, C)).toMatchObject({ lastMessageAt: iso(T0 + 60 * MINUTE), messageCount: 7 });
    });
  });

  describe('message listing', () => {
    it('lists newest first, ties by id descending, at most `limit`', async () => {
      const s = uniqueSessionId('order');
      const same = iso(T0);
      const batch = [...messages(C, 1, 6), ...['a', 'c', 'b'].map((x) => message(C, 0, { id: `false_${x}`, timestamp: same }))];
      await get().upsertMessages(s, C, batch);
      const page = await get().listMessages(s, C, { limit: 7 });
      expect(page.items.map((m) => m.id)).toEqual([
        ...[5, 4, 3, 2, 1].map((n) => message(C, n).id),
        'false_c',
        'false_b',
      ]);
      expect(page.nextCursor).not.toBeNull();
      const rest = await get().listMessages(s, C, { limit: 7, before: page.nextCursor! });
      expect(rest).toEqual({ items: [expect.objectContaining({ id: 'false_a' })], nextCursor: null });
      expect(await get().listMessages(s, 'nobody@c.us', { limit: 5 })).toEqual({ items: [], nextCursor: null });
    });

    it('cursor paging visits every message exactly once, also while newer messages arrive', async () => {
      const s = uniqueSessionId('mpage');
      // 50 messages, some sharing a timestamp so the id tiebreak is exercised across page edges.
      const batch = messages(C, 0, 50).map((m, i) => ({ ...m, timestamp: iso(T0 + Math.floor(i / 3) * MINUTE) }));
      await get().upsertMessages(s, C, batch);
      const first = await get().listMessages(s, C, { limit: 7 });
      await get().upsertMessages(s, C, messages(C, 100, 110)); // newer than everything: must not shift pages
      const pages = [first.items, ...(await allMessagePages(get(), s, C, 7, first.nextCursor!))];
      const ids = pages.flat().map((m) => m.id);
      expect(ids).toHaveLength(50);
      expect(new Set(ids)).toEqual(new Set(batch.map((m) => m.id)));
      const full = (await get().listMessages(s, C, { limit: 500 })).items.slice(10).map((m) => m.id);
      expect(ids).toEqual(full);
      // A page that ends exactly at the last message says so.
      const exact = await allMessagePages(get(), s, C, 6);
      expect(exact.at(-1)!.length).toBe(6);
    });

    it('accepts an ISO-8601 time as `before`: strictly older messages only', async () => {
      const s = uniqueSessionId('before');
      await get().upsertMessages(s, C, messages(C, 0, 10));
      const olderThan5 = await get().listMessages(s, C, { limit: 50, before: iso(T0 + 5 * MINUTE) });
      expect(olderThan5.items.map((m) => m.id)).toEqual([4, 3, 2, 1, 0].map((n) => message(C, n).id));
      const withOffset = await get().listMessages(s, C, { limit: 2, before: '2024-03-01T14:05:00+02:00' });
      expect(withOffset.items.map((m) => m.id)).toEqual([4, 3].map((n) => message(C, n).id));
      const next = await get().listMessages(s, C, { limit: 50, before: withOffset.nextCursor! });
      expect(next.items).toHaveLength(3);
      expect((await get().listMessages(s, C, { limit: 50, before: '2024-03-01' })).items).toEqual([]);
      expect((await get().listMessages(s, C, { limit: 50, before: '2024-03-02' })).items).toHaveLength(10);
    });

    it('rejects cursors it did not produce with InvalidCursorError', async () => {
      const s = uniqueSessionId('badcur');
      await get().upsertMessages(s, C, messages(C, 0, 3));
      await get().upsertChats(s, [chat('a@c.us', T0), chat('b@c.us', T0)]);
      const chatCursor = (await get().listChats(s, { limit: 1 })).nextCursor!;
      const messageCursor = (await get().listMessages(s, C, { limit: 1 })).nextCursor!;
      const bad = ['garbage', '', 'eyJ4IjoxfQ', `${messageCursor}x`, '2024-13-45T99:99:99Z', chatCursor, '{"t":1}'];
      for (const before of bad) {
        await expect(get().listMessages(s, C, { limit: 5, before })).rejects.toBeInstanceOf(InvalidCursorError);
      }
      for (const cursor of ['garbage', messageCursor, `${chatCursor}A`]) {
        await expect(get().listChats(s, { limit: 5, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
      }
      await expect(get().listMessages(s, C, { limit: 0 })).rejects.toThrow(RangeError);
    });
  });
}
