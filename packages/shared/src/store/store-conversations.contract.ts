import type { Contact, MediaDescriptor, Message } from '../domain.schemas';
import { InvalidCursorError } from './store.interface';
import { T0, chat, iso, message, uniqueSessionId, type GetStore } from './store-fixtures.contract';

const C = '4915112345678@c.us';
const G = '120363000000000002@g.us';
const ANA = '4917111111111@c.us';
const BEN = '4917222222222@c.us';

/** Every conversation field of DESIGN "Full conversations", on one message. */
function full(n: number): Message {
  const media: MediaDescriptor = { mimetype: 'audio/ogg; codecs=opus', filename: null, size: 4242, sha256: null, durationSeconds: 7, status: 'pending', error: null };
  return message(G, n, {
    author: ANA,
    type: 'ptt',
    hasMedia: true,
    senderName: 'Ana 🌻',
    quoted: { id: `false_${G}_Q1_${BEN}`, fromMe: false, author: BEN, type: 'chat', body: 'pizza? 🍕' },
    mentions: [BEN],
    isForwarded: true,
    reactions: [{ emoji: '👍', senderId: BEN, timestamp: iso(T0 + 5_000) }],
    location: { latitude: 52.52, longitude: 13.41, description: 'Alexanderplatz' },
    vcards: ['BEGIN:VCARD\nFN:Ben\nEND:VCARD'],
    poll: { name: 'When?', options: ['7', '8'] },
    media,
  });
}

function contact(id: string, over: Partial<Contact> = {}): Contact {
  return { id, name: null, pushname: null, number: id.split('@')[0], isBusiness: false, isMyContact: false, ...over };
}

