/**
 * A session runner killed with SIGKILL in the middle of media downloads (services as processes,
 * a private Redis, SQLite, a file blob store): a new runner takes the session over and its pending
 * media with it. Every media ends stored, expired or skipped; every stored file is in the blob
 * store once, whole (its bytes hash to its key); no temp file is left.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlobStore } from '@wa-sync/shared/blob';
import { type Store, createStore } from '@wa-sync/shared/store';
import { httpJson } from './support/http';
import { auditMedia, waitMediaSettled } from './support/media-audit';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { ServiceGroup } from './support/service-process';
import { waitFor } from './support/wait-for';

const SESSION = 'media-kill';
let dir: string;
let redis: PrivateRedis;
let store: Store;
let base: string;
let env: Record<string, string>;
const services = new ServiceGroup();
const start = services.start.bind(services);
const logs = () => services.logs();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-media-kill-'));
  redis = await startRedis();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = services.env = {
    REDIS_URL: redis.url,
    STORE_URL: `sqlite:${join(dir, 'wa.db')}`,
    MEDIA_URL: `file:${join(dir, 'media')}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    WA_AUTH_DIR: join(dir, 'auth'),
    SIM_KEEP_AUTH: 'true',
    SIM_AUTO_SCAN_MS: '100',
    SIM_CHATS: '10',
    SIM_MESSAGES_PER_CHAT: '40',
    SYNC_LIMIT_PER_CHAT: '40',
    // Each download takes 80 ms, two at a time: the media of the sync take seconds, so the kill lands among them.
    SIM_FETCH_LATENCY_MS: '80',
    MEDIA_CONCURRENCY: '2',
    SIM_MEDIA_BYTES: '65536',
    RUNNER_LEASE_MS: '2000',
    WA_JOB_LOCK_MS: '2000',
    WA_STALLED_CHECK_MS: '1000',
  };
  const api = start('api');
  start('sync-workers');
  await api.waitForOutput(/api listening/);
  store = await createStore(env.STORE_URL);
}, 120_000);

afterAll(async () => {
  await services.killAll();
  await store?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('leaves every file stored exactly once and no temp file after a runner is killed mid-download', async () => {
  const first = start('session-runner', { RUNNER_ID: 'runner-a' });
  expect((await httpJson(base, 'POST', `/whatsapp-web/session/${SESSION}`)).status).toBe(201);
  const atKill = await waitFor('some media stored, not all', async () => {
    const c = await store.mediaCounts(SESSION);
    return c.stored >= 5 && c.pending >= 10 ? c : null;
  }, 90_000, logs);
  first.child.kill('SIGKILL');
  await first.exited;

  // A runner started afterwards (a supervisor's restart, or another host) takes the session over.
  start('session-runner', { RUNNER_ID: 'runner-b' });
  await waitFor('the sync done', async () => (await store.getLastSyncRun(SESSION))?.done, 120_000, logs);
  expect(await waitMediaSettled(store, SESSION, 120_000)).toBe(true);
  const blobs = await createBlobStore({ url: env.MEDIA_URL });
  const audit = await auditMedia(store, SESSION, blobs);
  expect(audit.total).toBeGreaterThan(50);
  expect({ lost: audit.lost, duplicated: audit.duplicated, pending: audit.counts.pending, failed: audit.counts.failed }).toEqual({
    lost: 0,
    duplicated: 0,
    pending: 0,
    failed: 0,
  });
  expect(audit.counts.stored).toBeGreaterThan(atKill.stored);
  expect(readdirSync(join(dir, 'media', '.tmp'))).toEqual([]);
  process.stdout.write(`[media kill] killed at ${atKill.stored} stored / ${atKill.pending} pending; after: ${JSON.stringify(audit.counts)}\n`);
});
