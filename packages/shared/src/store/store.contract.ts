import type { Store } from './store.interface';
import { describeAccessContract } from './store-access.contract';
import { describeAuthStateContract } from './store-auth.contract';
import { describeChatContract } from './store-chats.contract';
import {
  MINUTE,
  T0,
  chat,
  iso,
  message,
  messages,
  sleep,
  uniqueSessionId,
  wellFormed,
  type GetStore,
} from './store-fixtures.contract';
import { describeMessageContract } from './store-messages.contract';
import { describeMediaContract } from './store-media.contract';
import { describeConversationContract } from './store-conversations.contract';

/**
 * The behaviour every Store must have. `makeStore` returns an initialised store; it is called once
 * per suite. Tests isolate themselves with unique session ids, so the suite can run against a
 * shared database.
 */
export function describeStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store | undefined;
    const get: GetStore = () => {
      if (!store) throw new Error('store was not created');
      return store;
    };
    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('can be initialised again and pinged', async () => {
      await get().init();
      await expect(get().ping()).resolves.toBeUndefined();
    });

    describeSessionContract(get);
    describeChatContract(get);
    describeMessageContract(get);
    describeMediaContract(get);
    describeAccessContract(get);
    describeAuthStateContract(get);
    describeConversationContract(get);
    describeSyncRunContract(get);
    describeContinuousContract(get);
    describeOddInputContract(get);
  });
}

