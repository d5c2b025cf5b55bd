/**
 * Redis through Sentinel, as processes: the API, a session runner and two sync workers on
 * `REDIS_URL=redis+sentinel://…` (a real set: one primary, one replica, three sentinels). Mid-sync the
 * replica is cut off for a moment and the primary killed -9, so the promoted replica lacks the newest
 * writes (as asynchronous replication can): every sync still completes with exact counts, each
 * message stored once, a WebSocket client never sees `currentChat` go down, and no process exits.
 */
import { type SyncSnapshot } from '@wa-sync/shared/contracts';
import { type Store, createStore } from '@wa-sync/shared/store';
import { type Redis, createRedis } from '@wa-sync/shared/runtime';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpJson } from './support/http';
import { freePort } from './support/redis-server';
import { type SentinelSet, startSentinelSet } from './support/sentinel-set';
import { type ServiceProcess, startService } from './support/service-process';
import { waitFor } from './support/wait-for';
import { WsClient } from './support/ws-client';

const SESSIONS = ['s1', 's2', 's3'];
const CHATS = 16;
const LIMIT = 25;

let dir: string;
let set: SentinelSet;
let redis: Redis;
let store: Store;
let base: string;
let ws: WsClient;
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-sentinel-'));
  set = await startSentinelSet();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    REDIS_URL: set.url,
    STORE_URL: `sqlite:${join(dir, 'wa.db')}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    RATE_LIMIT_MAX: '1000',
    RUNNER_LEASE_MS: '4000',
    WA_JOB_LOCK_MS: '3000',
    WA_STALLED_CHECK_MS: '1000',
    JOB_LOCK_MS: '3000',
    STALLED_CHECK_MS: '1000',
    SIM_CHATS: String(CHATS),
    SIM_MESSAGES_PER_CHAT: '40',
    SYNC_LIMIT_PER_CHAT: String(LIMIT),
    SIM_FETCH_LATENCY_MS: '400',
    WA_FETCH_CONCURRENCY: '2',
    SYNC_CONCURRENCY: '4',
    SIM_AUTO_SCAN_MS: '200',
    SIM_KEEP_AUTH: 'true',
    WA_AUTH_DIR: join(dir, 'auth'),
  };
  store = await createStore(env.STORE_URL);
  redis = createRedis(set.url);
  redis.on('error', () => undefined);
  for (const name of ['api', 'session-runner', 'sync-workers', 'sync-workers'] as const) procs.push(startService(name, env));
  await procs[0].waitForOutput(/api listening|listening/i);
  await procs[1].waitForOutput(/session runner started/);
  ws = await WsClient.connect(`${base.replace('http', 'ws')}/ws`);
}, 120_000);

afterAll(async () => {
  ws?.close();
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  redis?.disconnect();
  await store?.close();
  await set?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The sync is done in the store with every chat and message counted once, none failed. */
async function exact(syncId: string): Promise<boolean> {
  const run = await store.getSyncRun(syncId);
  if (!run?.done) return false;
  const counts = { nChats: run.nChats, chatsFailed: run.chatsFailed, totalMessages: run.totalMessages };
  // An inexact sync is rare (CI once, in a Node 22 run): what the services logged goes with it.
  if (counts.chatsFailed !== 0) process.stdout.write(`[sentinel] inexact sync ${syncId}: ${JSON.stringify(counts)}\n${procs.map((p) => p.output().split('\n').filter((l) => /"level":(4|5)0/.test(l)).slice(-20).join('\n')).join('\n')}\n`);
  expect(counts).toEqual({ nChats: CHATS, chatsFailed: 0, totalMessages: CHATS * LIMIT });
  return true;
}

async function expectStoredOnce(sessionId: string): Promise<void> {
  const page = await store.listChats(sessionId, { limit: 500 });
  expect(page.items).toHaveLength(CHATS);
  for (const chat of page.items) expect(chat.messageCount).toBe(LIMIT);
}

const snapshots = (syncId: string) => ws.of('sync_chats').filter((s: SyncSnapshot) => s.syncId === syncId);

it('the primary killed -9 mid-sync, its newest writes lost: every sync done, exact, currentChat never down', async () => {
  for (const id of SESSIONS) {
    expect((await httpJson(base, 'POST', `/whatsapp-web/session/${id}`)).status).toBe(201);
    ws.send('join-session', { sessionId: id });
  }
  for (const id of SESSIONS) {
    await waitFor(`${id} first sync`, async () => (await store.getLastSyncRun(id))?.done, 90_000);
  }
  const syncs: Record<string, string> = {};
  for (const id of SESSIONS) {
    const { status, json } = await httpJson(base, 'POST', `/whatsapp-web/session/${id}/sync-chats`, {});
    expect(status).toBe(202);
    syncs[id] = json.syncId;
  }
  await waitFor('syncs under way', () => SESSIONS.some((id) => snapshots(syncs[id]).some((s) => s.currentChat >= 2)), 30_000);

  const killed = await set.killPrimary({ loseWritesMs: 500, marker: 'wa-test:lost-marker' });
  const killedAt = Date.now();
  const promoted = await set.waitForFailover(killed);
  process.stdout.write(`[sentinel] failover ${killed} → ${promoted}: ${Date.now() - killedAt} ms\n`);

  for (const id of SESSIONS) await waitFor(`${id} sync done`, () => exact(syncs[id]), 120_000, () => procs.map((p) => p.output().split('\n').slice(-15).join('\n')).join('\n'));
  process.stdout.write(`[sentinel] every sync done ${Date.now() - killedAt} ms after the kill\n`);
  for (const id of SESSIONS) await expectStoredOnce(id);

  // The failover did lose writes: the marker written after the replica was cut off is gone.
  expect(await redis.get('wa-test:lost-marker')).toBeNull();
  // Invariant 3 for a client on the WebSocket through it all.
  for (const id of SESSIONS) {
    const seen = snapshots(syncs[id]).map((s) => s.currentChat);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen[seen.length - 1]).toBe(CHATS);
  }
  for (const p of procs) expect({ name: p.name, exit: p.child.exitCode }).toEqual({ name: p.name, exit: null });
}, 240_000);
