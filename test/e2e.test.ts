/**
 * End to end, as a user runs it: `scripts/start.js` starts a private Redis and the three
 * services as processes; the test talks to them over HTTP and WebSocket only.
 */
import type { Chat, Message, SyncSnapshot } from '@wa-sync/shared/contracts';
import { httpJson } from './support/http';
import { type ServiceStack, startStack } from './support/service-stack';
import { WsClient } from './support/ws-client';
import { waitFor } from './support/wait-for';

const CHATS = 25;
const LIMIT = 100;
let stack: ServiceStack;

beforeAll(async () => {
  stack = await startStack({ SIM_AUTO_SCAN_MS: '300', SIM_FETCH_LATENCY_MS: '5' });
});

afterAll(async () => {
  await stack?.stop();
});

const http = (method: string, path: string, body?: unknown) => httpJson(stack.url, method, path, body);

function expectSequence(seq: SyncSnapshot[], nChats: number): void {
  expect(seq[0]).toMatchObject({ currentChat: 0, messagesSynced: 0, done: false, nChats });
  for (let i = 1; i < seq.length; i++) expect(seq[i].currentChat).toBeGreaterThan(seq[i - 1].currentChat);
  expect(seq[seq.length - 1]).toMatchObject({ currentChat: nChats, done: true, chatsFailed: 0 });
  expect(seq).toHaveLength(nChats + 1);
}

