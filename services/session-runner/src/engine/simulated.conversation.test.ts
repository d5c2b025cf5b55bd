import type { Message } from '@wa-sync/shared/contracts';
import { SimulatedAccount } from './simulated.account';
import { SimulatedEngine, type SimulatedClient } from './simulated.engine';
import { displayName } from './simulated.people';
import { liveMessageK } from './simulated.live';
import { waitFor } from '../../../../test/support/wait-for';

// The simulated account's conversations (DESIGN "Full conversations"): what a person sees beyond the text.
const account = new SimulatedAccount({ seed: 11, chats: 60, messagesPerChat: 80 });
const all = account.chatIds.flatMap((id) => account.messages(id));
const contacts = new Map(account.contacts().map((c) => [c.id, c]));

describe('simulated conversations', () => {
  it('has contacts with saved names, with only a pushname, and with neither (the number shows)', () => {
    const list = [...contacts.values()];
    expect(list.some((c) => c.name && c.isMyContact)).toBe(true);
    expect(list.some((c) => !c.name && c.pushname)).toBe(true);
    expect(list.some((c) => !c.name && !c.pushname)).toBe(true);
    for (const c of list) {
      expect(c.number).toBe(c.id.split('@')[0]);
      expect(c.isMyContact).toBe(c.name !== null);
    }
    // The same account every time.
    expect(new SimulatedAccount({ seed: 11, chats: 60, messagesPerChat: 80 }).contacts()).toEqual(list);
  });

  it('names every sender as their contact shows (saved name, else pushname, else number), never own messages', () => {
    let named = 0;
    for (const m of all) {
      if (m.fromMe) {
        expect(m.senderName).toBeNull();
        continue;
      }
      const contact = contacts.get(m.author ?? m.chatId);
      expect(contact).toBeDefined();
      expect(m.senderName).toBe(displayName(contact!));
      named++;
    }
    expect(named).toBeGreaterThan(1000);
    const numbersShown = all.filter((m) => m.senderName && /^\d+$/.test(m.senderName));
    expect(numbersShown.length).toBeGreaterThan(0);
  });

  it('has groups with several members and admins, and messages from several of them', () => {
    const groups = account.listChats().filter((c) => c.isGroup);
    expect(groups.length).toBeGreaterThan(5);
    for (const g of groups) {
      expect(g.participants!.length).toBeGreaterThanOrEqual(3);
      expect(g.participants!.filter((p) => p.isAdmin).length).toBeGreaterThanOrEqual(1);
      const authors = new Set(account.messages(g.id).map((m) => m.author).filter(Boolean));
      expect(authors.size).toBeGreaterThan(1);
      for (const a of authors) expect(g.participants!.map((p) => p.id)).toContain(a);
    }
    for (const c of account.listChats().filter((x) => !x.isGroup)) expect(c).not.toHaveProperty('participants');
  });

  it('replies quote an earlier message of the chat exactly as it is stored', () => {
    const byId = new Map(all.map((m) => [m.id, m]));
    const replies = all.filter((m) => m.quoted);
    expect(replies.length).toBeGreaterThan(100);
    for (const r of replies) {
      const q = byId.get(r.quoted!.id);
      expect(q).toBeDefined();
      expect(q!.chatId).toBe(r.chatId);
      expect(Date.parse(q!.timestamp)).toBeLessThan(Date.parse(r.timestamp));
      expect(r.quoted).toEqual({ id: q!.id, fromMe: q!.fromMe, author: q!.author, type: q!.type, body: q!.body.slice(0, 1000) });
    }
  });

  it('has mentions of group members, forwards, reactions, a location, a vCard and a poll', () => {
    const mentions = all.filter((m) => m.mentions);
    expect(mentions.length).toBeGreaterThan(0);
    for (const m of mentions) {
      const members = account.listChats().find((c) => c.id === m.chatId)!.participants!.map((p) => p.id);
      for (const id of m.mentions!) {
        expect(members).toContain(id);
        expect(m.body).toContain(`@${id.split('@')[0]}`);
      }
    }
    expect(all.filter((m) => m.isForwarded).length).toBeGreaterThan(0);
    const reacted = all.filter((m) => m.reactions?.length);
    expect(reacted.length).toBeGreaterThan(50);
    for (const m of reacted) for (const r of m.reactions!) {
      expect(r.emoji).toMatch(/\p{Extended_Pictographic}/u);
      expect(Date.parse(r.timestamp)).toBeGreaterThanOrEqual(Date.parse(m.timestamp));
    }
    const location = all.find((m) => m.type === 'location')!;
    expect(location.location).toEqual({ latitude: expect.any(Number), longitude: expect.any(Number), description: expect.any(String) });
    const vcard = all.find((m) => m.type === 'vcard')!;
    expect(vcard.vcards).toEqual([vcard.body]);
    expect(vcard.body).toMatch(/^BEGIN:VCARD\n[\s\S]*\nEND:VCARD$/);
    const poll = all.find((m) => m.type === 'poll_creation')!;
    expect(poll.poll).toEqual({ name: poll.body, options: expect.arrayContaining([expect.any(String)]) });
    expect(poll.poll!.options.length).toBeGreaterThanOrEqual(2);
  });

  it('describes every media message: mimetype, filename of documents, size, duration of sounds and videos, pending', () => {
    const media = all.filter((m) => m.hasMedia);
    expect(new Set(media.map((m) => m.type))).toEqual(new Set(['image', 'ptt', 'audio', 'document', 'video', 'sticker']));
    const mimetypes: Record<string, RegExp> = { image: /^image\/png$/, sticker: /^image\/webp$/, ptt: /^audio\/ogg/, audio: /^audio\/ogg/, video: /^video\/mp4$/, document: /^application\/pdf$/ };
    for (const m of media) {
      expect(m.media!.mimetype).toMatch(mimetypes[m.type]);
      expect(m.media!.status).toBe('pending');
      expect(m.media!.sha256).toBeNull();
      expect(m.media!.size).toBeGreaterThanOrEqual(16384 * 0.75);
      expect(m.media!.size).toBeLessThanOrEqual(16384 * 1.25);
      expect(m.media!.filename).toBe(m.type === 'document' ? m.body : null);
      if (['ptt', 'audio', 'video'].includes(m.type)) expect(m.media!.durationSeconds).toBeGreaterThan(0);
      else expect(m.media!.durationSeconds).toBeNull();
    }
    for (const m of all.filter((x) => !x.hasMedia)) expect(m).not.toHaveProperty('media');
  });
});