/** Conversation fields, contacts, group members and reactions of the store contract. */
export function describeConversationContract(get: GetStore): void {
  describe('full conversations', () => {
    it('keeps every conversation field of a message, and none on a message without them', async () => {
      const s = uniqueSessionId('conv');
      const m = full(0);
      await get().upsertMessages(s, G, [m, message(G, 1)]);
      const listed = (await get().listMessages(s, G, { limit: 10 })).items;
      expect(listed.find((x) => x.id === m.id)).toEqual(m);
      expect(await get().getMessage(s, G, m.id)).toEqual(m);
      const plain = listed.find((x) => x.id === message(G, 1).id)!;
      expect(Object.keys(plain).sort()).toEqual(['ack', 'author', 'body', 'chatId', 'fromMe', 'hasMedia', 'id', 'timestamp', 'type']);
      // Own messages: senderName null, kept as null (not dropped).
      await get().upsertMessages(s, G, [message(G, 2, { fromMe: true, senderName: null })]);
      expect((await get().getMessage(s, G, message(G, 2).id))!.senderName).toBeNull();
    });

    it('fills the fields of a message stored without them (before they existed) on the next fetch, then keeps them', async () => {
      const s = uniqueSessionId('conv-fill');
      const m = full(0);
      const { media: _media, ...old } = { ...message(G, 0, { author: ANA, type: 'ptt', hasMedia: true }) };
      await get().upsertMessages(s, G, [old]);
      expect(await get().getMessage(s, G, m.id)).toEqual(old);
      expect(await get().upsertMessages(s, G, [m])).toEqual({ inserted: 0, existing: 1 });
      expect(await get().getMessage(s, G, m.id)).toEqual(m);
      // A later fetch without them (or with others) changes nothing.
      await get().upsertMessages(s, G, [old, { ...m, senderName: 'Someone else', reactions: [] }]);
      expect(await get().getMessage(s, G, m.id)).toEqual(m);
    });

    it('sets, replaces and removes one sender\'s reaction; unknown messages and no-ops answer null', async () => {
      const s = uniqueSessionId('react');
      const m = message(C, 0);
      await get().upsertMessages(s, C, [m]);
      const at = (k: number) => iso(T0 + k * 1000);
      expect(await get().setReaction(s, C, m.id, { senderId: ANA, emoji: '❤️', timestamp: at(1) })).toEqual([{ emoji: '❤️', senderId: ANA, timestamp: at(1) }]);
      expect(await get().setReaction(s, C, m.id, { senderId: BEN, emoji: '😂', timestamp: at(2) })).toHaveLength(2);
      expect(await get().setReaction(s, C, m.id, { senderId: ANA, emoji: '🔥', timestamp: at(3) })).toEqual([
        { emoji: '😂', senderId: BEN, timestamp: at(2) },
        { emoji: '🔥', senderId: ANA, timestamp: at(3) },
      ]);
      expect(await get().setReaction(s, C, m.id, { senderId: ANA, emoji: '🔥', timestamp: at(4) })).toBeNull();
      expect(await get().setReaction(s, C, m.id, { senderId: BEN, emoji: '', timestamp: at(5) })).toEqual([{ emoji: '🔥', senderId: ANA, timestamp: at(3) }]);
      expect(await get().setReaction(s, C, m.id, { senderId: BEN, emoji: '', timestamp: at(6) })).toBeNull();
      expect(await get().setReaction(s, C, 'no-such-id', { senderId: BEN, emoji: '👍', timestamp: at(7) })).toBeNull();
      expect((await get().listMessages(s, C, { limit: 5 })).items[0].reactions).toEqual([{ emoji: '🔥', senderId: ANA, timestamp: at(3) }]);
      await get().setReaction(s, C, m.id, { senderId: ANA, emoji: '', timestamp: at(8) });
      expect((await get().getMessage(s, C, m.id))!.reactions).toEqual([]);
    });

    it('a catch-up\'s reading replaces reactions that differ, and answers only the messages that changed', async () => {
      const s = uniqueSessionId('react-seen');
      const [a, b, c, d] = [0, 1, 2, 3].map((n) => message(C, n));
      await get().upsertMessages(s, C, [a, b, c, d]);
      const at = (k: number) => iso(T0 + k * 1000);
      await get().setReaction(s, C, a.id, { senderId: ANA, emoji: '❤️', timestamp: at(1) });
      await get().setReaction(s, C, b.id, { senderId: ANA, emoji: '👍', timestamp: at(2) });
      await get().setReaction(s, C, b.id, { senderId: BEN, emoji: '😂', timestamp: at(3) });
      const seen = [
        // Removed while nobody listened.
        { id: a.id, reactions: [] },
        // The same two, listed in another order and read with other times: no change.
        { id: b.id, reactions: [{ emoji: '😂', senderId: BEN, timestamp: at(9) }, { emoji: '👍', senderId: ANA, timestamp: at(9) }] },
        // Sent while nobody listened, on a message stored without any.
        { id: c.id, reactions: [{ emoji: '🔥', senderId: BEN, timestamp: at(4) }] },
        // None stored, none seen.
        { id: d.id, reactions: [] },
        // Not stored: left to its save.
        { id: 'not-stored', reactions: [{ emoji: '🔥', senderId: BEN, timestamp: at(4) }] },
      ];
      expect(await get().replaceReactions(s, C, seen)).toEqual([
        { id: a.id, reactions: [] },
        { id: c.id, reactions: [{ emoji: '🔥', senderId: BEN, timestamp: at(4) }] },
      ]);
      const stored = new Map((await get().listMessages(s, C, { limit: 10 })).items.map((m) => [m.id, m]));
      expect(stored.get(a.id)!.reactions).toEqual([]);
      expect(stored.get(b.id)!.reactions).toEqual([{ emoji: '👍', senderId: ANA, timestamp: at(2) }, { emoji: '😂', senderId: BEN, timestamp: at(3) }]);
      expect(stored.get(c.id)!.reactions).toEqual([{ emoji: '🔥', senderId: BEN, timestamp: at(4) }]);
      expect(stored.get(d.id)).not.toHaveProperty('reactions');
      expect(stored.size).toBe(4);
      // Read again: nothing left to change.
      expect(await get().replaceReactions(s, C, seen)).toEqual([]);
      expect(await get().replaceReactions(s, C, [])).toEqual([]);
      // Another session's message of the same id is not touched.
      const other = uniqueSessionId('react-seen-other');
      await get().upsertMessages(other, C, [a]);
      expect(await get().replaceReactions(other, C, [{ id: a.id, reactions: [] }])).toEqual([]);
    });

    it('a re-fetch (re-sync, catch-up) never drops a live reaction nor resets a stored file to pending', async () => {
      const s = uniqueSessionId('react-resync');
      const m = full(0);
      await get().upsertMessages(s, G, [m]);
      const stored: MediaDescriptor = { ...m.media!, sha256: 'b'.repeat(64), status: 'stored' };
      await get().setMedia(s, G, m.id, stored);
      await get().setReaction(s, G, m.id, { senderId: ANA, emoji: '🎉', timestamp: iso(T0 + 9_000) });
      const expected = [...m.reactions!, { emoji: '🎉', senderId: ANA, timestamp: iso(T0 + 9_000) }];
      await get().upsertMessages(s, G, [m]);
      await get().upsertMessages(s, G, [{ ...m, reactions: undefined }]);
      const after = await get().getMessage(s, G, m.id);
      expect(after!.reactions).toEqual(expected);
      expect(after!.media).toEqual(stored);
      expect(after!.quoted).toEqual(m.quoted);
    });

    it('keeps group members with the chat: getChat answers them, lists leave them out, a list without them keeps them', async () => {
      const s = uniqueSessionId('members');
      const participants = [{ id: ANA, isAdmin: true }, { id: BEN, isAdmin: false }];
      await get().upsertChats(s, [chat(G, T0, { isGroup: true, participants }), chat(C, T0 - 1000)]);
      expect(await get().getChat(s, G)).toMatchObject({ id: G, isGroup: true, participants });
      expect(await get().getChat(s, C)).not.toHaveProperty('participants');
      for (const c of (await get().listChats(s, { limit: 10 })).items) expect(c).not.toHaveProperty('participants');
      await get().upsertChats(s, [chat(G, T0 + 1000, { isGroup: true })]);
      expect((await get().getChat(s, G))!.participants).toEqual(participants);
      await get().upsertChats(s, [chat(G, T0 + 2000, { isGroup: true, participants: participants.slice(0, 1) })]);
      expect((await get().getChat(s, G))!.participants).toEqual(participants.slice(0, 1));
    });

    it('upserts contacts and pages them by id, per session', async () => {
      const s = uniqueSessionId('contacts');
      const other = uniqueSessionId('contacts-other');
      const list = Array.from({ length: 7 }, (_, i) => contact(`49170000000${i}@c.us`, i % 2 ? { name: `Name ${i}`, isMyContact: true } : { pushname: i ? `Push ${i}` : null }));
      await get().upsertContacts(s, [...list].reverse());
      await get().upsertContacts(other, [contact('1@c.us')]);
      await get().upsertContacts(s, [{ ...list[0], name: 'Renamed', isMyContact: true, isBusiness: true }]);
      const pages: Contact[][] = [];
      let cursor: string | undefined;
      do {
        const page = await get().listContacts(s, { limit: 3, cursor });
        pages.push(page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual([{ ...list[0], name: 'Renamed', isMyContact: true, isBusiness: true }, ...list.slice(1)]);
      expect((await get().listContacts(other, { limit: 10 })).items).toEqual([contact('1@c.us')]);
      await expect(get().listContacts(s, { limit: 3, cursor: 'nope' })).rejects.toBeInstanceOf(InvalidCursorError);
      await get().upsertContacts(s, []);
    });
  });
}