function describeSessionContract(get: GetStore): void {
  describe('sessions', () => {
    it('ensureSession creates a session once, in status starting', async () => {
      const s = uniqueSessionId('ensure');
      const first = await get().ensureSession(s);
      expect(first.created).toBe(true);
      expect(first.session).toEqual({
        sessionId: s,
        status: 'starting',
        statusDetail: null,
        createdAt: expect.any(String),
        updatedAt: first.session.createdAt,
        lastSync: null,
      });
      expect(Date.parse(first.session.createdAt)).toBeGreaterThan(Date.now() - MINUTE);
      await get().setSessionStatus(s, 'ready');
      const again = await get().ensureSession(s);
      expect(again.created).toBe(false);
      expect(again.session.status).toBe('ready');
      expect(await get().getSession(uniqueSessionId('unknown'))).toBeNull();
    });

    it('setSessionStatus records status and detail; listSessions lists them all', async () => {
      const a = uniqueSessionId('status-a');
      const b = uniqueSessionId('status-b');
      await get().ensureSession(a);
      await sleep(5);
      await get().setSessionStatus(a, 'qr', 'scan the code');
      expect(await get().getSession(a)).toMatchObject({ status: 'qr', statusDetail: 'scan the code' });
      const s = (await get().getSession(a))!;
      expect(Date.parse(s.updatedAt)).toBeGreaterThan(Date.parse(s.createdAt));
      await get().setSessionStatus(a, 'failed', null);
      expect(await get().getSession(a)).toMatchObject({ status: 'failed', statusDetail: null });
      await get().setSessionStatus(a, 'qr', 'again');
      await get().setSessionStatus(a, 'authenticated'); // no detail: the old one is stale
      expect(await get().getSession(a)).toMatchObject({ status: 'authenticated', statusDetail: null });
      // Setting the status of a session nobody ensured creates it rather than losing the status.
      await get().setSessionStatus(b, 'disconnected', 'phone offline');
      const listed = (await get().listSessions()).filter((x) => x.sessionId === a || x.sessionId === b);
      expect(listed.map((x) => [x.sessionId, x.status])).toEqual([
        [a, 'authenticated'],
        [b, 'disconnected'],
      ]);
    });

    it('keeps a session\'s webhooks apart from the session, replaced as a whole', async () => {
      const s = uniqueSessionId('webhooks');
      await get().ensureSession(s);
      expect(await get().getSessionWebhooks(s)).toEqual([]);
      const hooks = [
        { url: 'https://example.com/hook', events: ['session_ready' as const, 'message:new' as const], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
        { url: 'http://127.0.0.1:9/other' },
      ];
      await get().setSessionWebhooks(s, hooks);
      expect(await get().getSessionWebhooks(s)).toEqual(hooks);
      // Secrets never ride along with the session (it is what the API answers with).
      expect(JSON.stringify(await get().getSession(s))).not.toContain('whsec_');
      await get().setSessionWebhooks(s, [hooks[1]]);
      expect(await get().getSessionWebhooks(s)).toEqual([hooks[1]]);
      await get().setSessionWebhooks(s, []);
      expect(await get().getSessionWebhooks(s)).toEqual([]);
      expect(await get().getSessionWebhooks(uniqueSessionId('unknown'))).toEqual([]);
    });
  });
}

function describeContinuousContract(get: GetStore): void {
  describe('continuous sync', () => {
    it('markFirstReady keeps the first instant, also for a session not created yet', async () => {
      const s = uniqueSessionId('firstready');
      await get().ensureSession(s);
      expect(await get().markFirstReady(s, iso(T0))).toBe(iso(T0));
      expect(await get().markFirstReady(s, iso(T0 + MINUTE))).toBe(iso(T0));
      expect((await get().getSession(s))?.status).toBe('starting');
      const fresh = uniqueSessionId('firstready-new');
      expect(await get().markFirstReady(fresh, '2024-03-01T13:00:00+01:00')).toBe(iso(T0));
      expect(await get().getSession(fresh)).toMatchObject({ sessionId: fresh, status: 'starting' });
    });

    it('chatSyncStates gives each chat its newest stored message, apart from the listed activity', async () => {
      const s = uniqueSessionId('states');
      const C = '5511900000001@c.us';
      const D = '5511900000002@c.us';
      await get().upsertMessages(s, C, messages(C, 0, 5));
      // The phone's list says both moved on; only C has messages stored.
      await get().upsertChats(s, [chat(C, T0 + 60 * MINUTE), chat(D, T0 + 30 * MINUTE)]);
      const states = (await get().chatSyncStates(s)).sort((a, b) => a.id.localeCompare(b.id));
      expect(states).toEqual([
        { id: C, lastMessageAt: iso(T0 + 60 * MINUTE), messageCount: 5, newestMessageAt: iso(T0 + 4 * MINUTE) },
        { id: D, lastMessageAt: iso(T0 + 30 * MINUTE), messageCount: 0, newestMessageAt: null },
      ]);
      expect(await get().chatSyncStates(uniqueSessionId('states-none'))).toEqual([]);
      // Before a time: what the store held then (messages stored later came in live).
      const then = (await get().chatSyncStates(s, iso(T0 + 2 * MINUTE))).find((x) => x.id === C);
      expect(then).toMatchObject({ newestMessageAt: iso(T0 + MINUTE), messageCount: 5 });
      expect((await get().chatSyncStates(s, iso(T0))).find((x) => x.id === C)?.newestMessageAt).toBeNull();
    });
  });
}

function describeSyncRunContract(get: GetStore): void {
  describe('sync runs', () => {
    it('records start and finish; session.lastSync is the last finished run', async () => {
      const s = uniqueSessionId('sync');
      await get().ensureSession(s);
      expect(await get().getLastSyncRun(s)).toBeNull();
      await get().startSyncRun({ syncId: `${s}-1`, sessionId: s, reason: 'ready', nChats: 3 });
      expect(await get().getSyncRun(`${s}-1`)).toEqual({
        syncId: `${s}-1`, sessionId: s, reason: 'ready', kind: 'full', startedAt: expect.any(String), finishedAt: null,
        nChats: 3, chatsFailed: 0, totalMessages: 0, done: false,
      });
      expect((await get().getLastSyncRun(s))?.syncId).toBe(`${s}-1`);
      expect((await get().getSession(s))?.lastSync).toBeNull();

      await get().finishSyncRun(`${s}-1`, { nChats: 3, chatsFailed: 1, totalMessages: 250 });
      const finished = (await get().getSyncRun(`${s}-1`))!;
      expect(finished).toMatchObject({ done: true, nChats: 3, chatsFailed: 1, totalMessages: 250 });
      expect(Date.parse(finished.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(finished.startedAt));
      expect((await get().getSession(s))?.lastSync).toEqual(finished);

      await sleep(5);
      await get().startSyncRun({ syncId: `${s}-2`, sessionId: s, reason: 'manual', nChats: 2 });
      expect((await get().getLastSyncRun(s))?.syncId).toBe(`${s}-2`);
      expect((await get().getSession(s))?.lastSync?.syncId).toBe(`${s}-1`);
      await sleep(5);
      await get().finishSyncRun(`${s}-2`, { nChats: 2, chatsFailed: 0, totalMessages: 10 });
      expect((await get().getSession(s))?.lastSync).toMatchObject({ syncId: `${s}-2`, reason: 'manual', done: true });
      expect((await get().listSessions()).find((x) => x.sessionId === s)?.lastSync?.syncId).toBe(`${s}-2`);
    });

    it('keeps the kind of a sync (catch-up or full)', async () => {
      const s = uniqueSessionId('synckind');
      await get().ensureSession(s);
      await get().startSyncRun({ syncId: `${s}-1`, sessionId: s, reason: 'reconnect', nChats: 0, kind: 'catch-up' });
      await get().finishSyncRun(`${s}-1`, { nChats: 0, chatsFailed: 0, totalMessages: 0 });
      expect(await get().getSyncRun(`${s}-1`)).toMatchObject({ kind: 'catch-up', done: true });
      expect((await get().getSession(s))?.lastSync).toMatchObject({ kind: 'catch-up' });
    });

    it('lists every unfinished run of a session, oldest first, not only the last', async () => {
      const s = uniqueSessionId('syncopen');
      const other = uniqueSessionId('syncopen');
      expect(await get().openSyncRuns(s)).toEqual([]);
      await get().startSyncRun({ syncId: `${s}-1`, sessionId: s, reason: 'ready', nChats: 3 });
      await sleep(5);
      await get().startSyncRun({ syncId: `${s}-2`, sessionId: s, reason: 'reconnect', nChats: 3 });
      await sleep(5);
      await get().startSyncRun({ syncId: `${s}-3`, sessionId: s, reason: 'manual', nChats: 3 });
      await get().startSyncRun({ syncId: `${other}-1`, sessionId: other, reason: 'ready', nChats: 1 });
      await get().finishSyncRun(`${s}-2`, { nChats: 3, chatsFailed: 0, totalMessages: 9 });
      const open = await get().openSyncRuns(s);
      expect(open.map((r) => r.syncId)).toEqual([`${s}-1`, `${s}-3`]);
      expect(open[0]).toMatchObject({ sessionId: s, reason: 'ready', nChats: 3, done: false, finishedAt: null });
    });

    it('is idempotent for retried jobs and strict about unknown runs', async () => {
      const s = uniqueSessionId('syncretry');
      const syncId = `${s}-1`;
      await get().startSyncRun({ syncId, sessionId: s, reason: 'reconnect', nChats: 4 });
      await get().startSyncRun({ syncId, sessionId: s, reason: 'manual', nChats: 9 });
      expect(await get().getSyncRun(syncId)).toMatchObject({ reason: 'reconnect', nChats: 4 });
      await get().finishSyncRun(syncId, { nChats: 4, chatsFailed: 0, totalMessages: 7 });
      const first = (await get().getSyncRun(syncId))!.finishedAt;
      await sleep(5);
      await get().finishSyncRun(syncId, { nChats: 4, chatsFailed: 1, totalMessages: 8 });
      expect(await get().getSyncRun(syncId)).toMatchObject({ finishedAt: first, chatsFailed: 1, totalMessages: 8 });
      await expect(get().finishSyncRun(`${s}-nope`, { nChats: 0, chatsFailed: 0, totalMessages: 0 })).rejects.toThrow();
      expect(await get().getSyncRun(`${s}-nope`)).toBeNull();
    });
  });
}

function describeOddInputContract(get: GetStore): void {
  const C = '5511988887777@c.us';

  describe('odd input', () => {
    it('round-trips a 1 MB body', async () => {
      const s = uniqueSessionId('big');
      const body = 'x'.repeat(1024 * 1024 - 3) + 'end';
      await get().upsertMessages(s, C, [message(C, 1, { body })]);
      expect((await get().listMessages(s, C, { limit: 1 })).items[0].body).toBe(body);
    });

    it('round-trips emoji, RTL, combining marks and NUL; lone surrogates are kept as U+FFFD', async () => {
      const s = uniqueSessionId('unicode');
      const bodies = [
        '👩‍👩‍👧‍👦 🇧🇷 𝄞',
        'مرحبا بالعالم \u202Eabc\u202C שלום',
        'e\u0301 ñ 漢字 \u200B',
        'before\u0000after',
        'lone \uD83D high and \uDE00 low',
      ];
      const batch = bodies.map((body, i) => message(C, i, { body, author: `Zoë ${body.slice(0, 4)}` }));
      await get().upsertMessages(s, C, batch);
      await get().upsertChats(s, [{ id: C, name: '😀 الاسم\u0000', isGroup: false, unreadCount: 0, lastMessageAt: null }]);
      const stored = (await get().listMessages(s, C, { limit: 10 })).items.reverse();
      expect(stored.map((m) => m.body)).toEqual(bodies.map(wellFormed));
      expect(stored.map((m) => m.author)).toEqual(batch.map((m) => wellFormed(m.author!)));
      expect((await get().getChat(s, C))?.name).toBe('😀 الاسم\u0000');
    });

    it('keeps null author and null lastMessageAt', async () => {
      const s = uniqueSessionId('nulls');
      await get().upsertChats(s, [{ id: 'quiet@c.us', name: 'Quiet', isGroup: false, unreadCount: 0, lastMessageAt: null }]);
      expect(await get().getChat(s, 'quiet@c.us')).toMatchObject({ lastMessageAt: null, messageCount: 0 });
      await get().upsertMessages(s, C, [message(C, 1, { author: null })]);
      expect((await get().listMessages(s, C, { limit: 1 })).items[0].author).toBeNull();
    });

    it('returns times as UTC ISO-8601 with milliseconds', async () => {
      const s = uniqueSessionId('tz');
      await get().upsertMessages(s, C, [message(C, 1, { timestamp: '2024-03-01T15:30:00+03:00' })]);
      expect((await get().listMessages(s, C, { limit: 1 })).items[0].timestamp).toBe('2024-03-01T12:30:00.000Z');
      expect((await get().getChat(s, C))?.lastMessageAt).toBe('2024-03-01T12:30:00.000Z');
    });

    it('stores a large batch in one call', async () => {
      const s = uniqueSessionId('large');
      const batch = messages(C, 0, 3000);
      expect(await get().upsertMessages(s, C, batch)).toEqual({ inserted: 3000, existing: 0 });
      expect(await get().getChat(s, C)).toMatchObject({ messageCount: 3000, lastMessageAt: iso(T0 + 2999 * MINUTE) });
    });
  });
}
