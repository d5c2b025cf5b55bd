import { createHash } from 'node:crypto';
import type { Message } from '@wa-sync/shared/contracts';
import { SIM_BASE_TIME_MS, SimulatedAccount, mulberry32 } from './simulated.account';
import { isoSecond } from './simulated.draw';
import { SimulatedEngine, type SimulatedClient, type SimulatedEngineOptions } from './simulated.engine';
import { liveMessageK } from './simulated.live';
import { waitFor } from '../../../../test/support/wait-for';

const FAST: Partial<SimulatedEngineOptions> = { autoScanMs: 5, fetchLatencyMs: 1 };
const clients: SimulatedClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop({ logout: false })));
});

function client(options: Partial<SimulatedEngineOptions> = {}, sessionId = 's1'): SimulatedClient {
  const c = new SimulatedEngine({ ...FAST, ...options }).createClient(sessionId);
  clients.push(c);
  return c;
}

async function readyClient(options: Partial<SimulatedEngineOptions> = {}): Promise<SimulatedClient> {
  const c = client(options);
  const ready = new Promise<void>((resolve) => c.on('ready', resolve));
  await c.start();
  await ready;
  return c;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('simulated account', () => {
  const opts = { seed: 7, chats: 40, messagesPerChat: 60 };

  it('is identical for the same seed and different for another seed', () => {
    const a = new SimulatedAccount(opts);
    const b = new SimulatedAccount(opts);
    expect(b.listChats()).toEqual(a.listChats());
    for (const id of a.chatIds) expect(b.messages(id)).toEqual(a.messages(id));

    const c = new SimulatedAccount({ ...opts, seed: 8 });
    expect(c.chatIds).not.toEqual(a.chatIds);
    const bodies = (acc: SimulatedAccount) => acc.messages(acc.chatIds[0]).map((m) => m.body);
    expect(bodies(c)).not.toEqual(bodies(a));
  });

  it('has the requested chats, a mix of groups and direct chats', () => {
    const acc = new SimulatedAccount({ ...opts, chats: 400 });
    const chats = acc.listChats();
    expect(chats).toHaveLength(400);
    expect(new Set(chats.map((c) => c.id)).size).toBe(400);
    const groups = chats.filter((c) => c.isGroup);
    expect(groups.length / chats.length).toBeGreaterThan(0.15);
    expect(groups.length / chats.length).toBeLessThan(0.35);
    for (const c of chats) {
      expect(c.id).toMatch(c.isGroup ? /^\d{18}@g\.us$/ : /^\d{8,14}@c\.us$/);
      expect(c.name.length).toBeGreaterThan(0);
      expect(c.unreadCount).toBeGreaterThanOrEqual(0);
    }
    expect(chats.some((c) => c.unreadCount > 0)).toBe(true);
  });

  it('generates messages in WhatsApp Web shape with increasing timestamps', () => {
    const acc = new SimulatedAccount(opts);
    const types = new Set<string>();
    let groupIncoming = 0;
    for (const chat of acc.listChats()) {
      const messages = acc.messages(chat.id);
      expect(messages).toHaveLength(60);
      expect(chat.lastMessageAt).toBe(messages[messages.length - 1].timestamp);
      expect(new Set(messages.map((m) => m.id)).size).toBe(60);
      let prev = -Infinity;
      for (const m of messages) {
        types.add(m.type);
        const t = Date.parse(m.timestamp);
        expect(new Date(t).toISOString()).toBe(m.timestamp);
        expect(t).toBeGreaterThan(prev);
        expect(t).toBeLessThanOrEqual(SIM_BASE_TIME_MS); // fixed base, not the clock
        prev = t;
        expect(m.chatId).toBe(chat.id);
        if (chat.isGroup && !m.fromMe) {
          groupIncoming++;
          expect(m.author).toMatch(/^\d+@c\.us$/);
          expect(m.id).toMatch(new RegExp(`^false_${escape(chat.id)}_[0-9A-F]{20}_${escape(m.author!)}$`));
        } else {
          expect(m.author).toBeNull();
          expect(m.id).toMatch(new RegExp(`^${m.fromMe}_${escape(chat.id)}_[0-9A-F]{20}$`));
        }
        expect(m.hasMedia).toBe(['image', 'video', 'ptt', 'audio', 'document', 'sticker'].includes(m.type));
        if (m.type === 'chat') expect(m.body.length).toBeGreaterThan(0);
        if (m.type === 'ptt' || m.type === 'sticker') expect(m.body).toBe('');
        if (m.fromMe) expect([1, 2, 3]).toContain(m.ack);
        else expect(m.ack).toBeGreaterThanOrEqual(0);
      }
    }
    expect(groupIncoming).toBeGreaterThan(0);
    expect([...types].sort()).toEqual(['audio', 'chat', 'document', 'image', 'location', 'poll_creation', 'ptt', 'sticker', 'vcard', 'video']);
  });

  it('keeps the account of a seed from release to release (stored data, tests and benches rely on it)', () => {
    // Fingerprint of seed 7's history; changed once on purpose by Full conversations (names,
    // replies, reactions, media descriptors, audio/poll/vCard types; ids, times and senders kept).
    const acc = new SimulatedAccount(opts);
    const hash = createHash('sha256');
    for (const id of acc.chatIds) hash.update(JSON.stringify(acc.messages(id)));
    expect(hash.digest('hex')).toBe('d627f35e7423f8c568d947cfa85fcc5c7c2d92d21cc2413e97039b63054bd18e');
    const last = acc.messages(acc.chatIds[3]).at(-1);
    expect(last).toEqual({
      id: 'true_14157849403@c.us_3EB0DD546DE551C1AEB3',
      chatId: '14157849403@c.us',
      fromMe: true,
      author: null,
      body: '',
      type: 'image',
      timestamp: '2025-01-15T10:46:27.000Z',
      ack: 2,
      hasMedia: true,
      senderName: null,
      media: { mimetype: 'image/png', filename: null, size: 20209, sha256: null, durationSeconds: null, status: 'pending', error: null },
    });
  });

  it('formats whole-second times exactly as Date#toISOString', () => {
    const r = mulberry32(42);
    const edges = [0, -1000, 951_782_400_000, 4_107_542_400_000, Date.UTC(2024, 1, 29, 23, 59, 59), Date.UTC(9999, 11, 31, 23, 59, 59), Date.UTC(10000, 0, 1), -62_198_755_200_000];
    const samples = [...edges, ...Array.from({ length: 20_000 }, () => Math.floor((r() - 0.3) * 8e12))];
    for (const ms of samples) expect(isoSecond(ms)).toBe(new Date(Math.floor(ms / 1000) * 1000).toISOString());
    expect(() => isoSecond(NaN)).toThrow(RangeError);
  });

  it('generates only the requested most recent messages of one chat', () => {
    const acc = new SimulatedAccount(opts);
    const id = acc.chatIds[3];
    const all = acc.messages(id);
    const before = acc.messagesGenerated;
    expect(acc.latestMessages(id, 10)).toEqual(all.slice(-10));
    expect(acc.messagesGenerated - before).toBe(10);
  });
});

describe('SimulatedClient', () => {
  it('goes qr → authenticated → ready', async () => {
    const c = client();
    const events: string[] = [];
    let qr = '';
    c.on('qr', (code) => {
      events.push('qr');
      qr = code;
    });
    c.on('authenticated', () => events.push('authenticated'));
    const ready = new Promise<void>((resolve) => c.on('ready', resolve));
    c.on('ready', () => events.push('ready'));
    await c.start();
    await ready;
    expect(events).toEqual(['qr', 'authenticated', 'ready']);
    expect(qr).toMatch(/^2@[A-Za-z0-9+/=]+(,[A-Za-z0-9+/=]+){3}$/);
  });

  it('refreshes the QR until scanned', async () => {
    const c = client({ autoScanMs: Infinity, qrRefreshMs: 10 });
    const codes: string[] = [];
    const three = new Promise<void>((resolve) =>
      c.on('qr', (code) => {
        if (codes.push(code) === 3) resolve();
      }),
    );
    await c.start();
    await three;
    expect(new Set(codes).size).toBe(3);
    const ready = new Promise<void>((resolve) => c.on('ready', resolve));
    c.scanNow();
    await ready;
    await expect(c.getChats()).resolves.toHaveLength(25);
  });

  it('keeps defaults for undefined options and refuses bad ones', () => {
    const engine = new SimulatedEngine({ chats: undefined, liveIntervalMs: undefined, failChatIds: undefined });
    expect(engine.options).toMatchObject({ chats: 25, messagesPerChat: 120, liveIntervalMs: 0, failChatIds: [] });
    expect(() => new SimulatedEngine({ failRate: 2 })).toThrow('failRate');
    expect(() => new SimulatedEngine({ chats: -1 })).toThrow('chats');
  });

  it('rejects getChats and fetchMessages before ready', async () => {
    const c = client({ autoScanMs: Infinity });
    await expect(c.getChats()).rejects.toThrow('client s1 is not ready');
    await c.start();
    await expect(c.fetchMessages('x@c.us', { limit: 1 })).rejects.toThrow('client s1 is not ready');
  });

  it('returns the limit most recent messages, oldest first', async () => {
    const c = await readyClient({ chats: 5, messagesPerChat: 30 });
    const [chat] = await c.getChats();
    const all = c.account.messages(chat.id, c.anchorMs);
    const ten = await c.fetchMessages(chat.id, { limit: 10 });
    expect(ten).toEqual(all.slice(-10));
    expect(ten.map((m) => m.timestamp)).toEqual([...ten.map((m) => m.timestamp)].sort());
    expect(await c.fetchMessages(chat.id, { limit: 500 })).toHaveLength(30);
    expect(await c.fetchMessages(chat.id, { limit: 0 })).toEqual([]);
    await expect(c.fetchMessages('000@c.us', { limit: 5 })).rejects.toThrow('unknown chat 000@c.us');
  });

  it('fails every fetch with failRate 1 and none with failRate 0', async () => {
    const failing = await readyClient({ failRate: 1 });
    const [chat] = await failing.getChats();
    for (let i = 0; i < 5; i++) {
      await expect(failing.fetchMessages(chat.id, { limit: 5 })).rejects.toThrow(/simulated transient failure/);
    }
    const healthy = await readyClient({ failRate: 0 });
    const results = await Promise.all(Array.from({ length: 50 }, () => healthy.fetchMessages(chat.id, { limit: 5 })));
    expect(results.every((r) => r.length === 5)).toBe(true);
  });

  it('fails transiently: retrying the same call succeeds', async () => {
    const c = await readyClient({ failRate: 0.5 });
    const [chat] = await c.getChats();
    const outcomes: boolean[] = [];
    for (let i = 0; i < 40; i++) {
      outcomes.push(await c.fetchMessages(chat.id, { limit: 3 }).then(() => true, () => false));
    }
    expect(outcomes).toContain(true);
    expect(outcomes).toContain(false);
  });

  it('always fails the chats listed in failChatIds', async () => {
    const probe = new SimulatedEngine({ chats: 5 }).account.chatIds;
    const c = await readyClient({ chats: 5, failChatIds: [probe[1]] });
    for (let i = 0; i < 5; i++) {
      await expect(c.fetchMessages(probe[1], { limit: 5 })).rejects.toThrow(/permanent failure/);
    }
    await expect(c.fetchMessages(probe[0], { limit: 5 })).resolves.toHaveLength(5);
  });

  it('rejects every call after stop, including a fetch in flight', async () => {
    const c = await readyClient({ fetchLatencyMs: 1000 });
    const [chat] = await c.getChats();
    const inFlight = c.fetchMessages(chat.id, { limit: 5 });
    await c.stop({ logout: false });
    await expect(inFlight).rejects.toThrow('client s1 is stopped');
    await expect(c.getChats()).rejects.toThrow('client s1 is stopped');
    await expect(c.fetchMessages(chat.id, { limit: 5 })).rejects.toThrow('client s1 is stopped');
    await expect(c.start()).rejects.toThrow('client s1 is stopped');
  });

  it('emits disconnected LOGOUT on logout only', async () => {
    const reasons: string[] = [];
    const plain = await readyClient();
    plain.on('disconnected', (r) => reasons.push(r));
    await plain.stop({ logout: false });
    expect(reasons).toEqual([]);
    const out = await readyClient();
    out.on('disconnected', (r) => reasons.push(r));
    await out.stop({ logout: true });
    await out.stop({ logout: true });
    expect(reasons).toEqual(['LOGOUT']);
  });

  it('lists 2,000 chats without generating any message', async () => {
    const c = await readyClient({ chats: 2000, messagesPerChat: 100 });
    expect(await c.getChats()).toHaveLength(2000);
    expect(c.account.messagesGenerated).toBe(0);
    await c.fetchMessages(c.account.chatIds[1999], { limit: 7 });
    expect(c.account.messagesGenerated).toBe(7);
  });

  it('ends the generated history at the session\'s first ready, not at a fixed date', async () => {
    const before = Date.now();
    const c = await readyClient({ chats: 30, messagesPerChat: 50 });
    expect(c.anchorMs).toBeGreaterThanOrEqual(before);
    const chats = await c.getChats();
    const newest = Date.parse(chats[0].lastMessageAt!);
    expect(newest).toBeLessThanOrEqual(c.anchorMs!);
    expect(newest).toBeGreaterThan(c.anchorMs! - 3600_000);
    // A demo's "last 7 days" has messages in it.
    const weekAgo = c.anchorMs! - 7 * 86_400_000;
    expect(chats.filter((x) => Date.parse(x.lastMessageAt!) > weekAgo).length).toBeGreaterThan(20);
  });

  it('streams nothing live when liveIntervalMs is 0', async () => {
    const quiet = await readyClient();
    const heard: Message[] = [];
    quiet.on('message', (m) => heard.push(m));
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toEqual([]);
  });
});

describe('simulated phone that lives on without us', () => {
  const N = 10;
  const anchored = (anchorMs: number) => ({ firstReady: async () => anchorMs });

  function phoneClient(options: Partial<SimulatedEngineOptions>, anchorMs: number, sessionId = 's1'): SimulatedClient {
    const c = new SimulatedEngine({ ...FAST, chats: 4, messagesPerChat: 20, ...options }, { anchors: anchored(anchorMs) }).createClient(sessionId);
    clients.push(c);
    return c;
  }

  async function ready(c: SimulatedClient): Promise<SimulatedClient> {
    const r = new Promise<void>((resolve) => c.on('ready', resolve));
    await c.start();
    await r;
    return c;
  }

  /** Every live message a full fetch of every chat returns, by k. */
  async function liveByK(c: SimulatedClient): Promise<Map<number, Message>> {
    const byK = new Map<number, Message>();
    for (const chat of await c.getChats()) {
      for (const m of await c.fetchMessages(chat.id, { limit: 100_000 })) {
        if (!m.id.includes('_') || Date.parse(m.timestamp) <= c.anchorMs!) continue;
        const k = liveMessageK(m.id);
        expect(byK.has(k)).toBe(false);
        byK.set(k, m);
      }
    }
    return byK;
  }

  it('holds every live message that arrived while no client was connected, once, in its chat', async () => {
    const anchor = Date.now() - 2000; // linked 2 s ago, nobody listening since
    const c = await ready(phoneClient({ liveIntervalMs: N }, anchor));
    // Fetches run one after another: only what had arrived when the first began is in every chat.
    const upTo = Math.floor((Date.now() - anchor) / N);
    const byK = await liveByK(c);
    for (const k of byK.keys()) if (k > upTo) byK.delete(k);
    expect(upTo).toBeGreaterThanOrEqual(2000 / N);
    expect([...byK.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: upTo }, (_, i) => i + 1));
    for (const [k, m] of byK) {
      expect(m.body).toBe(`live #${k}`);
      expect(m.timestamp).toBe(new Date(anchor + k * N).toISOString());
    }
    // The chat list moved with them.
    const chats = await c.getChats();
    const last = byK.get(upTo)!;
    expect(Date.parse(chats.find((x) => x.id === last.chatId)!.lastMessageAt!)).toBeGreaterThanOrEqual(Date.parse(last.timestamp));
  });

  it('is a pure function of the seed and the clock: another client, another process, the same phone', async () => {
    const anchor = Date.now() - 1000;
    const a = await ready(phoneClient({ liveIntervalMs: N, seed: 3 }, anchor));
    const b = await ready(phoneClient({ liveIntervalMs: N, seed: 3 }, anchor));
    const [chat] = await a.getChats();
    const fromA = await a.fetchMessages(chat.id, { limit: 30 });
    const fromB = await b.fetchMessages(chat.id, { limit: 30 });
    // Same messages; only the newest may have arrived between the two calls, pushing A's oldest out
    // of B's page (pages are oldest first): A's newest 25 are all in B.
    expect(fromB.map((m) => m.id)).toEqual(expect.arrayContaining(fromA.slice(-25).map((m) => m.id)));
    const other = await ready(phoneClient({ liveIntervalMs: N, seed: 4 }, anchor));
    const [otherChat] = await other.getChats();
    expect(otherChat.id).not.toBe(chat.id);
  });

  it('keeps the first ready: a later client of the session continues the same history', async () => {
    const engine = new SimulatedEngine({ ...FAST, liveIntervalMs: N, chats: 3, messagesPerChat: 5 });
    const first = await ready(engine.createClient('kept'));
    clients.push(first);
    await first.stop({ logout: false });
    await new Promise((r) => setTimeout(r, 30));
    const second = await ready(engine.createClient('kept'));
    clients.push(second);
    expect(second.anchorMs).toBe(first.anchorMs);
  });

  it('emits arrivals, rising acks, edits and deletes while running; a fetch shows the same state', async () => {
    const c = await ready(phoneClient({ liveIntervalMs: N, editEvery: 3, revokeEvery: 5 }, Date.now()));
    const heard: Array<[string, any]> = [];
    for (const e of ['message', 'message_ack', 'message_edit', 'message_revoke_everyone'] as const) c.on(e, (x: any) => heard.push([e, x]));
    await waitFor('a few edits and deletes', () => heard.filter(([e]) => e === 'message_revoke_everyone').length >= 3);
    const messages = heard.filter(([e]) => e === 'message').map(([, m]) => m as Message);
    const ks = messages.map((m) => liveMessageK(m.id));
    expect(ks).toEqual(Array.from({ length: ks.length }, (_, i) => ks[0] + i)); // no gap, no repeat
    messages.forEach((m) => expect(m.body).toBe(`live #${liveMessageK(m.id)}`));
    const edits = heard.filter(([e]) => e === 'message_edit').map(([, x]) => x);
    expect(edits.length).toBeGreaterThan(0);
    for (const e of edits) {
      const k = liveMessageK(e.id);
      expect(k % 3).toBe(0);
      expect(e.body).toBe(`live #${k} (edited)`);
    }
    const revokes = heard.filter(([e]) => e === 'message_revoke_everyone').map(([, x]) => x);
    revokes.forEach((r) => expect(liveMessageK(r.id) % 5).toBe(0));
    const acks = heard.filter(([e]) => e === 'message_ack').map(([, x]) => x);
    // Only own messages get receipts (also those that arrived before this client was ready).
    acks.forEach((a) => expect(a.id).toMatch(/^true_/));
    if (messages.filter((m) => m.fromMe).length > 2) expect(acks.map((a) => a.ack)).toEqual(expect.arrayContaining([2, 3]));

    // Fetched now, the phone shows those edits and deletes.
    const byK = await liveByK(c);
    const revokedK = liveMessageK(revokes[0].id);
    expect(byK.get(revokedK)).toMatchObject({ body: '', revoked: true });
    const editedK = liveMessageK(edits[0].id);
    if (editedK % 5 !== 0) expect(byK.get(editedK)).toMatchObject({ body: `live #${editedK} (edited)`, editedAt: edits[0].editedAt });
  });
});
