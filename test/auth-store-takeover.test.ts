/**
 * Linked sessions that move between hosts: two session runners with their own WA_AUTH_DIR (two
 * "hosts" that share no disk) and WA_AUTH_STORE=store, so a session's credentials live in the
 * store. The owner is killed -9 mid-sync: the other runner takes its sessions over and brings them
 * to `ready` without a QR, and the interrupted syncs complete exactly (each message stored once).
 */
import { type BusEnvelope, type SyncSnapshot } from '@wa-sync/shared/contracts';
import { type Store, createStore } from '@wa-sync/shared/store';
import { EventLog, type Redis, createRedis, subscribeEvents } from '@wa-sync/shared/runtime';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpJson } from './support/http';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { waitFor } from './support/wait-for';

const SESSIONS = ['h1', 'h2'];
const CHATS = 12;
const LIMIT = 20;

let dir: string;
let redisServer: PrivateRedis;
let redis: Redis;
let subscriber: Redis;
let store: Store;
let base: string;
let env: Record<string, string>;
const procs: ServiceProcess[] = [];
const events: (BusEnvelope & { at: number })[] = [];

const service = (name: 'api' | 'session-runner' | 'sync-workers', extra: Record<string, string> = {}) => {
  const p = startService(name, { ...env, ...extra });
  procs.push(p);
  return p;
};
const runner = (id: string) => service('session-runner', { RUNNER_ID: id, WA_AUTH_DIR: join(dir, `host-${id}`) });

async function session(id: string): Promise<{ status: string; runnerId: string | null }> {
  return (await httpJson(base, 'GET', `/whatsapp-web/session/${id}`)).json;
}

const progress = (syncId: string) =>
  events.filter((e) => e.event === 'sync_chats' && (e.data as SyncSnapshot).syncId === syncId).map((e) => e.data as SyncSnapshot).pop();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-auth-hosts-'));
  redisServer = await startRedis();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = {
    REDIS_URL: redisServer.url,
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
    SIM_MESSAGES_PER_CHAT: '30',
    SYNC_LIMIT_PER_CHAT: String(LIMIT),
    SIM_FETCH_LATENCY_MS: '300',
    WA_FETCH_CONCURRENCY: '2',
    SYNC_CONCURRENCY: '4',
    SIM_AUTO_SCAN_MS: '200',
    WA_AUTH_STORE: 'store',
    MEDIA_DOWNLOAD: 'off',
  };
  store = await createStore(env.STORE_URL);
  redis = createRedis(redisServer.url);
  subscriber = createRedis(redisServer.url);
  await subscribeEvents(subscriber, new EventLog(redis), (e) => events.push({ ...e, at: Date.now() }));
  await service('api').waitForOutput(/api listening/);
  service('sync-workers');
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop('SIGKILL')));
  await subscriber?.quit().catch(() => undefined);
  await redis?.quit().catch(() => undefined);
  await store?.close();
  await redisServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the owner killed -9: the runner of another host takes the sessions over, ready without a QR, syncs exact', async () => {
  const r1 = runner('r1');
  await r1.waitForOutput(/session runner started/);
  for (const id of SESSIONS) expect((await httpJson(base, 'POST', `/whatsapp-web/session/${id}`)).status).toBe(201);
  for (const id of SESSIONS) {
    await waitFor(`${id} linked and synced on r1`, async () => {
      const s = await session(id);
      return s.status === 'ready' && s.runnerId === 'r1' && (await store.getLastSyncRun(id))?.done;
    }, 60_000);
    // Linked once, with a QR; the credentials are in the store, nothing in a directory.
    expect(events.filter((e) => e.sessionId === id && e.event === 'qr').length).toBeGreaterThan(0);
    expect(await store.getAuthState(id)).not.toBeNull();
  }
  expect(existsSync(join(dir, 'host-r1')) ? readdirSync(join(dir, 'host-r1')) : []).toEqual([]);

  const r2 = runner('r2');
  await r2.waitForOutput(/session runner started/);
  const syncs: Record<string, string> = {};
  for (const id of SESSIONS) {
    const { status, json } = await httpJson(base, 'POST', `/whatsapp-web/session/${id}/sync-chats`, {});
    expect(status).toBe(202);
    syncs[id] = json.syncId;
  }
  await waitFor('a sync under way', () => SESSIONS.some((id) => (progress(syncs[id])?.currentChat ?? 0) >= 2), 30_000);
  const killedAt = Date.now();
  r1.child.kill('SIGKILL');
  await r1.exited;

  await waitFor('both sessions ready on r2', async () => {
    const all = await Promise.all(SESSIONS.map(session));
    const readyAgain = SESSIONS.every((id) => events.some((e) => e.sessionId === id && e.event === 'ready' && e.at > killedAt));
    return readyAgain && all.every((s) => s.status === 'ready' && s.runnerId === 'r2');
  }, 60_000);
  process.stdout.write(`[auth-store] takeover on another host: ready ${Date.now() - killedAt} ms after the kill\n`);
  for (const id of SESSIONS) {
    // No QR after the takeover: r2 found the credentials in the store, not on its disk.
    expect(events.filter((e) => e.sessionId === id && e.event === 'qr' && e.at > killedAt)).toEqual([]);
    await waitFor(`${id} sync done`, async () => (await store.getSyncRun(syncs[id]))?.done, 60_000);
    const run = await store.getSyncRun(syncs[id]);
    expect({ nChats: run?.nChats, chatsFailed: run?.chatsFailed, totalMessages: run?.totalMessages }).toEqual({ nChats: CHATS, chatsFailed: 0, totalMessages: CHATS * LIMIT });
    // The takeover's own catch-up (on ready) finishes with nothing failed, and every chat is stored once.
    await waitFor(`${id} idle`, async () => (await store.getLastSyncRun(id))?.done, 60_000);
    expect((await store.getLastSyncRun(id))?.chatsFailed).toBe(0);
    const page = await store.listChats(id, { limit: 100 });
    expect(page.items).toHaveLength(CHATS);
    for (const chat of page.items) expect(chat.messageCount).toBe(LIMIT);
  }
  expect(existsSync(join(dir, 'host-r2')) ? readdirSync(join(dir, 'host-r2')) : []).toEqual([]);
}, 240_000);
