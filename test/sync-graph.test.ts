/**
 * The sync job graph in one process, against a private Redis and a real SQLite file: the
 * session runner's manager and queue worker, and the sync workers, exactly as the services wire
 * them. Only the WhatsApp account is simulated.
 */
import { Queue } from 'bullmq';
import { type SyncSnapshot, sessionQueueName } from '@wa-sync/shared/contracts';
import { type Store } from '@wa-sync/shared/store';
import { SyncLedger } from '@wa-sync/shared/runtime';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const CHATS = 12;
const MESSAGES = 30;
const LIMIT = 20;
const SEED = 7;
const SESSION = 'graph-test';

const account = new SimulatedAccount({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED });
const chats = account.listChats();
const brokenChat = chats[3].id;

let h: SyncHarness;
let store: Store;

beforeAll(async () => {
  h = await SyncHarness.start();
  store = h.store;
});

afterAll(async () => {
  await h?.stop();
});

function syncEvents(syncId: string): SyncSnapshot[] {
  return h.events.filter((e) => e.event === 'sync_chats' && (e.data as SyncSnapshot).syncId === syncId).map((e) => e.data as SyncSnapshot);
}

function expectWellFormedSequence(seq: SyncSnapshot[], nChats: number): void {
  expect(seq[0]).toMatchObject({ currentChat: 0, messagesSynced: 0, totalMessagesSynced: 0, done: false, nChats });
  expect(seq).toHaveLength(nChats + 1);
  seq.forEach((e, i) => expect(e.currentChat).toBe(i));
  const last = seq[seq.length - 1];
  expect(last).toMatchObject({ currentChat: nChats, done: true });
  expect(seq.slice(0, -1).every((e) => !e.done)).toBe(true);
  expect(new Set(seq.slice(1).map((e) => e.chatId)).size).toBe(nChats);
  expect(last.totalMessagesSynced).toBe(seq.slice(1).reduce((sum, e) => sum + e.messagesSynced, 0));
}

async function storedMessageIds(chatId: string): Promise<string[]> {
  const page = await store.listMessages(SESSION, chatId, { limit: 500 });
  return page.items.map((m) => m.id);
}