describe('wa-sync end to end', () => {
  let firstSync: SyncSnapshot;

  it('links a session and streams qr, authenticated, ready and the whole sync_chats sequence', async () => {
    const ws = await WsClient.connect(stack.wsUrl);
    // Joining before the session exists is allowed.
    ws.send('join-session', { sessionId: 'demo' });
    expect(await ws.waitFor('joined')).toEqual({ sessionId: 'demo', status: null, sync: null });

    const created = await http('POST', '/whatsapp-web/session/demo');
    expect(created).toEqual({ status: 201, json: { sessionId: 'demo', status: 'starting' } });

    const done = await ws.waitFor('sync_chats', (d) => d.done);
    const order = ws.frames.map((f) => f.event).filter((e) => ['qr', 'authenticated', 'ready'].includes(e));
    expect(order).toEqual(['qr', 'authenticated', 'ready']);
    const qr = ws.of('qr')[0];
    expect(qr.qr.length).toBeGreaterThan(10);
    expect(qr.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    const firstSyncIndex = ws.frames.findIndex((f) => f.event === 'sync_chats');
    expect(firstSyncIndex).toBeGreaterThan(ws.frames.findIndex((f) => f.event === 'ready'));

    const seq = ws.of('sync_chats');
    expectSequence(seq, CHATS);
    expect(done.totalMessagesSynced).toBe(CHATS * LIMIT);
    firstSync = done;
    ws.close();
  });

  it('serves the stored chats and each chat’s 100 most recent messages', async () => {
    const { status, json } = await http('GET', '/whatsapp-web/session/demo/chats?limit=50');
    expect(status).toBe(200);
    const chats = json.chats as Chat[];
    expect(chats).toHaveLength(CHATS);
    expect(json.nextCursor).toBeNull();
    const times = chats.map((c) => Date.parse(c.lastMessageAt!));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    for (const chat of chats) {
      expect(chat.messageCount).toBe(LIMIT);
      const page = await http('GET', `/whatsapp-web/session/demo/chats/${encodeURIComponent(chat.id)}/messages?limit=500`);
      const messages = page.json.messages as Message[];
      expect(messages).toHaveLength(LIMIT);
      expect(messages.every((m) => m.chatId === chat.id)).toBe(true);
      expect(messages[0].timestamp).toBe(chat.lastMessageAt);
      const ts = messages.map((m) => Date.parse(m.timestamp));
      expect([...ts].sort((a, b) => b - a)).toEqual(ts);
    }
  });

  it('pages chats and messages with cursors, visiting each once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const { json } = await http('GET', `/whatsapp-web/session/demo/chats?limit=7${q}`);
      seen.push(...json.chats.map((c: Chat) => c.id));
      cursor = json.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(CHATS);
    expect(new Set(seen).size).toBe(CHATS);

    const chatId = encodeURIComponent(seen[0]);
    const ids: string[] = [];
    let before: string | null = null;
    do {
      const q: string = before ? `&before=${encodeURIComponent(before)}` : '';
      const { json } = await http('GET', `/whatsapp-web/session/demo/chats/${chatId}/messages?limit=30${q}`);
      ids.push(...json.messages.map((m: Message) => m.id));
      before = json.nextCursor;
    } while (before);
    expect(ids).toHaveLength(LIMIT);
    expect(new Set(ids).size).toBe(LIMIT);
  });

  it('re-syncs on demand without duplicates, coalescing requests while it runs', async () => {
    const ws = await WsClient.connect(stack.wsUrl);
    ws.send('join-session', { sessionId: 'demo' });
    const joined = await ws.waitFor('joined');
    expect(joined.status).toBe('ready');
    expect(joined.sync).toMatchObject({ syncId: firstSync.syncId, done: true, currentChat: CHATS });

    const first = await http('POST', '/whatsapp-web/session/demo/sync-chats', {});
    expect(first.status).toBe(202);
    const again = await http('POST', '/whatsapp-web/session/demo/sync-chats');
    expect(again).toEqual({ status: 202, json: { syncId: first.json.syncId, coalesced: true } });

    const done = await ws.waitFor('sync_chats', (d) => d.syncId === first.json.syncId && d.done);
    expectSequence(ws.of('sync_chats').filter((d) => d.syncId === first.json.syncId), CHATS);
    expect(done.totalMessagesSynced).toBe(firstSync.totalMessagesSynced);

    const { json } = await http('GET', '/whatsapp-web/session/demo/chats?limit=50');
    expect(json.chats.map((c: Chat) => c.messageCount)).toEqual(Array(CHATS).fill(LIMIT));
    const snapshot = await http('GET', '/whatsapp-web/session/demo/sync');
    expect(snapshot.json).toMatchObject({ syncId: first.json.syncId, done: true, currentChat: CHATS, totalMessagesSynced: CHATS * LIMIT });
    ws.close();
  });

  it('answers bad input with a 4xx JSON error that names the problem', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/whatsapp-web/session/bad!id', undefined, 400, /session id/],
      ['GET', '/whatsapp-web/session/nope', undefined, 404, /nope does not exist/],
      ['GET', '/whatsapp-web/session/demo/chats?limit=0', undefined, 400, /query\.limit/],
      ['GET', '/whatsapp-web/session/demo/chats?limit=501', undefined, 400, /query\.limit/],
      ['GET', '/whatsapp-web/session/demo/chats?limit=abc', undefined, 400, /query\.limit/],
      ['GET', '/whatsapp-web/session/demo/chats?cursor=garbage', undefined, 400, /cursor/],
      ['GET', '/whatsapp-web/session/demo/chats/nobody%40c.us/messages', undefined, 404, /not stored/],
      ['POST', '/whatsapp-web/session/demo/sync-chats', { limitPerChat: 'all' }, 400, /body\.limitPerChat/],
      ['POST', '/whatsapp-web/session/demo/sync-chats', { chatIds: 'x' }, 400, /body\.chatIds/],
      ['POST', '/whatsapp-web/session/demo/sync-chats', '{"limitPerChat":', 400, /JSON/],
      ['GET', '/nowhere', undefined, 404, /no route/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await http(method, path, body);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.json.error.code).toEqual(expect.any(String));
      expect(res.json.error.message).toMatch(message);
    }
  });

  it('keeps a WebSocket open after a bad frame and answers with an error event', async () => {
    const ws = await WsClient.connect(stack.wsUrl);
    ws.sendRaw('not json');
    ws.send('dance', {});
    ws.send('join-session', { sessionId: '../etc' });
    await ws.waitFor('error', () => ws.of('error').length >= 3);
    expect(ws.of('error').map((e) => e.code)).toEqual(['bad_frame', 'unknown-event', 'bad_request']);
    ws.send('join-session', { sessionId: 'demo' });
    expect((await ws.waitFor('joined')).status).toBe('ready');
    ws.close();
  });

  it('refuses to sync a stopped session with 409, and starts it again on POST', async () => {
    const stop = await http('DELETE', '/whatsapp-web/session/demo');
    expect(stop.status).toBe(202);
    await waitFor('the session to stop', async () => (await http('GET', '/whatsapp-web/session/demo')).json.status === 'stopped', 30_000);
    const refused = await http('POST', '/whatsapp-web/session/demo/sync-chats', {});
    expect(refused.status).toBe(409);
    expect(refused.json.error).toEqual({ code: 'session_not_ready', message: expect.stringMatching(/stopped/) });

    const restarted = await http('POST', '/whatsapp-web/session/demo');
    expect(restarted).toEqual({ status: 200, json: { sessionId: 'demo', status: 'starting' } });
    const list = await http('GET', '/whatsapp-web/sessions');
    expect(list.json.sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual(['demo']);
  });

  it('stops every process cleanly on Ctrl-C', async () => {
    const code = await stack.stop();
    expect(code).toBe(0);
    expect(stack.output()).toMatch(/\[wa-sync\] stopped/);
  });
});
