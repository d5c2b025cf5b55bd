/**
 * While another process holds the SQLite write lock, the API's event loop keeps serving: health
 * and WebSocket pings answer throughout, writes succeed once the lock goes or get a 503 with
 * Retry-After, and nothing is lost. (The fault suite holds the lock 30 s; here 3 s.)
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startApi, type ApiFixture } from './support/api-fixture';
import { httpJson } from './support/http';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { holdSqliteLock } from './support/store-lock';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const LOCK_MS = 3_000;
const LOCK_WAIT_MS = 1_000;

let redis: PrivateRedis;
let api: ApiFixture;
let base: string;
let dir: string;
let file: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-lock-'));
  file = join(dir, 'api.db');
  api = await startApi(redis.url, { rateLimit: { max: 10_000, windowMs: 60_000 } }, `sqlite:${file}`, { sqlite: { lockWaitMs: LOCK_WAIT_MS } });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await api?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Probe {
  kind: 'healthz' | 'ws-ping';
  sentAt: number;
  answeredAt?: number;
}

describe('SQLite write lock held by another process', () => {
  it('keeps health and WebSocket pings answering; writes succeed after the lock or get 503 + Retry-After; none is lost', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const pongs: (() => void)[] = [];
    ws.on('pong', () => pongs.shift()?.());

    const lock = await holdSqliteLock(file, LOCK_MS);
    const lockedAt = Date.now();
    let releasedAt = Infinity;
    lock.released.then((at) => (releasedAt = at));

    const probes: Probe[] = [];
    const writes: Promise<{ id: string; status: number; retryAfter: string | null; code?: string }>[] = [];
    let i = 0;
    while (Date.now() < lockedAt + LOCK_MS + 300) {
      const health: Probe = { kind: 'healthz', sentAt: Date.now() };
      probes.push(health);
      fetch(`${base}/healthz`).then(() => (health.answeredAt = Date.now()), () => undefined);
      const ping: Probe = { kind: 'ws-ping', sentAt: Date.now() };
      probes.push(ping);
      pongs.push(() => (ping.answeredAt = Date.now()));
      ws.ping();
      if (i % 2 === 0) {
        const id = `locked-${i}`;
        writes.push(
          fetch(`${base}/whatsapp-web/session/${id}`, { method: 'POST' }).then(async (res) => ({
            id,
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            code: ((await res.json()) as { error?: { code: string } }).error?.code,
          })),
        );
      }
      i += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
    const released = await lock.released;
    const results = await Promise.all(writes);
    await new Promise((r) => setTimeout(r, 200));
    ws.close();

    const during = probes.filter((p) => p.sentAt < released - 300);
    const latencies = during.filter((p) => p.answeredAt !== undefined).map((p) => p.answeredAt! - p.sentAt);
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `lock held ${released - lockedAt} ms; ${during.length} probes while locked: max ${sorted.at(-1)} ms, ` +
        `p50 ${sorted[Math.floor(sorted.length / 2)]} ms; writes: ${results.filter((r) => r.status < 300).length} ok, ` +
        `${results.filter((r) => r.status === 503).length} × 503`,
    );
    expect(during.length).toBeGreaterThan(10);
    // Every probe made while the lock was held was answered before it was released.
    expect(during.filter((p) => p.answeredAt === undefined || p.answeredAt >= released)).toEqual([]);

    for (const r of results) {
      if (r.status === 503) expect(r).toMatchObject({ code: 'store_busy', retryAfter: expect.stringMatching(/^\d+$/) });
      else expect(r.status).toBe(201);
    }
    // Writes refused with 503 succeed when retried after the lock; nothing is lost.
    for (const r of results.filter((x) => x.status === 503)) {
      expect((await httpJson(base, 'POST', `/whatsapp-web/session/${r.id}`)).status).toBe(201);
    }
    const sessions = (await api.store.listSessions()).map((s) => s.sessionId);
    expect(sessions.sort()).toEqual(results.map((r) => r.id).sort());
    expect(releasedAt).toBe(released);
  });
});
