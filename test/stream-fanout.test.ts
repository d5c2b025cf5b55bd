/**
 * Fan-out: one API process holds 1,000 WebSockets and 1,000 SSE streams on one session, and
 * every one of them gets every live event, in order. Latency is printed, never asserted.
 */
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { EventLog, type Redis, createRedis } from '@wa-sync/shared/runtime';
import { sseHubOf } from '../services/api/src/app.factory';
import { type ApiFixture, startApi } from './support/api-fixture';
import { liveMessage } from './support/live-events';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { type RawStream, openRaw } from './support/sse-client';
import { waitFor } from './support/wait-for';

const SESSION = 'fanout';
const WS_CLIENTS = 1_000;
const SSE_CLIENTS = 1_000;
const EVENTS = 20;

let redisServer: PrivateRedis;
let redis: Redis;
let api: ApiFixture;

beforeAll(async () => {
  redisServer = await startRedis();
  redis = createRedis(redisServer.url, { disconnectTimeout: 100 });
  api = await startApi(redisServer.url);
  await api.app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await api?.close();
  redis?.disconnect();
  await redisServer?.stop();
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

it(`delivers every event to ${WS_CLIENTS} WebSockets and ${SSE_CLIENTS} SSE streams on one process`, async () => {
  const port = (api.app.server.address() as AddressInfo).port;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const wsIds: string[][] = [];
  const sockets: WebSocket[] = [];
  for (let i = 0; i < WS_CLIENTS; i++) {
    const ids: string[] = [];
    wsIds.push(ids);
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    sockets.push(socket);
    socket.on('open', () => socket.send(JSON.stringify({ event: 'join-session', data: { sessionId: SESSION } })));
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { event: string; id?: string; data: { body: string } };
      if (frame.event !== 'message:new' || !frame.id) return;
      ids.push(frame.id);
      latencies.push(performance.now() - (sentAt.get(frame.data.body) ?? NaN));
    });
  }
  const streams: RawStream[] = [];
  for (let i = 0; i < SSE_CLIENTS; i += 100) {
    streams.push(...(await Promise.all(Array.from({ length: 100 }, () => openRaw(`http://127.0.0.1:${port}/whatsapp-web/session/${SESSION}/events?deviceType=mobile`)))));
  }
  await waitFor('every socket to join', () => sockets.every((s) => s.readyState === WebSocket.OPEN) && api.hub.size === WS_CLIENTS, 60_000);
  await waitFor('every stream to connect', () => sseHubOf(api.app)?.size === SSE_CLIENTS && streams.every((s) => s.text().includes('event: connected')), 60_000);
  // Joins are answered in order: once every socket has its `joined`, events reach all of them.
  await new Promise((r) => setTimeout(r, 500));

  const log = new EventLog(redis);
  const ids: string[] = [];
  for (let k = 0; k < EVENTS; k++) {
    sentAt.set(`live #${k}`, performance.now());
    const id = await log.append(SESSION, 'message:new', liveMessage(SESSION, 'c1@c.us', k));
    ids.push(id);
    await new Promise((r) => setTimeout(r, 50));
  }
  await waitFor('every socket to get every event', () => wsIds.every((got) => got.length >= EVENTS), 60_000, () => `${wsIds.filter((g) => g.length >= EVENTS).length} complete`);
  const sseIds = () => streams.map((s) => [...s.text().matchAll(/^id: (\S+)\nevent: message:new$/gm)].map((m) => m[1]));
  await waitFor('every stream to get every event', () => sseIds().every((got) => got.length >= EVENTS), 60_000);

  expect(wsIds.every((got) => got.join() === ids.join())).toBe(true);
  expect(sseIds().every((got) => got.join() === ids.join())).toBe(true);
  console.log(
    `fan-out to ${WS_CLIENTS} ws (in-process clients): p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(latencies, 99).toFixed(1)} ms (from the append call; clients in the same process)`,
  );

  // One serialization per event, whatever the number of sockets.
  const stringify = jest.spyOn(JSON, 'stringify');
  const lastId = await log.append(SESSION, 'message:new', liveMessage(SESSION, 'c1@c.us', EVENTS));
  await waitFor('the last event everywhere', () => wsIds.every((got) => got.at(-1) === lastId), 60_000);
  const frames = stringify.mock.calls.filter(([v]) => v !== null && typeof v === 'object' && 'event' in v && 'id' in v && (v as { id: string }).id === lastId);
  stringify.mockRestore();
  expect(frames).toHaveLength(1);

  for (const s of sockets) s.terminate();
  for (const s of streams) s.close();
}, 120_000);
