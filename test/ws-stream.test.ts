/**
 * The WebSocket as a client sees it (issue 9 items 4 and 12 "Edges", issue 13): resume with
 * `since`, `unknown-event` for any name, garbage on the event channel and in the log, frame
 * size, heartbeat and Origin limits. The API in-process on a real port, a private Redis, live
 * traffic produced with `EventLog.append` as the runner and workers do.
 */
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { Keys } from '@wa-sync/shared/contracts';
import { EventLog, type Redis, createRedis } from '@wa-sync/shared/runtime';
import { type ApiFixture, startApi } from './support/api-fixture';
import { appendLive } from './support/live-events';
import { openRaw } from './support/sse-client';
import { TcpProxy } from './support/tcp-proxy';
import { holdSqliteLock } from './support/store-lock';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';
import { type Frame, WsClient } from './support/ws-client';

let redisServer: PrivateRedis;
let redis: Redis;
let log: EventLog;
let api: ApiFixture;
let wsUrl: string;

beforeAll(async () => {
  redisServer = await startRedis();
  redis = createRedis(redisServer.url, { disconnectTimeout: 100 });
  log = new EventLog(redis);
  api = await startApi(redisServer.url);
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  wsUrl = `ws://127.0.0.1:${(api.app.server.address() as AddressInfo).port}/ws`;
});

afterAll(async () => {
  await api?.close();
  redis?.disconnect();
  await redisServer?.stop();
});

/** Bodies (`live #k`) of the `message:new` frames a client got, in order. */
function bodies(frames: Frame[]): string[] {
  return frames.filter((f) => f.event === 'message:new').map((f) => (f.data as { body: string }).body);
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `live #${from + i}`);
}

async function joined(ws: WsClient, data: Record<string, unknown>) {
  const before = ws.of('joined').length;
  ws.send('join-session', data);
  await waitFor('joined', () => ws.of('joined').length > before);
  return ws.of('joined')[before];
}

describe('resume with since', () => {
  it('carries the log id on live frames, and replays what was missed after since, in order, then goes live', async () => {
    const s = 'resume-basic';
    const ids = await appendLive(log, s, 0, 5);
    const ws = await WsClient.connect(wsUrl);
    expect(await joined(ws, { sessionId: s, since: ids[1] })).toMatchObject({ sessionId: s, resumed: true });
    await waitFor('the replay', () => bodies(ws.frames).length >= 3);
    const more = await appendLive(log, s, 5, 8);
    await waitFor('live frames', () => bodies(ws.frames).length >= 6);
    expect(bodies(ws.frames)).toEqual(range(2, 8));
    expect(ws.frames.filter((f) => f.event === 'message:new').map((f) => f.id)).toEqual([...ids.slice(2), ...more]);
    // A join without since: no replay, no `resumed`.
    const plain = await WsClient.connect(wsUrl);
    expect(await joined(plain, { sessionId: s })).not.toHaveProperty('resumed');
    const next = await appendLive(log, s, 8, 9);
    await waitFor('a live frame', () => bodies(plain.frames).length === 1);
    expect(plain.frames.at(-1)).toMatchObject({ event: 'message:new', id: next[0] });
    ws.close();
    plain.close();
  });

  it('loses nothing and repeats nothing when events keep arriving during the join', async () => {
    const s = 'resume-race';
    const first = await appendLive(log, s, 0, 50);
    const ws = await WsClient.connect(wsUrl);
    // 400 more events are appended while the join replays: each must arrive once, in log order.
    const traffic = appendLive(log, s, 50, 450);
    ws.send('join-session', { sessionId: s, since: first[9] });
    const rest = await traffic;
    await waitFor('every event', () => bodies(ws.frames).length >= 440, 20_000, () => `got ${bodies(ws.frames).length}`);
    await new Promise((r) => setTimeout(r, 100));
    expect(bodies(ws.frames)).toEqual(range(10, 450));
    const ids = ws.frames.filter((f) => f.event === 'message:new').map((f) => f.id);
    expect(ids).toEqual([...first.slice(10), ...rest]);
    expect(ws.of('joined')[0].resumed).toBe(true);
    ws.close();
  });

  it('says resumed: false when the log no longer holds since, and then only sends what is new', async () => {
    const s = 'resume-trimmed';
    const ids = await appendLive(log, s, 0, 20);
    await redis.xtrim(Keys.eventLog(s), 'MAXLEN', 5);
    const ws = await WsClient.connect(wsUrl);
    expect(await joined(ws, { sessionId: s, since: ids[2] })).toMatchObject({ resumed: false });
    await appendLive(log, s, 20, 22);
    await waitFor('live frames', () => bodies(ws.frames).length >= 2);
    expect(bodies(ws.frames)).toEqual(range(20, 22));
    // A session with no log at all (Redis lost it): the same.
    expect(await joined(ws, { sessionId: 'never-logged', since: '1700000000000-0' })).toMatchObject({ resumed: false });
    // The id where the log starts is still held: everything after it is replayed.
    const kept = await log.tail(s, 7);
    const again = await WsClient.connect(wsUrl);
    expect(await joined(again, { sessionId: s, since: kept[0].id })).toMatchObject({ resumed: true });
    await waitFor('the replay', () => bodies(again.frames).length >= 6);
    expect(bodies(again.frames)).toEqual(range(16, 22));
    ws.close();
    again.close();
  });
});

