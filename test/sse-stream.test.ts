/**
 * The desktop bootstrap (seed 000, issue 9 item 5): `GET …/events` (Server-Sent Events) and
 * `GET …/messages/recent`, against a private Redis and a real SQLite store, with live traffic
 * appended to the event log as the runner and workers do.
 */
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Keys } from '@wa-sync/shared/contracts';
import { EventLog, type Redis, compareEventIds, createRedis } from '@wa-sync/shared/runtime';
import { sseHubOf } from '../services/api/src/app.factory';
import { ErrorBody } from '../services/api/src/routes/common.schemas';
import { RecentHistory } from '../services/api/src/routes/recent.schemas';
import { type ApiFixture, startApi } from './support/api-fixture';
import { appendLive, liveMessage, seedHistory } from './support/live-events';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { SseRecorder, openRaw, rawEvents } from './support/sse-client';
import { waitFor } from './support/wait-for';

let redisServer: PrivateRedis;
let redis: Redis;
let log: EventLog;
let api: ApiFixture;
let base: string;

const SESSION = 'desk';
const CHATS = 6;
const PER_CHAT = 8;
let chatIds: string[];

beforeAll(async () => {
  redisServer = await startRedis();
  redis = createRedis(redisServer.url, { disconnectTimeout: 100 });
  log = new EventLog(redis);
  api = await startApi(redisServer.url, { sseHeartbeatMs: 50 });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  chatIds = await seedHistory(api.store, SESSION, CHATS, PER_CHAT);
  // A chat whose activity is older than any window asked for below.
  const longAgo = new Date(Date.now() - 30 * 86_400_000).toISOString();
  await api.store.upsertChats(SESSION, [{ id: 'old@c.us', name: 'Old', isGroup: false, unreadCount: 0, lastMessageAt: longAgo }]);
  const { sessionId: _, ...oldMessage } = liveMessage(SESSION, 'old@c.us', 1, longAgo);
  await api.store.upsertMessages(SESSION, 'old@c.us', [oldMessage]);
});

afterAll(async () => {
  await api?.close();
  redis?.disconnect();
  await redisServer?.stop();
});

function eventsUrl(sessionId: string, query = ''): string {
  return `${base}/whatsapp-web/session/${sessionId}/events${query ? `?${query}` : ''}`;
}

const liveBodies = (sse: SseRecorder) => sse.of('message:new').map((e) => e.data.body as string);

