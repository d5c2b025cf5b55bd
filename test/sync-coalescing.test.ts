/**
 * A narrow manual sync (`{ chatIds }`) sent around the first `ready` must never take the place of
 * the full first sync (issue 13: 6 of 8 sessions ended `ready` with almost nothing stored).
 */
import { type SyncSnapshot } from '@wa-sync/shared/contracts';
import { SyncLedger } from '@wa-sync/shared/runtime';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const CHATS = 8;
const LIMIT = 10;
const SEED = 3;
const account = new SimulatedAccount({ chats: CHATS, messagesPerChat: 15, seed: SEED });
const chats = account.listChats();

let h: SyncHarness;
beforeAll(async () => {
  h = await SyncHarness.start();
});
afterAll(async () => {
  await h?.stop();
});

function done(syncId: string): SyncSnapshot | undefined {
  return h.events.map((e) => e.data as SyncSnapshot).find((d) => d.syncId === syncId && d.done);
}

async function storedChatsWithMessages(sessionId: string): Promise<string[]> {
  const out: string[] = [];
  for (const chat of chats) {
    if ((await h.store.listMessages(sessionId, chat.id, { limit: 500 })).items.length > 0) out.push(chat.id);
  }
  return out.sort();
}

describe('sync request coalescing', () => {
  it('a narrow sync requested as the session gets ready does not swallow the full first sync', async () => {
    const sessionId = 'narrow-first';
    await h.store.ensureSession(sessionId);
    // The API's narrow request wins the race against the runner's request on `ready`.
    const narrow = await new SyncLedger(h.redis).request(h.queues, { sessionId, reason: 'manual', limitPerChat: LIMIT, chatIds: [chats[0].id] });
    expect(narrow).toEqual({ syncId: expect.any(String), coalesced: false });
    const engine = new SimulatedEngine({ chats: CHATS, messagesPerChat: 15, fetchLatencyMs: 2, seed: SEED, autoScanMs: 10 });
    await h.manager(engine, { limitPerChat: LIMIT }).start(sessionId);

    await waitFor('the narrow sync to finish', () => done(narrow.syncId));
    // The sync requested on `ready` runs after the narrow one. The narrow one already stored its
    // chat, so this one may be a catch-up of the other chats: what matters is that every chat ends
    // with its last LIMIT messages, as a first sync promises.
    const full = await waitFor('the sync requested on ready to finish', () =>
      h.events.map((e) => e.data as SyncSnapshot).find((d) => d.sessionId === sessionId && d.done && d.syncId !== narrow.syncId),
    );
    expect(full.chatsFailed).toBe(0);
    expect(await storedChatsWithMessages(sessionId)).toEqual(chats.map((c) => c.id).sort());
    for (const chat of chats) {
      expect((await h.store.getChat(sessionId, chat.id))?.messageCount).toBe(Math.min(LIMIT, 15));
    }
  });

  it('a manual re-sync asked while the sync requested on ready runs is queued after it, never swallowed by a catch-up', async () => {
    const sessionId = 'manual-after-ready';
    const ledger = new SyncLedger(h.redis);
    // The runner's request on ready starts (no runner takes it here); it will run as a catch-up.
    const onReady = await ledger.request(h.queues, { sessionId, reason: 'ready', limitPerChat: LIMIT });
    expect(onReady.coalesced).toBe(false);
    const manual = await ledger.request(h.queues, { sessionId, reason: 'manual', limitPerChat: LIMIT });
    expect(manual).toEqual({ syncId: expect.any(String), coalesced: false, queued: true });
    expect(manual.syncId).not.toBe(onReady.syncId);
    // Another reconnect while both wait is covered by the running one.
    expect(await ledger.request(h.queues, { sessionId, reason: 'reconnect', limitPerChat: LIMIT })).toEqual({ syncId: onReady.syncId, coalesced: true });
  });

  it('joins a running sync only when it covers the request; otherwise queues one merged sync after it', async () => {
    const sessionId = 'coverage';
    const a = chats[0].id;
    const b = chats[1].id;
    // Nothing runs (no runner picks the job up here): the first request starts.
    const first = await new SyncLedger(h.redis).request(h.queues, { sessionId, reason: 'manual', limitPerChat: LIMIT, chatIds: [a] });
    expect(first.coalesced).toBe(false);
    // Covered: same chat, smaller limit.
    expect(await new SyncLedger(h.redis).request(h.queues, { sessionId, reason: 'manual', limitPerChat: 5, chatIds: [a] })).toEqual({
      syncId: first.syncId,
      coalesced: true,
    });
    // Not covered: another chat, then the full sync; both queue into one sync after the running one.
    const other = await new SyncLedger(h.redis).request(h.queues, { sessionId, reason: 'manual', limitPerChat: LIMIT, chatIds: [b] });
    expect(other).toMatchObject({ coalesced: false, queued: true });
    const all = await new SyncLedger(h.redis).request(h.queues, { sessionId, reason: 'ready', limitPerChat: LIMIT });
    expect(all).toEqual({ syncId: other.syncId, coalesced: false, queued: true });
    // The queued sync now covers everything: a request the running one does not cover joins it.
    expect(await new SyncLedger(h.redis).request(h.queues, { sessionId, reason: 'manual', limitPerChat: LIMIT, chatIds: [chats[2].id] })).toEqual({
      syncId: other.syncId,
      coalesced: false,
      queued: true,
    });
    const job = await h.queues.get(sessionId).getJob(first.syncId);
    expect(job?.data).toMatchObject({ chatIds: [a] });
    expect(await h.queues.get(sessionId).getJob(other.syncId)).toBeUndefined();
  });
});