describe('a join while the session changes', () => {
  it('sends joined before any live event: a QR announced while the join reads its snapshot stays on screen', async () => {
    // The second API's command connection (the join's snapshot reads) goes through a proxy that
    // can stall; its bus subscription does not.
    const proxy = await TcpProxy.open({ host: '127.0.0.1', port: Number(new URL(redisServer.url).port) });
    const slow = await startApi({ commands: proxy.url(redisServer.url), bus: redisServer.url, commandTimeoutMs: 10_000 });
    await slow.app.listen({ port: 0, host: '127.0.0.1' });
    const s = 'join-slow-read';
    const ws = await WsClient.connect(`ws://127.0.0.1:${(slow.app.server.address() as AddressInfo).port}/ws`);
    try {
      proxy.pause();
      ws.send('join-session', { sessionId: s });
      await waitFor('the join to be registered', () => [...slow.hub.sessions()].includes(s));
      // Meanwhile the runner shows a QR, as SessionStatusReporter.qr announces it.
      const qrDataUrl = 'data:image/png;base64,QUJD';
      await redis.hset(Keys.sessionLive(s), { qr: 'code-1', qrDataUrl });
      await log.append(s, 'status', { sessionId: s, status: 'qr', detail: null });
      await log.append(s, 'qr', { sessionId: s, qr: 'code-1', qrDataUrl });
      // Time for the bus to bring both events.
      await new Promise((r) => setTimeout(r, 100));
      proxy.resume();
      await waitFor('joined and both events', () => ws.frames.length >= 3);
      await new Promise((r) => setTimeout(r, 100));
      expect(ws.frames.map((f) => f.event)).toEqual(['joined', 'status', 'qr']);
      // A client applies frames in order: it ends on the QR, whatever the snapshot said.
      let screen: { status?: unknown; qrDataUrl?: unknown } = {};
      for (const f of ws.frames) {
        const data = f.data as { status?: string; qrDataUrl?: string };
        if (f.event === 'joined') screen = { status: data.status, qrDataUrl: data.status === 'qr' ? data.qrDataUrl : undefined };
        if (f.event === 'status') screen = { status: data.status, qrDataUrl: data.status === 'qr' ? screen.qrDataUrl : undefined };
        if (f.event === 'qr') screen = { status: 'qr', qrDataUrl: data.qrDataUrl };
      }
      expect(screen).toEqual({ status: 'qr', qrDataUrl });
    } finally {
      ws.close();
      proxy.resume();
      await slow.close();
      await proxy.stop();
    }
  });

  it('answers a join whose reads find Redis unreachable with unavailable, as REST does, and joins once Redis is back', async () => {
    // The API's command connection (500 ms timeout, as in production) goes through a proxy that is cut.
    const proxy = await TcpProxy.open({ host: '127.0.0.1', port: Number(new URL(redisServer.url).port) });
    const cut = await startApi({ commands: proxy.url(redisServer.url), bus: redisServer.url });
    await cut.app.listen({ port: 0, host: '127.0.0.1' });
    const s = 'join-redis-down';
    const ws = await WsClient.connect(`ws://127.0.0.1:${(cut.app.server.address() as AddressInfo).port}/ws`);
    try {
      await proxy.stop();
      ws.send('join-session', { sessionId: s });
      await waitFor('an error frame', () => ws.of('error').length === 1, 10_000);
      expect(ws.of('error')[0]).toEqual({ code: 'unavailable', message: 'Redis is unreachable; retry later' });
      expect(ws.of('joined')).toEqual([]);
      // A warning, not an error with a stack: Redis being down is not the API's fault.
      expect(cut.logs.filter((l) => l.includes('"level":50'))).toEqual([]);
      expect(cut.logs.some((l) => l.includes('websocket frame: dependency unavailable'))).toBe(true);
      // The failed join left its room: nothing is held for the socket.
      expect([...cut.hub.sessions()]).not.toContain(s);

      await proxy.start();
      await waitFor('joined once Redis is back', async () => {
        if (ws.of('joined').length === 0) ws.send('join-session', { sessionId: s });
        await new Promise((r) => setTimeout(r, 200));
        return ws.of('joined').length >= 1;
      }, 20_000);
      const id = await log.append(s, 'status', { sessionId: s, status: 'ready', detail: 'back' });
      await waitFor('the live event', () => ws.of('status').length === 1, 10_000);
      expect(ws.frames.filter((f) => f.event === 'status').map((f) => f.id)).toEqual([id]);
    } finally {
      ws.close();
      await cut.close();
      await proxy.stop();
    }
  });
});