describe('simulated live reactions and media', () => {
  const N = 40;
  let c: SimulatedClient;
  afterEach(() => c?.stop({ logout: false }));

  it('reacts to every n-th live message, removes every second reaction later, and a fetch shows the same', async () => {
    c = new SimulatedEngine({ autoScanMs: 5, fetchLatencyMs: 1, chats: 3, messagesPerChat: 5, liveIntervalMs: N, reactEvery: 2 }).createClient('r1');
    const reactions: Array<{ id: string; emoji: string; senderId: string }> = [];
    const live: Message[] = [];
    c.on('message_reaction', (r) => reactions.push(r));
    c.on('message', (m) => live.push(m));
    const ready = new Promise<void>((resolve) => c.on('ready', resolve));
    await c.start();
    await ready;
    await waitFor('a removed reaction', () => reactions.some((r) => r.emoji === '') && live.length >= 12, 10_000);
    for (const r of reactions) expect(liveMessageK(r.id) % 2).toBe(0);
    const removed = reactions.filter((r) => r.emoji === '');
    for (const r of removed) {
      expect(liveMessageK(r.id) % 4).toBe(0);
      expect(reactions.find((x) => x.id === r.id && x.emoji !== '')).toMatchObject({ senderId: r.senderId });
    }
    // What the phone holds now: the removed one has no reaction left, a kept one still has it.
    const fetched = new Map<string, Message>();
    for (const chat of await c.getChats()) for (const m of await c.fetchMessages(chat.id, { limit: 500 })) fetched.set(m.id, m);
    expect(fetched.get(removed[0].id)!.reactions).toEqual([]);
    const kept = reactions.find((r) => r.emoji !== '' && liveMessageK(r.id) % 4 === 2)!;
    expect(fetched.get(kept.id)!.reactions).toEqual([expect.objectContaining({ emoji: kept.emoji, senderId: kept.senderId })]);
    // Asked for the reaction state, every message says it: `[]` when it has none; history and live alike.
    const chatId = kept.id.split('_')[1];
    const plain = await c.fetchMessages(chatId, { limit: 500 });
    const stated = await c.fetchMessages(chatId, { limit: 500, reactionState: true });
    expect(plain.some((m) => m.reactions === undefined)).toBe(true);
    expect(stated.every((m) => Array.isArray(m.reactions))).toBe(true);
    // The same reactions either way on history, which does not move (live ones change between two calls).
    const history = (list: Message[]) => list.filter((m) => !m.body.startsWith('live #')).map((m) => [m.id, m.reactions ?? []]);
    expect(history(stated).length).toBeGreaterThan(0);
    expect(history(stated)).toEqual(history(plain));
    // Some live messages carry a file, captioned like the others.
    const files = live.filter((m) => m.hasMedia);
    expect(files.length).toBeGreaterThan(0);
    for (const m of files) {
      expect(m.body).toBe(`live #${liveMessageK(m.id)}`);
      expect(m.media).toMatchObject({ status: 'pending', mimetype: expect.any(String), size: expect.any(Number) });
    }
  });

  it('lists the contacts once ready', async () => {
    c = new SimulatedEngine({ autoScanMs: 5, fetchLatencyMs: 1, seed: 11, chats: 60, messagesPerChat: 80 }).createClient('r2');
    await expect(c.getContacts()).rejects.toThrow('not ready');
    const ready = new Promise<void>((resolve) => c.on('ready', resolve));
    await c.start();
    await ready;
    expect(await c.getContacts()).toEqual([...contacts.values()]);
  });
});
