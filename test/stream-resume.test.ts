/**
 * Issue 9's "Done when" for streams: a WebSocket client and a standard EventSource client (the
 * `eventsource` package, not a parser of ours) lose their network for 5 s in the middle of live
 * traffic, come back and resume (`since` / `Last-Event-ID`): each receives every event it missed,
 * in log order, exactly once. The outage is a TCP proxy that kills and refuses connections.
 */
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { type BusEnvelope } from '@wa-sync/shared/contracts';
import { EventLog, type Redis, createRedis } from '@wa-sync/shared/runtime';
import { type ApiFixture, startApi } from './support/api-fixture';
import { TcpProxy } from './support/tcp-proxy';
import { liveMessage, seedHistory } from './support/live-events';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { SseRecorder } from './support/sse-client';
import { waitFor } from './support/wait-for';

const SESSION = 'resume-e2e';
const OUTAGE_MS = 5_000;

let redisServer: PrivateRedis;
let redis: Redis;
let log: EventLog;
let api: ApiFixture;
let proxy: TcpProxy;

beforeAll(async () => {
  redisServer = await startRedis();
  redis = createRedis(redisServer.url, { disconnectTimeout: 100 });
  log = new EventLog(redis);
  api = await startApi(redisServer.url);
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  proxy = await TcpProxy.open({ host: '127.0.0.1', port: (api.app.server.address() as AddressInfo).port });
  await seedHistory(api.store, SESSION, 3, 4);
});

afterAll(async () => {
  await proxy?.stop();
  await api?.close();
  redis?.disconnect();
  await redisServer?.stop();
});

/** A frontend's socket: on a drop it reconnects and joins again with `since` = the last id it got. */
class ResumingSocket {
  readonly logged: { event: string; id: string }[] = [];
  readonly joins: { resumed?: boolean }[] = [];
  connections = 0;
  private socket: WebSocket | null = null;
  private stopped = false;

  constructor(private readonly url: string) {}

  start(): void {
    if (this.stopped) return;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.on('open', () => {
      this.connections++;
      const since = this.logged.at(-1)?.id;
      socket.send(JSON.stringify({ event: 'join-session', data: { sessionId: SESSION, ...(since ? { since } : {}) } }));
    });
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { event: string; data: { resumed?: boolean }; id?: string };
      if (frame.event === 'joined') this.joins.push(frame.data);
      else if (frame.id) this.logged.push({ event: frame.event, id: frame.id });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => setTimeout(() => this.start(), 200));
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close();
  }
}

/** Live traffic as the runner makes it: new messages, acks and edits, one every few ms. */
async function traffic(untilMs: number): Promise<string[]> {
  const ids: string[] = [];
  const end = Date.now() + untilMs;
  for (let k = 0; Date.now() < end; k++) {
    const m = liveMessage(SESSION, `${1000 + (k % 3)}@c.us`, k);
    ids.push(await log.append(SESSION, 'message:new', m));
    if (k % 5 === 4) ids.push(await log.append(SESSION, 'message:status', { sessionId: SESSION, chatId: m.chatId, id: m.id, ack: 3 }));
    if (k % 7 === 6) ids.push(await log.append(SESSION, 'message:edit', { sessionId: SESSION, chatId: m.chatId, id: m.id, body: `edited #${k}`, editedAt: new Date().toISOString() }));
    await new Promise((r) => setTimeout(r, 10));
  }
  return ids;
}

it('a WebSocket and an EventSource cut off for 5 s during live traffic get every missed event, in order, once', async () => {
  const wsUrl = `ws://127.0.0.1:${proxy.port}/ws`;
  const sse = new SseRecorder(`http://127.0.0.1:${proxy.port}/whatsapp-web/session/${SESSION}/events?deviceType=desktop&limit=4`);
  const ws = new ResumingSocket(wsUrl);
  ws.start();
  await sse.waitFor('the bootstrap', () => sse.of('sync:complete').length);
  await waitFor('the socket to join', () => ws.joins.length === 1);

  const sent = traffic(1_500 + OUTAGE_MS + 2_500);
  await new Promise((r) => setTimeout(r, 1_500));
  const beforeCut = { ws: ws.logged.length, sse: sse.events.length };
  await proxy.stop(); // the cable is pulled: open connections cut, new ones refused
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const duringCut = { ws: ws.logged.length, sse: sse.events.length };
  await proxy.start();
  const ids = await sent;

  await waitFor('the socket to catch up', () => ws.logged.at(-1)?.id === ids.at(-1), 30_000, () => `${ws.logged.length} of ${ids.length}`);
  await sse.waitFor('the stream to catch up', () => sse.events.at(-1)?.lastEventId === ids.at(-1));
  await new Promise((r) => setTimeout(r, 200));
  console.log(
    `resume e2e: ${ids.length} events; ws ${beforeCut.ws} before the cut, ${ws.connections} connections; ` +
      `sse ${beforeCut.sse} before the cut, ${sse.opens} opens`,
  );

  // The outage was real: both were connected before it, got nothing during it, and reconnected.
  expect(beforeCut.ws).toBeGreaterThan(0);
  expect(duringCut.ws - beforeCut.ws).toBeLessThanOrEqual(20);
  expect(duringCut.sse - beforeCut.sse).toBeLessThanOrEqual(20);
  expect(ids.length - duringCut.ws).toBeGreaterThan(100);
  expect(ws.connections).toBeGreaterThanOrEqual(2);
  expect(ws.joins.slice(1).every((j) => j.resumed === true)).toBe(true);
  expect(sse.opens).toBeGreaterThanOrEqual(2);

  // Every logged event, in log order, exactly once.
  const logged: BusEnvelope[] = await log.tail(SESSION, ids.length + 10);
  const expected = logged.filter((e) => ids.includes(e.id)).map((e) => ({ event: e.event, id: e.id }));
  expect(expected.map((e) => e.id)).toEqual(ids);
  expect(ws.logged).toEqual(expected);
  const streamed = sse.events.filter((e) => !['connected', 'sync:initial', 'message:sync', 'sync:complete'].includes(e.event));
  expect(streamed.map((e) => ({ event: e.event, id: e.lastEventId }))).toEqual(expected);
  // Resumed with Last-Event-ID: connected again, but no second bootstrap.
  expect(sse.of('connected').length).toBeGreaterThanOrEqual(2);
  expect(sse.of('sync:complete')).toHaveLength(1);
  expect(sse.of('sync:initial')).toHaveLength(1);

  ws.stop();
  sse.close();
}, 60_000);
