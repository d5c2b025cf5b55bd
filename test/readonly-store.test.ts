/**
 * A store that stops accepting writes, tried as an attacker would (issue 24, item 5): the services
 * run as a non-root user (setpriv), the SQLite files are made read-only mid-sync, the sync worker
 * and the API are killed and restarted (as the supervisor would), and write access comes back
 * RESTORE_MS later. While writes fail: /readyz is 503 naming the store, clients get 503
 * `store_unavailable` (never a 500), save jobs are put back without spending attempts. Once the
 * files are writable again the processes reopen their handles by themselves and the sync ends
 * with exact data. Needs a build (`npx tsc -b`), root (to change users) and setpriv.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readiness } from '../services/api/src/routes/health.schemas';
import { httpJson } from './support/http';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { waitFor } from './support/wait-for';

/** nobody: any uid other than root does (root writes whatever the file mode says). */
const UID = 65534;
const RESTORE_MS = Number(process.env.READONLY_RESTORE_MS ?? 5_000);
const CHATS = 24;
const PER_CHAT = 10;
const canSwitchUser = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
if (!canSwitchUser) process.stderr.write('\n*** read-only store: SKIPPED, needs root and setpriv to run the services as another user ***\n\n');
const describeAsOtherUser = canSwitchUser ? describe : describe.skip;

jest.setTimeout(RESTORE_MS + 150_000);

describeAsOtherUser('a store that stops accepting writes', () => {
  let dir: string;
  let redis: PrivateRedis;
  let env: Record<string, string>;
  let base: string;
  const procs = new Map<string, ServiceProcess>();
  const start = (name: 'api' | 'session-runner' | 'sync-workers') => procs.set(name, startService(name, env, { runAs: String(UID) })).get(name)!;
  const output = () => [...procs.values()].map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`).join('\n');
  const setWritable = (writable: boolean) => {
    for (const f of readdirSync(dir).filter((f) => f.startsWith('wa.db'))) chmodSync(join(dir, f), writable ? 0o644 : 0o444);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-ro-'));
    chownSync(dir, UID, UID);
    redis = await startRedis();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      REDIS_URL: redis.url,
      STORE_URL: `sqlite:${join(dir, 'wa.db')}`,
      WA_AUTH_DIR: join(dir, 'auth'),
      PORT: String(port),
      HOST: '127.0.0.1',
      SIM_CHATS: String(CHATS),
      SIM_MESSAGES_PER_CHAT: String(PER_CHAT),
      SIM_AUTO_SCAN_MS: '100',
      SIM_FETCH_LATENCY_MS: '150',
      WA_FETCH_CONCURRENCY: '2',
      SYNC_CONCURRENCY: '4',
    };
    for (const name of ['api', 'session-runner', 'sync-workers'] as const) start(name);
    await waitFor('/readyz', async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, 30_000, output);
  });

  afterAll(async () => {
    await Promise.all([...procs.values()].map((p) => p.stop()));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 store_unavailable, puts jobs back, reopens read-write by itself, and the data is exact', async () => {
    expect((await httpJson(base, 'POST', '/whatsapp-web/session/ro')).status).toBe(201);
    await waitFor('the sync to start', async () => (await httpJson(base, 'GET', '/whatsapp-web/session/ro/sync')).json?.nChats === CHATS, 30_000, output);

    // Read-only files, and the worker and the API restarted: their new handles open read-only.
    await procs.get('sync-workers')!.stop('SIGKILL');
    await procs.get('api')!.stop('SIGKILL');
    setWritable(false);
    start('sync-workers');
    start('api');

    const notReady = await waitFor('/readyz to name the store', async () => {
      const res = await fetch(`${base}/readyz`).catch(() => null);
      if (res?.status !== 503) return null;
      const body = Readiness.parse(await res.json());
      return /^down/.test(body.checks.store) ? body : null;
    }, 15_000, output);
    expect(notReady.checks.redis).toBe('ok');
    const refused = await httpJson(base, 'POST', '/whatsapp-web/session/other');
    expect(refused).toMatchObject({ status: 503, json: { error: { code: 'store_unavailable' } } });
    // The worker reports the same through the API (its report goes through Redis).
    const reports = await waitFor('the worker to report the store down', async () => {
      const res = await fetch(`${base}/readyz`);
      const body = Readiness.parse(await res.json());
      const w = body.processes.find((p) => p.service === 'sync-workers');
      return w?.checks.store?.state === 'down' ? w : null;
    }, 15_000, output);
    expect(reports.checks.store?.error).toMatch(/readonly|read-only/i);

    await new Promise((r) => setTimeout(r, RESTORE_MS));
    setWritable(true);

    await waitFor('/readyz to answer 200 again', async () => (await fetch(`${base}/readyz`)).ok, 15_000, output);
    const done = await waitFor('the sync to finish', async () => {
      const { json } = await httpJson(base, 'GET', '/whatsapp-web/session/ro/sync');
      return json?.done ? json : null;
    }, 90_000, output);
    expect(done).toMatchObject({ nChats: CHATS, chatsFailed: 0, totalMessagesSynced: CHATS * PER_CHAT });
    const { json } = await httpJson(base, 'GET', '/whatsapp-web/session/ro/chats?limit=100');
    expect(json.chats.map((c: { messageCount: number }) => c.messageCount)).toEqual(Array(CHATS).fill(PER_CHAT));
    // Put back, never failed: no attempt was spent on the read-only store, and nothing crashed.
    expect(procs.get('sync-workers')!.output()).not.toMatch(/"msg":"job failed"/);
    expect(procs.get('sync-workers')!.output()).toMatch(/store available again/);
    for (const p of procs.values()) expect(p.child.exitCode).toBeNull();
    // The client is served again.
    expect((await httpJson(base, 'POST', '/whatsapp-web/session/other')).status).toBe(201);
  });
});
