/**
 * The fault suite (`npm run test:faults`, `-- --quick` for CI): the product as processes, attacked
 * as a user or an outage would. Each scenario adds a row to the table printed at the end; a row
 * with anything lost, duplicated, a 5xx or a crash fails the suite.
 */
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { Keys, type Message } from '@wa-sync/shared/contracts';
import { liveMessageK } from '../../services/session-runner/src/engine/simulated.live';
import { createRedis } from '@wa-sync/shared/runtime';
import { holdSqliteLock } from '../../test/support/store-lock';
import { waitFor } from '../../test/support/wait-for';
import { EXPECTED, FaultStack, type ServiceName } from './fault-stack';
import { fuzzFrame, fuzzRequest, garbagePayloads, prng } from './fuzz';
import { postgresFaultRow } from './postgres.fault-row';
import { mediaFaultRows } from './media.fault-row';
import { sentinelFaultRow } from './sentinel.fault-row';
import { idleFloodFaultRow } from './idle-flood.fault-row';
import { redisOutageFaultRow } from './redis-outage.fault-row';
import { readonlyStoreFaultRow } from './readonly-store.fault-row';

const QUICK = process.env.FAULTS_QUICK === '1';
const TRIALS = QUICK ? 1 : 3;
const FUZZ_N = QUICK ? 1_000 : 10_000;
const LOCK_MS = QUICK ? 3_000 : 30_000;
/** While the store is locked, /healthz and a WebSocket ping must each answer within this (issue 13). */
const PROBE_BUDGET_MS = 100;
const RECOVERY_TIMEOUT_MS = 180_000;

interface Row {
  fault: string;
  trials: number;
  recoveryMs: number[];
  lost: number;
  duplicated: number;
  e5xx: number;
  s503: number;
  crashes: number;
  /** Probes (health, WebSocket ping) answered in more than PROBE_BUDGET_MS while the store was locked. */
  stalled?: number;
  /** 4xx answers not in the `{ error: { code, message } }` shape. */
  shapeless?: number;
  note: string;
}
const rows: Row[] = [];

/** Counts 5xx answers of /healthz and a store + Redis route while a fault runs. */
function probe(stack: FaultStack): { stop(): { e5xx: number; s503: number } } {
  let e5xx = 0;
  let s503 = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const path of ['/healthz', '/whatsapp-web/sessions']) {
        const res = await fetch(`${stack.url}${path}`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
        if (res?.status === 503) s503 += 1;
        else if (res && res.status >= 500) e5xx += 1;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop() {
      running = false;
      void loop;
      return { e5xx, s503 };
    },
  };
}

async function createSession(stack: FaultStack, sessionId: string): Promise<void> {
  // The API may have been restarted by the previous trial.
  await stack.waitHealthy();
  const res = await fetch(`${stack.url}/whatsapp-web/session/${sessionId}`, { method: 'POST' });
  if (res.status >= 300) throw new Error(`creating ${sessionId}: ${res.status} ${await res.text()}`);
}

/** Some messages are stored, not all: the sync is running. */
async function waitMidSync(stack: FaultStack, sessionId: string): Promise<void> {
  const total = [...EXPECTED.values()].reduce((n, ids) => n + ids.length, 0);
  await waitFor(`${sessionId} to be mid-sync`, async () => {
    const { lost } = await stack.audit(sessionId);
    return lost < total;
  }, 60_000);
}