describe('bad frames', () => {
  it('answers unknown-event for any unknown name, prototype names included, and keeps the socket open', async () => {
    const ws = await WsClient.connect(wsUrl);
    const names = ['dance', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', ''];
    for (const name of names) ws.send(name, { sessionId: 'x' });
    await waitFor('an error per frame', () => ws.of('error').length >= names.length);
    expect(ws.of('error').map((e) => e.code)).toEqual(names.map(() => 'unknown-event'));
    ws.sendRaw('not json');
    ws.sendRaw('[1,2]');
    ws.send('join-session', { sessionId: 'ok', since: 'yesterday' });
    ws.send('join-session', { sessionId: '../etc' });
    await waitFor('four more errors', () => ws.of('error').length >= names.length + 4);
    expect(ws.of('error').slice(names.length).map((e) => e.code)).toEqual(['bad_frame', 'bad_frame', 'bad_request', 'bad_request']);
    expect(ws.of('error').find((e) => e.message.includes('since'))).toBeDefined();
    expect(await joined(ws, { sessionId: 'ok' })).toMatchObject({ sessionId: 'ok', status: null });
    expect(api.logs.some((l) => l.includes('"level":50'))).toBe(false);
    ws.close();
  });
});

describe('garbage in the event channel and the log', () => {
  it('skips malformed channel messages with a warning; later events still flow', async () => {
    const s = 'garbage-channel';
    const ws = await WsClient.connect(wsUrl);
    await joined(ws, { sessionId: s });
    const garbage = [
      'not json',
      '',
      'null',
      '[]',
      '{"v":1}',
      JSON.stringify({ v: 2, sessionId: s, event: 'message:new', data: {}, id: '1-0' }),
      JSON.stringify({ v: 1, sessionId: s, event: '__proto__', data: {}, id: '1-0' }),
      JSON.stringify({ v: 1, sessionId: s, event: 'message:new', data: { sessionId: s }, id: '1-0' }),
      JSON.stringify({ v: 1, sessionId: s, event: 'ready', data: { sessionId: s } }),
      '{"__proto__":{"polluted":true},"v":1}',
      '{'.repeat(10_000),
    ];
    for (const g of garbage) await redis.publish(Keys.eventsChannel, g);
    const [id] = await appendLive(log, s, 1, 2);
    await waitFor('the next event', () => bodies(ws.frames).length === 1);
    expect(ws.frames.filter((f) => f.event !== 'joined')).toEqual([{ event: 'message:new', data: expect.objectContaining({ body: 'live #1' }), id }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const warnings = api.logs.filter((l) => l.includes('skipped an event'));
    expect(warnings.length).toBeGreaterThanOrEqual(garbage.length);
    expect((await api.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    ws.close();
  });

  it('skips malformed log entries on replay with a warning and replays the rest', async () => {
    const s = 'garbage-log';
    const [before] = await appendLive(log, s, 0, 1);
    const key = Keys.eventLog(s);
    await redis.xadd(key, '*', 'e', 'not json');
    await redis.xadd(key, '*', 'x', 'y');
    await redis.xadd(key, '*', 'a', 'e', 'b', 'c');
    await redis.xadd(key, '*', 'e', JSON.stringify({ v: 1, sessionId: s, event: 'message:new', data: { nope: 1 } }));
    await redis.xadd(key, '*', 'e', JSON.stringify({ v: 1, sessionId: 'someone-else', event: 'ready', data: { sessionId: 'someone-else' } }));
    const after = await appendLive(log, s, 1, 3);
    const ws = await WsClient.connect(wsUrl);
    expect(await joined(ws, { sessionId: s, since: before })).toMatchObject({ resumed: true });
    await waitFor('the replay', () => bodies(ws.frames).length >= 2);
    const more = await appendLive(log, s, 3, 4);
    await waitFor('a live frame', () => bodies(ws.frames).length >= 3);
    expect(ws.frames.filter((f) => f.event === 'message:new').map((f) => f.id)).toEqual([...after, ...more]);
    expect(api.logs.filter((l) => l.includes('skipped')).length).toBeGreaterThanOrEqual(4);
    ws.close();
  });
});

describe('a lost event subscription', () => {
  it('delivers what was published while the subscriber reconnected, from the log, once and in order', async () => {
    const s = 'gap-fill';
    const ws = await WsClient.connect(wsUrl);
    await joined(ws, { sessionId: s });
    const sse = await openRaw(`${wsUrl.replace('ws://', 'http://').replace('/ws', '')}/whatsapp-web/session/${s}/events?deviceType=mobile`);
    const sseIds = () => [...sse.text().matchAll(/^id: (\S+)\nevent: message:new$/gm)].map((m) => m[1]);
    const ids = await appendLive(log, s, 0, 1);
    await waitFor('the first event', () => bodies(ws.frames).length === 1 && sseIds().length === 1);
    // Redis drops the API's subscriber connection; events keep being logged until it is back.
    const logged = api.logs.length;
    await redis.client('KILL', 'TYPE', 'pubsub');
    for (let k = 1; !api.logs.slice(logged).some((l) => l.includes('event subscription back')); k++) {
      ids.push(...(await appendLive(log, s, k, k + 1)));
      if (k > 5000) throw new Error('the subscriber never came back');
    }
    const k = ids.length;
    ids.push(...(await appendLive(log, s, k, k + 5)));
    await waitFor('every event', () => ws.frames.some((f) => f.id === ids.at(-1)) && sseIds().includes(ids.at(-1)!), 10_000);
    await new Promise((r) => setTimeout(r, 100));
    console.log(`gap fill: ${ids.length - 6} events logged while the subscriber was away`);
    expect(ws.frames.filter((f) => f.event === 'message:new').map((f) => f.id)).toEqual(ids);
    expect(sseIds()).toEqual(ids);
    ws.close();
    sse.close();
  });
});

describe('limits', () => {
  it('closes a socket that sends a 1 MB frame with 1009; the API and other sockets carry on', async () => {
    const other = await WsClient.connect(wsUrl);
    await joined(other, { sessionId: 'big-frame' });
    const rssBefore = process.memoryUsage().rss;
    const ws = await WsClient.connect(wsUrl);
    const closed = new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)));
    ws.sendRaw(JSON.stringify({ event: 'join-session', data: { sessionId: 'x'.repeat(1024 * 1024) } }));
    expect(await closed).toBe(1009);
    console.log(`RSS after a 1 MB frame: ${((process.memoryUsage().rss - rssBefore) / 1024).toFixed(0)} KiB more (test process: API and client)`);
    // Just under the limit is a frame like any other (a 400-like error, the socket stays).
    other.sendRaw(JSON.stringify({ event: 'join-session', data: { sessionId: 'y'.repeat(60 * 1024) } }));
    await other.waitFor('error', (e) => e.code === 'bad_request', 5_000);
    const [id] = await appendLive(log, 'big-frame', 0, 1);
    await waitFor('a live frame', () => other.frames.some((f) => f.id === id));
    expect((await api.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    other.close();
  });

  it('drops a socket that stops answering pings, and keeps one that answers', async () => {
    // Its own API with a short ping interval (30 s in production); wide enough for a busy test machine.
    const pinging = await startApi(redisServer.url, { wsPingIntervalMs: 250 });
    await pinging.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(pinging.app.server.address() as AddressInfo).port}/ws`;
    const alive = await WsClient.connect(url);
    const deaf = await WsClient.connect(url, { autoPong: false });
    let pings = 0;
    deaf.socket.on('ping', () => pings++);
    const closed = new Promise<number>((resolve) => deaf.socket.once('close', (code) => resolve(code)));
    // Terminated, not closed: a peer that answers no ping would not answer a close frame either.
    expect(await closed).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    expect(await joined(alive, { sessionId: 'still-here' })).toMatchObject({ sessionId: 'still-here' });
    expect(pinging.logs.some((l) => l.includes('missed two pongs'))).toBe(true);
    alive.close();
    await pinging.close();
  });
});

describe('origins', () => {
  let guarded: ApiFixture;
  let port: number;
  const ALLOWED = 'https://app.example.com';
  const KEY = 'origin-key';

  beforeAll(async () => {
    guarded = await startApi(redisServer.url, { corsOrigins: [ALLOWED, 'http://localhost:5173'], apiKey: KEY });
    await guarded.app.listen({ port: 0, host: '127.0.0.1' });
    port = (guarded.app.server.address() as AddressInfo).port;
  });
  afterAll(() => guarded?.close());

  function upgradeStatus(origin?: string): Promise<number> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${KEY}`, origin ? { origin } : {});
    return new Promise((resolve) => {
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
  }

  it('refuses a WebSocket from a foreign Origin at the upgrade, accepts allowed, same-origin and non-browser clients', async () => {
    expect(await upgradeStatus('https://evil.example')).toBe(403);
    expect(await upgradeStatus('null')).toBe(403);
    expect(await upgradeStatus(ALLOWED)).toBe(101);
    expect(await upgradeStatus(`http://127.0.0.1:${port}`)).toBe(101);
    expect(await upgradeStatus()).toBe(101);
  });

  it('sends CORS headers to allowed origins only, and answers preflights without the key', async () => {
    const allowed = await guarded.app.inject({ url: '/whatsapp-web/sessions', headers: { origin: ALLOWED, authorization: `Bearer ${KEY}` } });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED);
    const foreign = await guarded.app.inject({ url: '/whatsapp-web/sessions', headers: { origin: 'https://evil.example', authorization: `Bearer ${KEY}` } });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await guarded.app.inject({
      method: 'OPTIONS',
      url: '/whatsapp-web/session/x/sync-chats',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    // A 401 is readable by the allowed page too, so it can tell the user the key is wrong.
    const denied = await guarded.app.inject({ url: '/whatsapp-web/sessions', headers: { origin: ALLOWED } });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe(ALLOWED);
    // The SSE stream too (its reply is written by hand, the CORS headers must survive that).
    const stream = await openRaw(`http://127.0.0.1:${port}/whatsapp-web/session/x/events?deviceType=mobile&token=${KEY}`, { origin: ALLOWED });
    expect(stream.res.statusCode).toBe(200);
    expect(stream.res.headers['access-control-allow-origin']).toBe(ALLOWED);
    stream.close();
    // Without CORS_ORIGINS: no CORS headers at all (same origin only).
    const plain = await api.app.inject({ url: '/whatsapp-web/sessions', headers: { origin: ALLOWED } });
    expect(plain.headers['access-control-allow-origin']).toBeUndefined();
  });
});