describe('GET …/events (desktop bootstrap)', () => {
  it('sends connected, sync:initial, one message:sync per message, sync:complete at the log head, then live events with ids', async () => {
    const [before] = await appendLive(log, SESSION, 0, 1);
    const sse = new SseRecorder(eventsUrl(SESSION, 'deviceType=desktop&days=7&limit=5'));
    await sse.waitFor('sync:complete', () => sse.of('sync:complete').length);
    const names = sse.events.map((e) => e.event);
    expect(names[0]).toBe('connected');
    expect(names[1]).toBe('sync:initial');
    expect(names.slice(2, 2 + CHATS * 5)).toEqual(Array(CHATS * 5).fill('message:sync'));
    expect(names[2 + CHATS * 5]).toBe('sync:complete');
    expect(sse.of('connected')[0].data).toEqual({ sessionId: SESSION, deviceType: 'desktop' });

    const initial = sse.of('sync:initial')[0].data;
    expect(initial.days).toBe(7);
    expect(initial.limit).toBe(5);
    expect(initial.conversations.map((c: { conversationId: string }) => c.conversationId)).toEqual(chatIds);
    expect(initial.conversations[0]).toEqual({ conversationId: chatIds[0], name: 'Chat 0', lastMessageAt: expect.any(String), messageCount: 5 });
    // Newest conversation first, each conversation's last 5 messages oldest first.
    const synced = sse.of('message:sync').map((e) => e.data);
    expect(synced.slice(0, 5).map((m) => m.id)).toEqual([3, 4, 5, 6, 7].map((m) => `false_${chatIds[0]}_M0000${m}`));
    expect(synced[0]).toEqual(expect.objectContaining({ chatId: chatIds[0], body: 'chat 0 message 3', fromMe: true, ack: 2 }));
    expect(new Set(synced.map((m) => m.chatId))).toEqual(new Set(chatIds));

    const complete = sse.of('sync:complete')[0];
    expect(complete.data).toEqual({ count: CHATS * 5 });
    expect(complete.lastEventId).toBe(before);
    // Events logged before the bootstrap are in it (as state), not sent again.
    expect(sse.of('message:new')).toEqual([]);

    const ids = await appendLive(log, SESSION, 1, 4);
    await sse.waitFor('live events', () => sse.of('message:new').length === 3);
    expect(sse.of('message:new').map((e) => e.lastEventId)).toEqual(ids);
    expect(liveBodies(sse)).toEqual(['live #1', 'live #2', 'live #3']);
    sse.close();
  });

  it('misses no event logged while a large bootstrap is written, and sends none twice', async () => {
    const s = 'desk-busy';
    await seedHistory(api.store, s, 120, 50);
    await appendLive(log, s, 0, 5);
    const sse = new SseRecorder(eventsUrl(s, 'limit=50'));
    await waitFor('the stream to open', () => sse.events.length > 0);
    const during = await appendLive(log, s, 5, 305);
    await sse.waitFor('sync:complete', () => sse.of('sync:complete').length);
    await sse.waitFor('every live event', () => liveBodies(sse).at(-1) === 'live #304');
    const head = sse.of('sync:complete')[0].lastEventId;
    const all = (await log.tail(s, 1000)).filter((e) => e.event === 'message:new');
    const expected = all.filter((e) => compareEventIds(e.id, head) > 0).map((e) => e.id);
    expect(sse.of('message:new').map((e) => e.lastEventId)).toEqual(expected);
    expect(expected.slice(-during.length)).toEqual(during);
    expect(sse.of('message:sync')).toHaveLength(120 * 50);
    sse.close();
  });

  it('gives a mobile client no bootstrap, only live events', async () => {
    const sse = new SseRecorder(eventsUrl(SESSION, 'deviceType=mobile'));
    await sse.waitFor('connected', () => sse.of('connected').length);
    const ids = await appendLive(log, SESSION, 10, 12);
    await sse.waitFor('live events', () => sse.of('message:new').length === 2);
    expect(sse.events.map((e) => e.event)).toEqual(['connected', 'message:new', 'message:new']);
    expect(sse.of('message:new').map((e) => e.lastEventId)).toEqual(ids);
    sse.close();
  });

  it('replays after Last-Event-ID (header or query) without a bootstrap, skipping garbage entries', async () => {
    const s = 'desk-resume';
    await seedHistory(api.store, s, 2, 3);
    const ids = await appendLive(log, s, 0, 3);
    await redis.xadd(Keys.eventLog(s), '*', 'e', '{"not":"an event"}');
    const more = await appendLive(log, s, 3, 5);
    for (const [name, sse] of [
      ['header', new SseRecorder(eventsUrl(s), { 'Last-Event-ID': ids[0] })],
      ['query', new SseRecorder(eventsUrl(s, `lastEventId=${ids[0]}`))],
    ] as const) {
      await sse.waitFor(`the replay by ${name}`, () => sse.of('message:new').length === 4);
      expect(sse.events.map((e) => e.event)).toEqual(['connected', 'message:new', 'message:new', 'message:new', 'message:new']);
      expect(sse.of('message:new').map((e) => e.lastEventId)).toEqual([...ids.slice(1), ...more]);
      sse.close();
    }
  });

  it('bootstraps again when the log no longer holds Last-Event-ID', async () => {
    const s = 'desk-trimmed';
    await seedHistory(api.store, s, 2, 3);
    const ids = await appendLive(log, s, 0, 10);
    await redis.xtrim(Keys.eventLog(s), 'MAXLEN', 2);
    const sse = new SseRecorder(eventsUrl(s, 'limit=3'), { 'Last-Event-ID': ids[1] });
    await sse.waitFor('sync:complete', () => sse.of('sync:complete').length);
    expect(sse.of('message:sync')).toHaveLength(6);
    expect(sse.of('sync:complete')[0].lastEventId).toBe(ids[9]);
    expect(sse.of('message:new')).toEqual([]);
    sse.close();
  });

  it('answers a bad query or Last-Event-ID with a 400 in the error shape', async () => {
    for (const [query, headers] of [
      ['deviceType=tv', {}],
      ['limit=101', {}],
      ['days=91', {}],
      ['lastEventId=yesterday', {}],
      ['', { 'last-event-id': 'nope' }],
    ] as const) {
      const res = await api.app.inject({ url: `/whatsapp-web/session/${SESSION}/events?${query}`, headers });
      expect({ query, status: res.statusCode }).toEqual({ query, status: 400 });
      expect(ErrorBody.parse(res.json()).error.code).toBe('bad_request');
    }
  });

  it('writes a comment heartbeat, and ids only on logged events and sync:complete', async () => {
    const raw = await openRaw(eventsUrl(SESSION, 'limit=1'));
    expect(raw.res.statusCode).toBe(200);
    expect(raw.res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(raw.res.headers['cache-control']).toMatch(/no-cache/);
    await waitFor('two heartbeats', () => raw.text().split(': heartbeat\n\n').length > 2);
    const [id] = await appendLive(log, SESSION, 20, 21);
    await waitFor('the live event', () => raw.text().includes(`id: ${id}\n`));
    const events = rawEvents(raw.text());
    expect(events.filter((e) => e.id).map((e) => e.event)).toEqual(['sync:complete', 'message:new']);
    raw.close();
  });

  it('sends sync:error when the bootstrap fails, and the live events still follow', async () => {
    const broken = await startApi(redisServer.url);
    await broken.app.listen({ port: 0, host: '127.0.0.1' });
    await broken.store.close();
    const url = `http://127.0.0.1:${(broken.app.server.address() as AddressInfo).port}/whatsapp-web/session/${SESSION}/events`;
    const sse = new SseRecorder(url);
    await sse.waitFor('sync:error', () => sse.of('sync:error').length);
    expect(sse.of('sync:error')[0].data).toEqual({ message: expect.any(String) });
    const [id] = await appendLive(log, SESSION, 30, 31);
    await sse.waitFor('a live event', () => sse.of('message:new').length);
    expect(sse.of('message:new')[0].lastEventId).toBe(id);
    expect(sse.of('sync:complete')).toEqual([]);
    sse.close();
    await broken.close().catch(() => undefined);
  });

  it('drops a client that does not read once its buffer passes the cap, with a warning; others go on', async () => {
    const capped = await startApi(redisServer.url, { streamMaxBufferedBytes: 256 * 1024 });
    await capped.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (capped.app.server.address() as AddressInfo).port;
    const s = 'desk-slow';
    const hub = sseHubOf(capped.app)!;
    // A client that sends its request and then never reads a byte.
    const stuck = connect(port, '127.0.0.1');
    stuck.write(`GET /whatsapp-web/session/${s}/events?deviceType=mobile HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    stuck.pause();
    const reader = new SseRecorder(`http://127.0.0.1:${port}/whatsapp-web/session/${s}/events?deviceType=mobile`);
    await waitFor('both streams', () => hub.size === 2);
    await reader.waitFor('connected', () => reader.of('connected').length);
    // Loopback socket buffers take several MB before the server's own buffer grows.
    const big = 'x'.repeat(32 * 1024);
    for (let k = 0; k < 1000 && hub.size === 2; k++) await log.append(s, 'message:new', { ...liveMessage(s, 'c1@c.us', k), body: big });
    await waitFor('the stuck client to be dropped', () => hub.size === 1);
    expect(capped.logs.some((l) => l.includes('event stream too slow: dropped'))).toBe(true);
    const [id] = await appendLive(log, s, 1000, 1001);
    await reader.waitFor('the reader to get everything', () => reader.of('message:new').some((e) => e.lastEventId === id));
    reader.close();
    stuck.destroy();
    await capped.close();
  });
});

describe('API key on the events stream', () => {
  const KEY = 'sse-secret-key';
  let guarded: ApiFixture;
  let url: string;

  beforeAll(async () => {
    guarded = await startApi(redisServer.url, { apiKey: KEY });
    await guarded.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(guarded.app.server.address() as AddressInfo).port}/whatsapp-web/session/${SESSION}/events?deviceType=mobile`;
  });
  afterAll(() => guarded?.close());

  it('takes the key as a Bearer header or ?token=, refuses without it, and never logs it', async () => {
    const refused = await fetch(url);
    expect(refused.status).toBe(401);
    expect(ErrorBody.parse(await refused.json()).error.message).toMatch(/token/);
    for (const sse of [new SseRecorder(`${url}&token=${KEY}`), new SseRecorder(url, { authorization: `Bearer ${KEY}` })]) {
      await sse.waitFor('connected', () => sse.of('connected').length);
      sse.close();
    }
    expect(guarded.logs.join('\n')).not.toContain(KEY);
    expect(guarded.logs.some((l) => l.includes('token=[redacted]'))).toBe(true);
  });
});

describe('GET …/messages/recent', () => {
  const url = (query: string) => `/whatsapp-web/session/${SESSION}/messages/recent${query}`;

  it('answers in the seed shape by default: newest conversation first, its last messages oldest first', async () => {
    const res = await api.app.inject({ url: url('') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(RecentHistory.parse(body)).toEqual(body);
    expect(Object.keys(body)).toEqual(['success', 'conversations', 'count', 'messageCount']);
    expect(body.success).toBe(true);
    // The old chat is outside the default 7 days; live messages were only logged, not stored.
    expect(body.conversations.map((c: { conversationId: string }) => c.conversationId)).toEqual(chatIds);
    expect(body.count).toBe(CHATS);
    expect(body.messageCount).toBe(CHATS * PER_CHAT);
    const first = body.conversations[0];
    expect(Object.keys(first)).toEqual(['conversationId', 'messages', 'lastMessageAt']);
    expect(first.messages.map((m: { body: string }) => m.body)).toEqual(Array.from({ length: PER_CHAT }, (_, m) => `chat 0 message ${m}`));
    expect(Object.keys(first.messages[0]).sort()).toEqual(['ack', 'author', 'body', 'chatId', 'fromMe', 'hasMedia', 'id', 'timestamp', 'type']);

    const narrow = (await api.app.inject({ url: url('?limit=2&days=90') })).json();
    expect(narrow.count).toBe(CHATS + 1);
    expect(narrow.conversations.at(-1).conversationId).toBe('old@c.us');
    expect(narrow.conversations[0].messages.map((m: { body: string }) => m.body)).toEqual(['chat 0 message 6', 'chat 0 message 7']);
  });

  it('answers limit=101, limit=0, days=0 and days=91 with a 400 in the error shape, and an unknown session with a 404', async () => {
    for (const query of ['?limit=101', '?limit=0', '?days=0', '?days=91', '?limit=abc']) {
      const res = await api.app.inject({ url: url(query) });
      expect({ query, status: res.statusCode }).toEqual({ query, status: 400 });
      expect(ErrorBody.parse(res.json()).error.message).toMatch(/query\.(limit|days)/);
    }
    expect((await api.app.inject({ url: url('?limit=100&days=1') })).statusCode).toBe(200);
    const missing = await api.app.inject({ url: '/whatsapp-web/session/nobody/messages/recent' });
    expect(missing.statusCode).toBe(404);
    expect(ErrorBody.parse(missing.json()).error.code).toBe('session_not_found');
  });

  it('is compressed with br or gzip when the client accepts it, and identical once decoded', async () => {
    const plain = await api.app.inject({ url: url('') });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const br = await api.app.inject({ url: url(''), headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString())).toEqual(plain.json());
    const gz = await api.app.inject({ url: url(''), headers: { 'accept-encoding': 'gzip;q=1, br;q=0' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString())).toEqual(plain.json());
    expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length);
    const identity = await api.app.inject({ url: url(''), headers: { 'accept-encoding': 'identity' } });
    expect(identity.headers['content-encoding']).toBeUndefined();
  });
});