async function scenario(fault: string, run: (row: Row) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const row: Row = { fault, trials: 0, recoveryMs: [], lost: 0, duplicated: 0, e5xx: 0, s503: 0, crashes: 0, note: '' };
  rows.push(row);
  let stack: FaultStack | undefined;
  let probes: ReturnType<typeof probe> | undefined;
  try {
    stack = await FaultStack.start({ env });
    current = stack;
    probes = probe(stack);
    await run(row);
  } catch (err) {
    row.note = `${row.note} error: ${(err as Error).message.split('\n')[0]}`.trim();
  } finally {
    // Stopped on failure too: a probe loop left running would keep the suite from exiting.
    const counts = probes?.stop();
    row.e5xx += counts?.e5xx ?? 0;
    row.s503 += counts?.s503 ?? 0;
    if (stack) {
      if (process.env.FAULTS_LOGS) stack.saveLogs(process.env.FAULTS_LOGS, fault.replace(/[^A-Za-z0-9]+/g, '-'));
      row.crashes += stack.crashes;
      if (stack.crashLog.length) row.note = `${row.note} crash: ${stack.crashLog[0].split('\n')[0].slice(0, 160)}`.trim();
      await stack.stop().catch(() => undefined);
    }
    current = undefined;
  }
}

let current: FaultStack | undefined;
const stack = () => current!;

async function killMidSync(name: ServiceName, row: Row): Promise<void> {
  for (let t = 0; t < TRIALS; t++) {
    const sessionId = `kill-${name}-${t}`;
    await createSession(stack(), sessionId);
    await waitMidSync(stack(), sessionId);
    const t0 = Date.now();
    await stack().kill9AndRestart(name);
    const complete = await stack().waitComplete(sessionId, RECOVERY_TIMEOUT_MS);
    row.trials += 1;
    if (complete) row.recoveryMs.push(Date.now() - t0);
    else row.note = `${row.note} trial ${t}: not complete after ${RECOVERY_TIMEOUT_MS / 1000} s`.trim();
    const audit = await stack().audit(sessionId);
    row.lost += audit.lost;
    row.duplicated += audit.duplicated;
  }
}

async function redisRestart(keepData: boolean, row: Row): Promise<void> {
  for (let t = 0; t < TRIALS; t++) {
    const sessionId = `redis-${keepData ? 'kept' : 'empty'}-${t}`;
    await createSession(stack(), sessionId);
    await waitMidSync(stack(), sessionId);
    const t0 = Date.now();
    await stack().restartRedis(keepData);
    const complete = await stack().waitComplete(sessionId, QUICK ? 60_000 : RECOVERY_TIMEOUT_MS);
    row.trials += 1;
    if (complete) row.recoveryMs.push(Date.now() - t0);
    else row.note = `${row.note} trial ${t}: not complete`.trim();
    const audit = await stack().audit(sessionId);
    row.lost += audit.lost;
    row.duplicated += audit.duplicated;
  }
}

