/**
 * WS `watch-sessions` (DESIGN "Full conversations"): an operator's client follows every session
 * at once: the list first, then `session:status` on each status change and finished sync of any
 * session, whichever client caused it. A session token cannot watch.
 */
import type { AddressInfo } from 'node:net';
import { startApi, type ApiFixture } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { WsClient } from './support/ws-client';

const KEY = 'watch-key';
let redis: PrivateRedis;
let api: ApiFixture;
let url: string;
const clients: WsClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  api = await startApi(redis.url, { apiKey: KEY });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  url = `ws://127.0.0.1:${(api.app.server.address() as AddressInfo).port}/ws`;
});
afterAll(async () => {
  for (const c of clients) c.socket.terminate();
  await api?.close();
  await redis?.stop();
});

async function connect(token: string): Promise<WsClient> {
  const c = await WsClient.connect(`${url}?token=${encodeURIComponent(token)}`);
  clients.push(c);
  return c;
}

/** What the runner does on a status change: store first, then the logged `status` event. */
async function setStatus(sessionId: string, status: 'qr' | 'ready' | 'stopped', detail: string | null = null): Promise<void> {
  await api.store.setSessionStatus(sessionId, status, detail);
  await api.deps.events.append(sessionId, 'status', { sessionId, status, detail });
}

it('lists every session, then reports each change of any session in order; unwatch stops it', async () => {
  await api.store.ensureSession('w-a');
  const ws = await connect(KEY);
  ws.send('watch-sessions', {});
  const list = await ws.waitFor('sessions', () => true, 10_000);
  expect(list.sessions).toEqual([{ sessionId: 'w-a', status: 'starting', detail: null, runnerId: null, lastSync: null }]);

  // A session made by another client shows up without any join or poll.
  await api.store.ensureSession('w-b');
  await setStatus('w-b', 'qr', 'scan me');
  await setStatus('w-a', 'ready');
  await setStatus('w-b', 'ready');
  await ws.waitFor('session:status', (d) => d.sessionId === 'w-b' && d.status === 'ready', 10_000);
  expect(ws.of('session:status').map((d) => [d.sessionId, d.status, d.detail])).toEqual([
    ['w-b', 'qr', 'scan me'],
    ['w-a', 'ready', null],
    ['w-b', 'ready', null],
  ]);

  // A finished sync changes lastSync.
  await api.store.startSyncRun({ syncId: 'w-a-1', sessionId: 'w-a', reason: 'ready', nChats: 1 });
  await api.store.finishSyncRun('w-a-1', { nChats: 1, chatsFailed: 0, totalMessages: 5 });
  await api.deps.events.append('w-a', 'session_ready', { sessionId: 'w-a', syncId: 'w-a-1', kind: 'full', chats: ['1@c.us'], nChats: 1, totalMessages: 5, chatsFailed: 0 });
  const synced = await ws.waitFor('session:status', (d) => d.sessionId === 'w-a' && d.lastSync !== null, 10_000);
  expect(synced.lastSync).toMatchObject({ syncId: 'w-a-1', totalMessages: 5, done: true });

  ws.send('unwatch-sessions', {});
  await ws.waitFor('unwatched', () => true, 10_000);
  const before = ws.frames.length;
  await setStatus('w-a', 'stopped');
  // Another watcher hears it, this one does not.
  const other = await connect(KEY);
  other.send('watch-sessions', {});
  await other.waitFor('sessions', () => true, 10_000);
  await setStatus('w-b', 'stopped');
  await other.waitFor('session:status', (d) => d.sessionId === 'w-b' && d.status === 'stopped', 10_000);
  expect(ws.frames.slice(before).filter((f) => f.event === 'session:status')).toEqual([]);
});

it('refuses a session token: watching every session is the operator\'s', async () => {
  await api.store.ensureSession('w-c');
  const { token } = await api.deps.tokens.mint('w-c', ['read', 'stream'], 600);
  const ws = await connect(token);
  ws.send('watch-sessions', {});
  const err = await ws.waitFor('error', () => true, 10_000);
  expect(err.code).toBe('forbidden');
  expect(ws.of('sessions')).toEqual([]);
});