describe('sync job graph', () => {
  let firstSync: SyncSnapshot;

  it('syncs every chat on ready, retrying transient failures, and counts a broken chat as failed', async () => {
    const engine = new SimulatedEngine({
      chats: CHATS,
      messagesPerChat: MESSAGES,
      fetchLatencyMs: 2,
      // Transient failures on a third of the fetches: retries must absorb them.
      failRate: 0.3,
      seed: SEED,
      autoScanMs: 10,
      failChatIds: [brokenChat],
    });
    await store.ensureSession(SESSION);
    await h.manager(engine, { limitPerChat: LIMIT }).start(SESSION);
    const syncId = await waitFor('the first sync to start', () => (h.events.find((e) => e.event === 'sync_chats')?.data as SyncSnapshot | undefined)?.syncId);
    const seq = await waitFor('done', () => (syncEvents(syncId).some((e) => e.done) ? syncEvents(syncId) : null));
    expectWellFormedSequence(seq, CHATS);

    const last = seq[seq.length - 1];
    const failedChats = seq.slice(1).filter((e) => e.messagesSynced === 0).map((e) => e.chatId);
    expect(failedChats).toContain(brokenChat);
    expect(last.chatsFailed).toBe(failedChats.length);
    const errors = h.events.filter((e) => e.event === 'sync_error').map((e) => e.data as { chatId: string; message: string });
    expect(errors.find((e) => e.chatId === brokenChat)?.message).toMatch(/simulated permanent failure/);

    // Transient failures happened and were retried into success.
    const fetchQueue = new Queue(sessionQueueName(SESSION), { connection: h.redis });
    const completed = await fetchQueue.getJobs(['completed'], 0, -1);
    expect(completed.some((j) => j.attemptsMade > 1)).toBe(true);
    // A chat fails only when its fetch ran out of attempts.
    const failedFetches = await fetchQueue.getJobs(['failed'], 0, -1);
    expect(new Set(failedFetches.map((j) => j.data.chatId))).toEqual(new Set(failedChats));
    expect(failedFetches.every((j) => j.attemptsMade === 4)).toBe(true);
    await fetchQueue.close();

    // Stored: every chat, and LIMIT most recent messages of each chat that did not fail.
    const stored = await store.listChats(SESSION, { limit: 500 });
    expect(stored.items.map((c) => c.id).sort()).toEqual(chats.map((c) => c.id).sort());
    for (const chat of chats) {
      const ids = await storedMessageIds(chat.id);
      if (failedChats.includes(chat.id)) expect(ids).toHaveLength(0);
      else expect(ids.sort()).toEqual(account.latestMessages(chat.id, LIMIT).map((m) => m.id).sort());
    }

    // Message bodies do not stay in Redis once saved.
    expect(await h.redis.keys('wa-sync:staging:*')).toEqual([]);
    firstSync = last;
  });

  it('finishes the sync run and logs one session_ready, with nothing left in a queue nobody reads', async () => {
    const ready = await waitFor('session_ready', () => h.events.find((e) => e.event === 'session_ready' && (e.data as { syncId: string }).syncId === firstSync.syncId));
    expect(ready.data).toEqual({
      sessionId: SESSION,
      syncId: firstSync.syncId,
      kind: 'full',
      chats: expect.arrayContaining(chats.map((c) => c.id)),
      nChats: CHATS,
      totalMessages: firstSync.totalMessagesSynced,
      chatsFailed: firstSync.chatsFailed,
    });
    expect(await h.redis.keys('bull:session-synced:*')).toEqual([]);
    const run = await waitFor('the finished sync run', async () => ((await store.getSyncRun(firstSync.syncId))?.done ? store.getSyncRun(firstSync.syncId) : null));
    expect(run).toMatchObject({ nChats: CHATS, chatsFailed: firstSync.chatsFailed, totalMessages: firstSync.totalMessagesSynced });
    expect((await store.getSession(SESSION))?.lastSync?.syncId).toBe(firstSync.syncId);
  });

  it('a re-sync stores no duplicate, and coalesces requests made while it runs', async () => {
    const before = new Map<string, string[]>();
    for (const chat of chats) before.set(chat.id, await storedMessageIds(chat.id));
    // Reactions the store has wrong (as after changes no runner saw): one too many, one missing.
    const onPhone = account.latestMessages(chats[0].id, LIMIT);
    const bare = onPhone.find((m) => !m.reactions?.length)!;
    const reacted = onPhone.find((m) => m.reactions?.length)!;
    await store.setReaction(SESSION, chats[0].id, bare.id, { senderId: '15550009999@c.us', emoji: '🙃', timestamp: bare.timestamp });
    for (const r of reacted.reactions!) await store.setReaction(SESSION, chats[0].id, reacted.id, { ...r, emoji: '' });
    expect((await store.getMessage(SESSION, chats[0].id, reacted.id))!.reactions).toEqual([]);

    const first = await new SyncLedger(h.redis).request(h.queues, { sessionId: SESSION, reason: 'manual', limitPerChat: LIMIT });
    const second = await new SyncLedger(h.redis).request(h.queues, { sessionId: SESSION, reason: 'manual', limitPerChat: LIMIT });
    expect(first.coalesced).toBe(false);
    expect(second).toEqual({ syncId: first.syncId, coalesced: true });

    const seq = await waitFor('the re-sync', () => (syncEvents(first.syncId).some((e) => e.done) ? syncEvents(first.syncId) : null));
    expectWellFormedSequence(seq, CHATS);
    const resynced = new Set(seq.slice(1).filter((e) => e.messagesSynced > 0).map((e) => e.chatId));
    for (const chat of chats) {
      const ids = await storedMessageIds(chat.id);
      expect(new Set(ids).size).toBe(ids.length);
      const synced = before.get(chat.id)!.length > 0 || resynced.has(chat.id);
      // The account is deterministic: both syncs fetched the same LIMIT messages, stored once.
      expect(ids.sort()).toEqual(synced ? account.latestMessages(chat.id, LIMIT).map((m) => m.id).sort() : []);
    }
    // A chat synced both times reports the same count.
    const firstSeq = syncEvents(firstSync.syncId);
    for (const e of seq.slice(1)) {
      const earlier = firstSeq.find((x) => x.chatId === e.chatId)!;
      if (e.messagesSynced > 0 && earlier.messagesSynced > 0) expect(e.messagesSynced).toBe(earlier.messagesSynced);
    }
    const last = seq[seq.length - 1];
    expect(last.done).toBe(true);
    // A manual re-sync reads every fetched message's reactions: the store has the phone's again, and says so.
    // (The engine's history is anchored at its first ready, this account's copy is not: times differ.)
    const phoneReactions = reacted.reactions!.map((r) => ({ ...r, timestamp: expect.any(String) }));
    expect((await store.getMessage(SESSION, chats[0].id, bare.id))!.reactions).toEqual([]);
    expect((await store.getMessage(SESSION, chats[0].id, reacted.id))!.reactions).toEqual(phoneReactions);
    const announced = await waitFor('both announced', () => {
      const mine = h.events.filter((e) => e.event === 'message:reaction').map((e) => e.data as { id: string; reactions: unknown[] });
      const [a, b] = [mine.find((d) => d.id === bare.id), mine.find((d) => d.id === reacted.id)];
      return a && b ? [a.reactions, b.reactions] : null;
    });
    expect(announced).toEqual([[], phoneReactions]);
  });
});