async function storeLocked(row: Row): Promise<void> {
  const s = stack();
  const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  for (let t = 0; t < TRIALS; t++) {
    const sessionId = `lock-${t}`;
    await createSession(s, sessionId);
    await waitMidSync(s, sessionId);
    const lock = await holdSqliteLock(s.storeFile, LOCK_MS);
    let released = Infinity;
    void lock.released.then((at) => (released = at));
    const latencies: number[] = [];
    let unanswered = 0;
    const writes: { id: string; status: number; retryAfter: string | null }[] = [];
    let i = 0;
    while (released === Infinity) {
      const sent = Date.now();
      const health = fetch(`${s.url}/healthz`).then(() => Date.now());
      const pong = new Promise<number>((resolve) => {
        ws.once('pong', () => resolve(Date.now()));
        ws.ping();
      });
      if (i % 5 === 0) {
        const id = `lock-${t}-w${i}`;
        void fetch(`${s.url}/whatsapp-web/session/${id}`, { method: 'POST' }).then((res) =>
          writes.push({ id, status: res.status, retryAfter: res.headers.get('retry-after') }),
        );
      }
      const [h, p] = await Promise.all([health, pong]);
      for (const at of [h, p]) {
        // Stalled: slower than the budget (the lock held it). A quick answer that merely crossed
        // the release instant is not one.
        if (at - sent > PROBE_BUDGET_MS) unanswered += 1;
        else latencies.push(at - sent);
      }
      i += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = released;
    await waitFor('every write to be answered', () => writes.length >= Math.ceil(i / 5), 60_000);
    for (const w of writes.filter((x) => x.status === 503)) {
      if (!w.retryAfter) row.note = `${row.note} 503 without Retry-After`.trim();
      row.s503 += 1;
      const again = await fetch(`${s.url}/whatsapp-web/session/${w.id}`, { method: 'POST' });
      if (again.status >= 300) row.lost += 1;
    }
    row.e5xx += writes.filter((w) => w.status >= 500 && w.status !== 503).length;
    const sessions = new Set((await s.store.listSessions()).map((x) => x.sessionId));
    row.lost += writes.filter((w) => !sessions.has(w.id)).length;
    const complete = await s.waitComplete(sessionId, RECOVERY_TIMEOUT_MS);
    row.trials += 1;
    if (complete) row.recoveryMs.push(Date.now() - t0);
    const audit = await s.audit(sessionId);
    row.lost += audit.lost;
    row.duplicated += audit.duplicated;
    latencies.sort((a, b) => a - b);
    row.note = `${row.note} lock ${LOCK_MS / 1000} s: ${latencies.length} probes answered within ${PROBE_BUDGET_MS} ms (max ${latencies.at(-1)} ms), ${unanswered} slower; writes ${writes.length} (${writes.filter((w) => w.status < 300).length} ok)`.trim();
    row.stalled = (row.stalled ?? 0) + unanswered;
  }
  ws.close();
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

async function fuzz(row: Row): Promise<void> {
  const s = stack();
  const r = prng(13);
  let shapeless = 0;
  let sent = 0;
  const worker = async () => {
    while (sent < FUZZ_N) {
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
  while (frames < FUZZ_N) {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws`);
    const ok = await new Promise<boolean>((resolve) => ws.once('open', () => resolve(true)).once('error', () => resolve(false)));
    if (!ok) break;
    ws.on('message', (raw) => {
      if (String(raw).includes('"internal"')) internal += 1;
    });
    while (frames < FUZZ_N && ws.readyState === WebSocket.OPEN) {
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

async function garbage(row: Row): Promise<void> {
  const s = stack();
  const r = prng(21);
  const redis = createRedis(s.redisUrl);
  try {
    for (let t = 0; t < TRIALS; t++) {
      const sessionId = `garbage-${t}`;
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws`);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ event: 'join-session', data: { sessionId } }));
      await createSession(s, sessionId);
      await waitMidSync(s, sessionId);
      const t0 = Date.now();
      const payloads = garbagePayloads(r, QUICK ? 50 : 300);
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
      const complete = await s.waitComplete(sessionId, RECOVERY_TIMEOUT_MS);
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

function table(): string {
  const head = ['fault', 'trials', 'recovery', 'lost', 'duplicated', '5xx', '503 (by design)', 'crashes', 'notes'];
  const lines = rows.map((row) => {
    const rec = row.recoveryMs.length ? `${(Math.max(...row.recoveryMs) / 1000).toFixed(1)} s` : '—';
    return [row.fault, row.trials, rec, row.lost, row.duplicated, row.e5xx, row.s503, row.crashes, row.note.replace(/\|/g, '/')];
  });
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

afterAll(() => {
  const text = `Fault suite (${QUICK ? 'quick' : 'full'}), ${new Date().toISOString()}\n\n${table()}\n`;
  if (process.env.FAULTS_REPORT) writeFileSync(process.env.FAULTS_REPORT, text);
  console.log(text);
});

function failed(row: Row | undefined): string[] {
  if (!row) return ['no row'];
  const problems: string[] = [];
  if (row.trials === 0) problems.push(`did not run: ${row.note}`);
  if (row.lost) problems.push(`${row.lost} lost`);
  if (row.duplicated) problems.push(`${row.duplicated} duplicated`);
  if (row.e5xx) problems.push(`${row.e5xx} 5xx`);
  if (row.crashes) problems.push(`${row.crashes} crashes`);
  if (row.stalled) problems.push(`${row.stalled} probes stalled by the lock`);
  if (row.shapeless) problems.push(`${row.shapeless} 4xx without the error shape`);
  if (/not complete|error:/.test(row.note)) problems.push(row.note);
  return problems;
}

/** The live row's phone: a message every LIVE_INTERVAL_MS in a few chats, some edited or deleted later. */
const LIVE_INTERVAL_MS = 50;
const LIVE_ENV = { SIM_LIVE_INTERVAL_MS: String(LIVE_INTERVAL_MS), SIM_EDIT_EVERY: '7', SIM_REVOKE_EVERY: '11', SIM_CHATS: '4', SIM_MESSAGES_PER_CHAT: '20' };
const LIVE_LOCK_MS = QUICK ? 2_000 : 10_000;

/** Live messages in the store by k (`live #k`), with how many rows each has; the phone's clock anchor. */
async function liveStored(s: FaultStack, sessionId: string): Promise<{ rows: Map<number, number>; anchorMs: number | null; overCount: number }> {
  const messages: Message[] = [];
  let overCount = 0;
  for (const chat of (await s.store.listChats(sessionId, { limit: 500 })).items) {
    // Read before the pages: messages keep arriving, so a count read after them could be higher.
    const counted = (await s.store.getChat(sessionId, chat.id))?.messageCount ?? 0;
    let before: string | undefined;
    const ids = new Set<string>();
    for (;;) {
      const page = await s.store.listMessages(sessionId, chat.id, { limit: 500, ...(before ? { before } : {}) });
      messages.push(...page.items);
      for (const m of page.items) ids.add(m.id);
      if (!page.nextCursor) break;
      before = page.nextCursor;
    }
    if (counted > ids.size) overCount += counted - ids.size;
  }
  const first = messages.filter((m) => m.body === 'live #1').map((m) => Date.parse(m.timestamp));
  if (!first.length) return { rows: new Map(), anchorMs: null, overCount };
  const anchorMs = Math.min(...first) - LIVE_INTERVAL_MS;
  const rows = new Map<number, number>();
  for (const m of messages) {
    if (Date.parse(m.timestamp) <= anchorMs) continue; // history ends at the first ready
    const k = liveMessageK(m.id);
    rows.set(k, (rows.get(k) ?? 0) + 1);
  }
  return { rows, anchorMs, overCount };
}

/** Until every live message that arrived before `t` is stored; the ms it took from `since`, or null. */
async function liveCaughtUp(s: FaultStack, sessionId: string, t: number, since: number): Promise<number | null> {
  const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const { rows, anchorMs } = await liveStored(s, sessionId).catch(() => ({ rows: new Map<number, number>(), anchorMs: null }));
    if (anchorMs !== null) {
      const upTo = Math.floor((t - anchorMs) / LIVE_INTERVAL_MS);
      let complete = true;
      for (let k = 1; k <= upTo && complete; k++) complete = rows.has(k);
      if (complete) return Date.now() - since;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

/**
 * Continuous sync through faults: a phone that keeps receiving messages (some edited or deleted
 * later) while the runner is killed, the store locked, Redis restarted and the workers killed.
 * Every message that arrived must be stored once, live or by the catch-up after a `ready`.
 */
async function liveTraffic(row: Row): Promise<void> {
  const s = stack();
  const sessionId = 'live';
  await createSession(s, sessionId);
  await waitFor('the first sync', async () => {
    const res = await fetch(`${s.url}/whatsapp-web/session/${sessionId}/sync`).catch(() => null);
    return res?.ok && ((await res.json()) as { done?: boolean }).done === true;
  }, 60_000);
  const faults: [string, () => Promise<void>][] = [
    ['runner kill -9', () => s.kill9AndRestart('session-runner')],
    [`store locked ${LIVE_LOCK_MS / 1000} s`, async () => void (await (await holdSqliteLock(s.storeFile, LIVE_LOCK_MS)).released)],
    ['Redis restart (data kept)', () => s.restartRedis(true)],
    ['workers kill -9', () => s.kill9AndRestart('sync-workers')],
  ];
  const recoveries: string[] = [];
  for (let t = 0; t < TRIALS; t++) {
    for (const [name, fault] of faults) {
      await fault();
      const end = Date.now();
      const took = await liveCaughtUp(s, sessionId, end, end);
      row.trials += 1;
      if (took === null) row.note = `${row.note} ${name}: not caught up`.trim();
      else {
        row.recoveryMs.push(took);
        recoveries.push(`${name} ${(took / 1000).toFixed(1)} s`);
      }
    }
  }
  // Every live message up to a moment before the last fault ended: stored, and once.
  const until = Date.now() - 2_000;
  await liveCaughtUp(s, sessionId, until, until);
  const { rows: stored, anchorMs, overCount } = await liveStored(s, sessionId);
  const upTo = anchorMs === null ? 0 : Math.floor((until - anchorMs) / LIVE_INTERVAL_MS);
  for (let k = 1; k <= upTo; k++) if (!stored.has(k)) row.lost += 1;
  for (const n of stored.values()) if (n > 1) row.duplicated += n - 1;
  row.duplicated += overCount;
  row.note = `${upTo} live messages; ${recoveries.join(', ')}`;
}

const last = () => rows[rows.length - 1];

describe('fault suite', () => {
  for (const name of ['session-runner', 'sync-workers', 'api'] as ServiceName[]) {
    it(`kill -9 ${name} mid-sync`, async () => {
      await scenario(`kill -9 ${name} mid-sync`, (row) => killMidSync(name, row));
      expect(failed(last())).toEqual([]);
    });
  }
  it('Redis restart with its data', async () => {
    await scenario('Redis restart (data kept)', (row) => redisRestart(true, row));
    expect(failed(last())).toEqual([]);
  });
  it('Redis restart without data', async () => {
    await scenario('Redis restart (empty)', (row) => redisRestart(false, row));
    expect(failed(last())).toEqual([]);
  });
  it(`store locked ${LOCK_MS / 1000} s`, async () => {
    await scenario(`store locked ${LOCK_MS / 1000} s`, storeLocked);
    expect(failed(last())).toEqual([]);
  });
  it(`${FUZZ_N} fuzzed HTTP requests and WebSocket frames`, async () => {
    await scenario(`fuzz ${FUZZ_N} HTTP + ${FUZZ_N} WS`, fuzz);
    expect(failed(last())).toEqual([]);
  });
  it('live traffic through runner and workers kill -9, a store lock and a Redis restart', async () => {
    await scenario('live traffic through faults', liveTraffic, LIVE_ENV);
    expect(failed(last())).toEqual([]);
  });
  it('garbage on every Redis channel and stream of the product', async () => {
    await scenario('garbage on Redis channels and streams', garbage);
    expect(failed(last())).toEqual([]);
  });
  postgresFaultRow({ scenario, createSession, waitMidSync, stack, failed, last, trials: TRIALS, recoveryTimeoutMs: RECOVERY_TIMEOUT_MS });
  mediaFaultRows({ scenario, createSession, waitMidSync, stack, failed, last, trials: TRIALS, recoveryTimeoutMs: RECOVERY_TIMEOUT_MS });
  sentinelFaultRow({ scenario, createSession, waitMidSync, stack, failed, last, trials: TRIALS, recoveryTimeoutMs: RECOVERY_TIMEOUT_MS });
  idleFloodFaultRow({ scenario, createSession, waitMidSync, stack, failed, last, trials: TRIALS, recoveryTimeoutMs: RECOVERY_TIMEOUT_MS });
  redisOutageFaultRow({ scenario, createSession, waitMidSync, stack, failed, last, trials: TRIALS, recoveryTimeoutMs: RECOVERY_TIMEOUT_MS });
  readonlyStoreFaultRow({ scenario, createSession, waitMidSync, stack, failed, last, trials: TRIALS, recoveryTimeoutMs: RECOVERY_TIMEOUT_MS });
});
