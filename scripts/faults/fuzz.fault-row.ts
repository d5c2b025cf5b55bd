/**
 * Fault rows of hostile input: fuzzed HTTP requests and WebSocket frames against the API (every 4xx
 * in the error shape, no 5xx, no "internal" WS error), and garbage published on every Redis channel
 * and appended to every stream of the product mid-sync (skipped, never a crash; the sync exact).
 */
import WebSocket from 'ws';
import { Keys } from '@wa-sync/shared/contracts';
import { createRedis } from '@wa-sync/shared/runtime';
import type { FaultKit, RowLike } from './fault.kit';
import { fuzzFrame, fuzzRequest, garbagePayloads, prng } from './fuzz';

/** The fuzz row also counts 5xx and 4xx answers out of the error shape. */
export type FuzzRow = RowLike & { e5xx: number; shapeless?: number };

export function fuzzFaultRow<R extends FuzzRow>(kit: FaultKit<R>): void {
  const n = kit.quick ? 1_000 : 10_000;
  it(`${n} fuzzed HTTP requests and WebSocket frames`, async () => {
    await kit.scenario(`fuzz ${n} HTTP + ${n} WS`, (row) => fuzz(kit, n, row));
    expect(kit.failed(kit.last())).toEqual([]);
  });
}

export function garbageFaultRow<R extends RowLike>(kit: FaultKit<R>): void {
  it('garbage on every Redis channel and stream of the product', async () => {
    await kit.scenario('garbage on Redis channels and streams', (row) => garbage(kit, row));
    expect(kit.failed(kit.last())).toEqual([]);
  });
}

/** `{ error: { code, message } }`, the shape of every 4xx the API sends. */
function inErrorShape(text: string): boolean {
  try {
    const body = JSON.parse(text);
    return typeof body?.error?.code === 'string' && typeof body?.error?.message === 'string';
  } catch {
    return false;
  }
}

async function fuzz<R extends FuzzRow>(kit: FaultKit<R>, n: number, row: R): Promise<void> {
  const s = kit.stack();
  const r = prng(13);
  let shapeless = 0;
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      sent += 1;
      const req = fuzzRequest(r);
      const res = await fetch(`${s.url}${req.path}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: AbortSignal.timeout(10_000),
      }).catch(() => null);
      if (!res) continue;
      const text = await res.text().catch(() => '');
      if (res.status >= 500) {
        row.e5xx += 1;
        if (row.e5xx <= 3) row.note = `${row.note} ${res.status} ${req.method} ${req.path.slice(0, 60)};`.trim();
      } else if (res.status >= 400 && req.method !== 'HEAD' && !inErrorShape(text)) {
        shapeless += 1;
        if (shapeless <= 3) row.note = `${row.note} shapeless ${res.status} ${req.method} ${req.path.slice(0, 80)} (${req.headers['content-type'] ?? 'no body type'}): ${text.slice(0, 80)};`.trim();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  // WebSocket frames over a few sockets; a closed socket is reopened (oversized frames close by design).
  let frames = 0;
  let internal = 0;
  while (frames < n) {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws`);
    const ok = await new Promise<boolean>((resolve) => ws.once('open', () => resolve(true)).once('error', () => resolve(false)));
    if (!ok) break;
    ws.on('message', (raw) => {
      if (String(raw).includes('"internal"')) internal += 1;
    });
    while (frames < n && ws.readyState === WebSocket.OPEN) {
      ws.send(fuzzFrame(r));
      frames += 1;
      if (frames % 50 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    await new Promise((res) => setTimeout(res, 100));
    ws.terminate();
  }
  row.e5xx += internal;
  row.trials = sent + frames;
  await s.waitHealthy(10_000);
  row.note = `${row.note} ${sent} HTTP requests, ${frames} frames; 4xx not in the error shape: ${shapeless}; WS "internal" errors: ${internal}`.trim();
  row.shapeless = shapeless;
}

async function garbage<R extends RowLike>(kit: FaultKit<R>, row: R): Promise<void> {
  const s = kit.stack();
  const r = prng(21);
  const redis = createRedis(s.redisUrl);
  try {
    for (let t = 0; t < kit.trials; t++) {
      const sessionId = `garbage-${t}`;
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws`);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ event: 'join-session', data: { sessionId } }));
      await kit.createSession(s, sessionId);
      await kit.waitMidSync(s, sessionId);
      const t0 = Date.now();
      const payloads = garbagePayloads(r, kit.quick ? 50 : 300);
      const channels = [Keys.eventsChannel, ...((await redis.pubsub('CHANNELS', 'wa-sync:*')) as string[])];
      const streams: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = (await redis.call('SCAN', cursor, 'MATCH', 'wa-sync:*', 'TYPE', 'stream', 'COUNT', '1000')) as [string, string[]];
        cursor = next;
        streams.push(...keys);
      } while (cursor !== '0');
      for (const p of payloads) {
        for (const channel of new Set(channels)) await redis.publish(channel, p);
        for (const stream of streams) {
          await redis.xadd(stream, '*', 'e', p);
          await redis.xadd(stream, '*', 'x', p);
        }
      }
      // A client resuming from the start reads the garbage back from the log: it must be skipped.
      ws.send(JSON.stringify({ event: 'join-session', data: { sessionId, since: '0-0' } }));
      const complete = await s.waitComplete(sessionId, kit.recoveryTimeoutMs);
      row.trials += 1;
      if (complete) row.recoveryMs.push(Date.now() - t0);
      if (ws.readyState !== WebSocket.OPEN) row.note = `${row.note} the WebSocket was closed`.trim();
      ws.terminate();
      const audit = await s.audit(sessionId);
      row.lost += audit.lost;
      row.duplicated += audit.duplicated;
      row.note = `${row.note} ${payloads.length} payloads × ${new Set(channels).size} channel(s), ${streams.length} stream(s)`.trim();
    }
    await s.waitHealthy(10_000);
  } finally {
    redis.disconnect();
  }
}
