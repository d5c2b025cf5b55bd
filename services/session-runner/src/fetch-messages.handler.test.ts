import { type ChatInput, type Contact, Keys, type Message, type Reaction, STAGED_STALE_MS } from '@wa-sync/shared/contracts';
import type { ReactionsSeen } from '@wa-sync/shared/store';
import { UnrecoverableError } from 'bullmq';
import { Script, SyncGoneError, SyncLedger, useScripts } from '@wa-sync/shared/runtime';
import type { ClientEvents, FetchOptions, WhatsAppClient } from './engine/engine.interface';
import { runFetchMessages } from './fetch-messages.handler';
import { planCatchUp } from './sync-start.handler';
import { suiteRedis } from '../../../test/support/redis-server';

const CHAT = '15550001111@c.us';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (i: number) => new Date(T0 + i * 1000).toISOString();
const ledger = () => new SyncLedger(suite.redis);

/** A chat of `n` messages, message i at T0 + i s; fetchMessages returns the newest `limit`, as WhatsApp Web does. */
class ScriptedChat implements WhatsAppClient {
  readonly sessionId = 'fetch-test';
  readonly limits: number[] = [];
  readonly options: FetchOptions[] = [];
  /** Reactions by message index (asked with `reactionState`, the others have `[]`), and those that cannot be read. */
  reacted = new Map<number, Reaction[]>();
  unreadable = new Set<number>();
  constructor(private readonly n: number) {}
  on<E extends keyof ClientEvents>(): this {
    return this;
  }
  off<E extends keyof ClientEvents>(): this {
    return this;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async getChats(): Promise<ChatInput[]> {
    return [];
  }
  async getContacts(): Promise<Contact[]> {
    return [];
  }
  async downloadMedia(): Promise<never> {
    throw new Error('no media here');
  }
  async fetchMessages(chatId: string, options: FetchOptions): Promise<Message[]> {
    const { limit } = options;
    this.limits.push(limit);
    this.options.push(options);
    const from = Math.max(0, this.n - limit);
    return Array.from({ length: this.n - from }, (_, j) => {
      const i = from + j;
      const m: Message = { id: `false_${chatId}_M${i}`, chatId, fromMe: false, author: null, body: `#${i}`, type: 'chat', timestamp: at(i), ack: 0, hasMedia: false };
      const reactions = options.reactionState && !this.unreadable.has(i) ? this.reacted.get(i) ?? [] : this.reacted.get(i);
      return reactions ? { ...m, reactions } : m;
    });
  }
}

const suite = suiteRedis();

async function staged(key: string): Promise<Message[]> {
  return JSON.parse((await suite.redis.get(key))!) as Message[];
}

describe('catch-up fetch', () => {
  it('pages back in growing pages until it passes the newest stored message, and stages only what is new', async () => {
    const chat = new ScriptedChat(1000);
    // The store's newest message is #599: 400 arrived since.
    const result = await runFetchMessages(chat, { sessionId: chat.sessionId, syncId: 's1', chatId: CHAT, limit: 50, catchUp: { after: at(599), max: 5000 } }, ledger());
    expect(chat.limits).toEqual([50, 200, 800]);
    const messages = await staged(result.stagingKey);
    expect(messages.map((m) => m.body)).toEqual(Array.from({ length: 401 }, (_, i) => `#${599 + i}`));
    expect(result).toEqual({ stagingKey: Keys.staging('s1', CHAT), count: 401, catchUpAfter: at(599) });
    expect(await suite.redis.hgetall(Keys.fetchStats(chat.sessionId))).toEqual({ calls: '3', messages: String(50 + 200 + 800) });
  });

  it('stops at the chat\'s start and at the configured maximum', async () => {
    const short = new ScriptedChat(120);
    await runFetchMessages(short, { sessionId: 'x', syncId: 's2', chatId: CHAT, limit: 50, catchUp: { after: at(-1), max: 5000 } }, ledger());
    expect(short.limits).toEqual([50, 200]); // 120 < 200: nothing older exists
    const busy = new ScriptedChat(10_000);
    const r = await runFetchMessages(busy, { sessionId: 'x', syncId: 's3', chatId: CHAT, limit: 50, catchUp: { after: at(10), max: 1000 } }, ledger());
    expect(busy.limits).toEqual([50, 200, 800, 1000]);
    expect(r.count).toBe(1000);
  });

  it('a plain fetch is one call of the given limit', async () => {
    const chat = new ScriptedChat(300);
    const seen: unknown[] = [];
    const r = await runFetchMessages(chat, { sessionId: 'y', syncId: 's4', chatId: CHAT, limit: 100 }, ledger(), { reactionsSeen: (...a) => seen.push(a) });
    expect(chat.options).toEqual([{ limit: 100, reactionState: false }]);
    expect(r).toEqual({ stagingKey: Keys.staging('s4', CHAT), count: 100 });
    // A first sync's history has nothing stored to compare reactions with.
    expect(seen).toEqual([]);
  });

  it('reads the reactions of every message on its last page, stored ones too, and stages the new ones as usual', async () => {
    const chat = new ScriptedChat(100);
    const like: Reaction = { emoji: '👍', senderId: '15550002222@c.us', timestamp: at(120) };
    chat.reacted.set(60, [like]).set(95, [like]);
    chat.unreadable.add(70);
    const seen: Array<[string, ReactionsSeen[]]> = [];
    const r = await runFetchMessages(chat, { sessionId: 'z', syncId: 's5', chatId: CHAT, limit: 50, catchUp: { after: at(89), max: 5000 } }, ledger(), {
      reactionsSeen: (chatId, list) => seen.push([chatId, list]),
    });
    expect(chat.options).toEqual([{ limit: 50, reactionState: true }]);
    // One reading, of the page's 50 messages but the one whose reactions could not be read.
    expect(seen).toHaveLength(1);
    const [chatId, list] = seen[0];
    expect(chatId).toBe(CHAT);
    expect(list.map((x) => x.id)).toEqual(Array.from({ length: 50 }, (_, j) => `false_${CHAT}_M${50 + j}`).filter((id) => !id.endsWith('_M70')));
    expect(list.find((x) => x.id.endsWith('_M60'))!.reactions).toEqual([like]);
    expect(list.find((x) => x.id.endsWith('_M61'))!.reactions).toEqual([]);
    // Staged as before: what is new, and `[]` (none) left out as a history sync leaves it.
    const messages = await staged(r.stagingKey);
    expect(messages.map((m) => m.body)).toEqual(Array.from({ length: 11 }, (_, i) => `#${89 + i}`));
    expect(messages.find((m) => m.body === '#95')!.reactions).toEqual([like]);
    expect(messages.filter((m) => 'reactions' in m).map((m) => m.body)).toEqual(['#95']);
  });

  it('a manual re-sync\'s fetch (readReactions) reads the reactions of its whole page', async () => {
    const chat = new ScriptedChat(30);
    const like: Reaction = { emoji: '👍', senderId: '15550002222@c.us', timestamp: at(40) };
    chat.reacted.set(29, [like]);
    const seen: Array<[string, ReactionsSeen[]]> = [];
    const r = await runFetchMessages(chat, { sessionId: 'z', syncId: 's7', chatId: CHAT, limit: 20, readReactions: true }, ledger(), {
      reactionsSeen: (chatId, list) => seen.push([chatId, list]),
    });
    expect(chat.options).toEqual([{ limit: 20, reactionState: true }]);
    expect(seen.map(([c, list]) => [c, list.length, list.filter((x) => x.reactions.length).map((x) => x.id)])).toEqual([[CHAT, 20, [`false_${CHAT}_M29`]]]);
    const messages = await staged(r.stagingKey);
    expect(messages).toHaveLength(20);
    expect(messages.filter((m) => 'reactions' in m).map((m) => m.body)).toEqual(['#29']);
  });

  it('a catch-up without a reader of reactions does not ask the phone for them', async () => {
    const chat = new ScriptedChat(100);
    await runFetchMessages(chat, { sessionId: 'z', syncId: 's6', chatId: CHAT, limit: 50, catchUp: { after: at(89), max: 5000 } }, ledger());
    expect(chat.options).toEqual([{ limit: 50, reactionState: false }]);
  });
});

describe('catch-up gaps', () => {
  it('stay open until the chat is saved from that point; a newer gap survives an older save', async () => {
    const gaps = ledger();
    await gaps.markGaps('g', [{ chatId: 'a', after: at(1) }, { chatId: 'b', after: at(2) }]);
    await gaps.closeGap('g', 'a', at(1));
    await gaps.markGaps('g', [{ chatId: 'b', after: at(5) }]); // a later catch-up of b
    await gaps.closeGap('g', 'b', at(2)); // the earlier one's save comes late
    expect(await gaps.gaps('g')).toEqual(new Map([['b', at(5)]]));
  });
});

describe('catch-up plan', () => {
  const chat = (id: string, last: number | null): ChatInput => ({ id, name: id, isGroup: false, unreadCount: 0, lastMessageAt: last === null ? null : at(last) });
  const state = (id: string, newest: number | null, count = 10) => ({ id, lastMessageAt: newest === null ? null : at(newest + 50), messageCount: count, newestMessageAt: newest === null ? null : at(newest) });

  it('skips what did not move, pages back what did, fully fetches what the store lacks', () => {
    const states = new Map([
      ['same', state('same', 100)],
      ['moved', state('moved', 100)],
      ['empty', state('empty', null, 0)],
    ]);
    const plan = planCatchUp(
      [chat('same', 100), chat('moved', 130), chat('empty', 5), chat('new', 7), chat('silent', null)],
      states,
      100,
      5000,
    );
    expect(plan).toEqual([
      { chatId: 'moved', limit: 50, catchUp: { after: at(100), max: 5000 } },
      { chatId: 'empty', limit: 100 },
      { chatId: 'new', limit: 100 },
    ]);
  });

  it('reaches back to a gap an earlier catch-up left open, even when nothing moved since', () => {
    // An earlier catch-up of `hurt` from #40 failed; live messages up to #100 were stored since.
    const states = new Map([['hurt', state('hurt', 100)], ['fine', state('fine', 100)]]);
    const plan = planCatchUp([chat('hurt', 100), chat('fine', 100)], states, 100, 5000, new Map([['hurt', at(40)]]));
    expect(plan).toEqual([{ chatId: 'hurt', limit: 50, catchUp: { after: at(40), max: 5000 } }]);
  });
});

describe('back-pressure between fetch and save', () => {
  /** A sync's progress record, as sync-start begins it before adding any fetch. */
  const begin = (syncId: string) => ledger().begin('bp', syncId, 3);

  it('a fetch waits while the window of staged, unsaved chats is full, and goes on once a save frees a place', async () => {
    const syncId = 'bp1';
    await begin(syncId);
    for (let i = 0; i < 2; i++) await runFetchMessages(new ScriptedChat(5), { sessionId: 'bp', syncId, chatId: `${i}@c.us`, limit: 5 }, ledger());
    expect(await suite.redis.zcard(Keys.stagedChats(syncId))).toBe(2);
    expect(await suite.redis.ttl(Keys.stagedChats(syncId))).toBeGreaterThan(0);
    // A retried fetch of the same chat takes no second place.
    await runFetchMessages(new ScriptedChat(5), { sessionId: 'bp', syncId, chatId: '0@c.us', limit: 5 }, ledger());
    expect(await suite.redis.zcard(Keys.stagedChats(syncId))).toBe(2);

    let passed = false;
    const waiting = ledger().waitForRoom(syncId, 2).then(() => (passed = true));
    // Several polls go by and the fetch is still held back.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(passed).toBe(false);
    // What the save worker does after storing chat 0.
    await suite.redis.multi().del(Keys.staging(syncId, '0@c.us')).zrem(Keys.stagedChats(syncId), '0@c.us').exec();
    await waiting;
    expect(passed).toBe(true);
  });

  it('a fetch with a full window stages its batch only once a save frees a place', async () => {
    const syncId = 'bp3';
    await begin(syncId);
    for (let i = 0; i < 2; i++) await runFetchMessages(new ScriptedChat(5), { sessionId: 'bp', syncId, chatId: `${i}@c.us`, limit: 5 }, ledger());
    let done = false;
    const third = runFetchMessages(new ScriptedChat(5), { sessionId: 'bp', syncId, chatId: '2@c.us', limit: 5 }, ledger(), { maxStaged: 2 }).then((r) => {
      done = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    expect(await suite.redis.exists(Keys.staging(syncId, '2@c.us'))).toBe(0);
    await suite.redis.multi().del(Keys.staging(syncId, '0@c.us')).zrem(Keys.stagedChats(syncId), '0@c.us').exec();
    expect((await third).count).toBe(5);
    expect(await suite.redis.zrange(Keys.stagedChats(syncId), 0, -1)).toEqual(['1@c.us', '2@c.us']);
  });

  it('the staging script counts a chat in the window only when its batch is there, and counts the phone calls either way', async () => {
    const syncId = 'bp4';
    const key = Keys.staging(syncId, 'a@c.us');
    const stats = Keys.fetchStats('bp4');
    const r = useScripts(suite.redis, 'stage');
    // The batch's SET failed (or never came): the chat takes no place it could never free.
    expect(await r[Script.stage](key, Keys.stagedChats(syncId), stats, 60, Date.now(), 'a@c.us', 1, 5)).toBe(0);
    expect(await suite.redis.zcard(Keys.stagedChats(syncId))).toBe(0);
    await suite.redis.set(key, '[]', 'EX', 60);
    expect(await r[Script.stage](key, Keys.stagedChats(syncId), stats, 60, Date.now(), 'a@c.us', 1, 5)).toBe(1);
    expect(await suite.redis.zrange(Keys.stagedChats(syncId), 0, -1)).toEqual(['a@c.us']);
    expect(await suite.redis.hgetall(stats)).toEqual({ calls: '2', messages: '10' });
  });

  it('a fetch running again for a chat still staged (its completion lost) does not wait for a full window', async () => {
    const syncId = 'bp6';
    await begin(syncId);
    // A failover lost the completions of the fetches that filled the window: they all run again,
    // and each would wait for a place only a save of theirs can free (their saves wait for them).
    for (let i = 0; i < 2; i++) await runFetchMessages(new ScriptedChat(5), { sessionId: 'bp', syncId, chatId: `${i}@c.us`, limit: 5 }, ledger());
    const again = await Promise.race([
      runFetchMessages(new ScriptedChat(7), { sessionId: 'bp', syncId, chatId: '1@c.us', limit: 7 }, ledger(), { maxStaged: 2 }),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 2_000)),
    ]);
    expect(again?.count).toBe(7);
    expect(await suite.redis.zrange(Keys.stagedChats(syncId), 0, -1)).toEqual(['0@c.us', '1@c.us']);
    // A chat not staged yet still waits.
    let passed = false;
    const waiting = ledger().waitForRoom(syncId, 2, undefined, '2@c.us').then(() => (passed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(passed).toBe(false);
    await suite.redis.zrem(Keys.stagedChats(syncId), '0@c.us');
    await waiting;
  });

  it('a save that died before freeing its place cannot hold the sync back for good', async () => {
    const syncId = 'bp2';
    await begin(syncId);
    // Two chats staged long ago whose saves never ran (a crash lost their ZREM).
    await suite.redis.zadd(Keys.stagedChats(syncId), Date.now() - STAGED_STALE_MS - 1000, 'a@c.us', Date.now() - STAGED_STALE_MS - 1000, 'b@c.us');
    await ledger().waitForRoom(syncId, 2);
    expect(await suite.redis.zcard(Keys.stagedChats(syncId))).toBe(0);
  });

  it('a fetch of a sync Redis lost (no progress record) neither waits for room nor stages: it fails for good', async () => {
    const syncId = 'bp5';
    // A full window that no save of this sync will ever free (its saves cannot be counted).
    await suite.redis.zadd(Keys.stagedChats(syncId), Date.now(), 'a@c.us', Date.now(), 'b@c.us');
    const fetching = runFetchMessages(new ScriptedChat(5), { sessionId: 'bp', syncId, chatId: 'c@c.us', limit: 5 }, ledger(), { maxStaged: 2 });
    await expect(fetching).rejects.toBeInstanceOf(SyncGoneError);
    await expect(fetching).rejects.toBeInstanceOf(UnrecoverableError);
    expect(await suite.redis.exists(Keys.staging(syncId, 'c@c.us'))).toBe(0);
  });
});

describe('media the runner leaves out', () => {
  /** Message i has a file of i × 100 bytes, not downloaded yet. */
  class MediaChat extends ScriptedChat {
    override async fetchMessages(chatId: string, opts: FetchOptions): Promise<Message[]> {
      return (await super.fetchMessages(chatId, opts)).map((m, i) => ({
        ...m,
        hasMedia: true,
        media: { mimetype: 'image/jpeg', filename: null, size: i * 100, sha256: null, durationSeconds: null, status: 'pending', error: null },
      }));
    }
  }
  const statuses = async (key: string) => (await staged(key)).map((m) => `${m.media?.status}:${m.media?.error}`);

  it('is staged skipped, so its save adds no download job: all of it with MEDIA_DOWNLOAD=off', async () => {
    const r = await runFetchMessages(new MediaChat(3), { sessionId: 'm', syncId: 'media-off', chatId: CHAT, limit: 3 }, ledger(), { media: { policy: 'off', maxBytes: 1 << 20 } });
    expect(await statuses(r.stagingKey)).toEqual(['skipped:policy', 'skipped:policy', 'skipped:policy']);
  });

  it('the first sync\'s history under MEDIA_DOWNLOAD=live; files known to be over MEDIA_MAX_BYTES; the rest stays pending', async () => {
    const live = { policy: 'live', maxBytes: 150 } as const;
    const history = await runFetchMessages(new MediaChat(3), { sessionId: 'm', syncId: 'media-live', chatId: CHAT, limit: 3 }, ledger(), { media: live });
    expect(await statuses(history.stagingKey)).toEqual(['skipped:policy', 'skipped:policy', 'skipped:policy']);
    const catchUp = await runFetchMessages(new MediaChat(3), { sessionId: 'm', syncId: 'media-catch-up', chatId: CHAT, limit: 3, catchUp: { after: at(-1), max: 10 } }, ledger(), { media: live });
    expect(await statuses(catchUp.stagingKey)).toEqual(['pending:null', 'pending:null', 'skipped:too_large']);
  });
});
