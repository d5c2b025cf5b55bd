/**
 * Wait, don't crash: the API, a session runner and a sync worker as processes, started while
 * Redis, the store or the broker is unreachable. None of them exits; /healthz answers 200 while
 * /readyz answers 503 naming the missing dependency (the broker is reported, not gating); once
 * the dependency appears the API is ready again by itself and a sync completes with exact counts.
 * How long "none exits" is watched: DEPS_DOWN_HOLD_MS (6 s here; the figure is 60 s:
 * `DEPS_DOWN_HOLD_MS=60000 npx jest test/dependencies-down.test.ts`). Needs a build (`npx tsc -b`).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readiness } from '../services/api/src/routes/health.schemas';
import { AMQP_TEST_URL, brokerReachableSync, describeWithBroker, uniqueQueueName } from './support/amqp';
import { httpJson } from './support/http';
import { PG_HOST_URL, createTestDatabase, describeWithPostgres } from './support/postgres-db';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/wait-for';

const HOLD_MS = Number(process.env.DEPS_DOWN_HOLD_MS ?? 6_000);
const CHATS = 6;
const PER_CHAT = 10;
jest.setTimeout(HOLD_MS + 120_000);

interface Stack {
  base: string;
  procs: ServiceProcess[];
  dir: string;
}

const stacks: Stack[] = [];
const redisServers: PrivateRedis[] = [];

afterEach(async () => {
  for (const s of stacks.splice(0)) {
    await Promise.all(s.procs.map((p) => p.stop()));
    rmSync(s.dir, { recursive: true, force: true });
  }
  for (const r of redisServers.splice(0)) await r.stop();
});

async function startStack(env: Record<string, string>, dir = mkdtempSync(join(tmpdir(), 'wa-deps-'))): Promise<Stack> {
  const port = await freePort();
  const common = {
    STORE_URL: `sqlite:${join(dir, 'wa.db')}`,
    WA_AUTH_DIR: join(dir, 'auth'),
    SIM_CHATS: String(CHATS),
    SIM_MESSAGES_PER_CHAT: String(PER_CHAT),
    SIM_AUTO_SCAN_MS: '100',
    SIM_FETCH_LATENCY_MS: '5',
    LOG_LEVEL: 'info',
    ...env,
  };
  const procs = [
    startService('api', { ...common, PORT: String(port), HOST: '127.0.0.1' }),
    startService('session-runner', common),
    startService('sync-workers', common),
  ];
  const stack = { base: `http://127.0.0.1:${port}`, procs, dir };
  stacks.push(stack);
  await waitFor('/healthz to answer', async () => (await fetch(`${stack.base}/healthz`).catch(() => null))?.ok, 30_000, () => output(stack));
  return stack;
}

function output(stack: Stack): string {
  return stack.procs.map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`).join('\n');
}

async function readyz(stack: Stack): Promise<{ status: number; body: Readiness }> {
  const { status, json } = await httpJson(stack.base, 'GET', '/readyz');
  return { status, body: Readiness.parse(json) };
}

/** /readyz turns 503 naming `what` within 5 s of the API answering, and /healthz stays 200. */
async function expectNotReady(stack: Stack, what: 'redis' | 'store'): Promise<Readiness> {
  const r = await waitFor(`/readyz to name ${what}`, async () => {
    const res = await readyz(stack);
    return res.status === 503 && /^down/.test(res.body.checks[what]) ? res : null;
  }, 5_000, () => output(stack));
  expect(r.body.ready).toBe(false);
  expect((await fetch(`${stack.base}/healthz`)).status).toBe(200);
  return r.body;
}

/** For HOLD_MS no process exits, however long the dependency stays away. */
async function expectNoExit(stack: Stack): Promise<void> {
  const exits = stack.procs.map((p) => p.exited.then((code) => `${p.name} exited with ${code}`));
  const held = await Promise.race([...exits, new Promise<null>((r) => setTimeout(() => r(null), HOLD_MS))]);
  if (held) throw new Error(`${held}:\n${output(stack)}`);
}

async function expectReady(stack: Stack, withinMs: number): Promise<void> {
  await waitFor('/readyz to answer 200', async () => (await readyz(stack)).status === 200, withinMs, () => output(stack));
}

/** A session synced from scratch: every chat, every message, nothing failed. */
async function expectSync(stack: Stack, sessionId: string): Promise<void> {
  const created = await httpJson(stack.base, 'POST', `/whatsapp-web/session/${sessionId}`);
  expect(created.status).toBe(201);
  const done = await waitFor(`${sessionId}'s sync`, async () => {
    const { json } = await httpJson(stack.base, 'GET', `/whatsapp-web/session/${sessionId}/sync`);
    return json?.done ? json : null;
  }, 60_000, () => output(stack));
  expect(done).toMatchObject({ nChats: CHATS, chatsFailed: 0, totalMessagesSynced: CHATS * PER_CHAT });
  const { json } = await httpJson(stack.base, 'GET', `/whatsapp-web/session/${sessionId}/chats?limit=100`);
  expect(json.chats.map((c: { messageCount: number }) => c.messageCount)).toEqual(Array(CHATS).fill(PER_CHAT));
}

/** One line per state change, never one per retry. */
function expectFewLines(stack: Stack, pattern: RegExp, max: number): void {
  for (const p of stack.procs) expect((p.output().match(new RegExp(pattern, 'g')) ?? []).length).toBeLessThanOrEqual(max);
}

it('Redis unreachable at boot: not ready naming redis, nobody exits, ready once Redis appears, then a sync completes', async () => {
  const port = await freePort();
  const stack = await startStack({ REDIS_URL: `redis://127.0.0.1:${port}` });
  const body = await expectNotReady(stack, 'redis');
  expect(body.checks.store).toBe('ok');
  await expectNoExit(stack);
  expectFewLines(stack, /redis (unavailable|connection lost)/, 2);
  redisServers.push(await startRedis({ port }));
  await expectReady(stack, 10_000);
  await expectSync(stack, 'redis-late');
});

it('the store unreachable at boot (its directory cannot be made yet): 503 store_unavailable, nobody exits, ready once it can', async () => {
  const redis = await startRedis();
  redisServers.push(redis);
  const dir = mkdtempSync(join(tmpdir(), 'wa-deps-'));
  // A file where the database's directory should be: no process can open the store until it goes.
  writeFileSync(join(dir, 'db'), 'not a directory');
  const stack = await startStack({ REDIS_URL: redis.url, STORE_URL: `sqlite:${join(dir, 'db', 'wa.db')}` }, dir);
  const body = await expectNotReady(stack, 'store');
  expect(body.checks.redis).toBe('ok');
  // The media directory sits under the same missing path: reported, not fatal (nobody exits below).
  expect(body.checks.media).toMatch(/^down/);
  const refused = await httpJson(stack.base, 'POST', '/whatsapp-web/session/early');
  expect(refused.status).toBe(503);
  expect(refused.json.error.code).toBe('store_unavailable');
  await expectNoExit(stack);
  expectFewLines(stack, /store unavailable: retrying/, 1);
  // The runner and the worker say the same through the API.
  const reported = (await readyz(stack)).body.processes;
  expect(reported.map((p) => [p.service, p.checks.store?.state]).sort()).toEqual([['session-runner', 'down'], ['sync-workers', 'down']]);
  const metrics = await (await fetch(`${stack.base}/metrics`)).text();
  expect(metrics).toMatch(/wa_sync_process_dependency_up\{[^}]*service="sync-workers"[^}]*dependency="store"\} 0/);
  rmSync(join(dir, 'db'));
  mkdirSync(join(dir, 'db'));
  await expectReady(stack, 10_000);
  await waitFor('the processes to report the store up', async () => (await readyz(stack)).body.processes.every((p) => p.checks.store?.state === 'up'), 10_000);
  expect((await readyz(stack)).body.checks.media).toBe('ok');
  await expectSync(stack, 'store-late');
});

it('a MongoDB URL with no server: not ready naming the store, 503 store_unavailable, nobody exits', async () => {
  const redis = await startRedis();
  redisServers.push(redis);
  const stack = await startStack({ REDIS_URL: redis.url, STORE_URL: `mongodb://127.0.0.1:${await freePort()}/wa` });
  await expectNotReady(stack, 'store');
  const refused = await httpJson(stack.base, 'POST', '/whatsapp-web/session/mongo');
  expect(refused).toMatchObject({ status: 503, json: { error: { code: 'store_unavailable' } } });
  await expectNoExit(stack);
});

describeWithPostgres('PostgreSQL', () => {
  it('a server that refuses (a closed port): not ready naming the store, nobody exits, ready once it answers, then a sync completes', async () => {
    const redis = await startRedis();
    redisServers.push(redis);
    const db = await createTestDatabase('deps_down');
    const server = new URL(PG_HOST_URL);
    const proxy = await TcpProxy.open({ host: server.hostname, port: Number(server.port || 5432) });
    await proxy.stop();
    try {
      const url = new URL(db.url);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const stack = await startStack({ REDIS_URL: redis.url, STORE_URL: url.toString() });
      await expectNotReady(stack, 'store');
      await expectNoExit(stack);
      expectFewLines(stack, /store unavailable: retrying/, 1);
      await proxy.start();
      await expectReady(stack, 10_000);
      await expectSync(stack, 'pg-late');
      await Promise.all(stacks.splice(0).map(async (s) => {
        await Promise.all(s.procs.map((p) => p.stop()));
        rmSync(s.dir, { recursive: true, force: true });
      }));
    } finally {
      await proxy.stop();
      await db.drop();
    }
  });
});

describeWithBroker('the broker', brokerReachableSync(), () => {
  it('unreachable at boot: reported, not gating; nobody exits; reported up once it appears', async () => {
    const redis = await startRedis();
    redisServers.push(redis);
    const broker = new URL(AMQP_TEST_URL);
    const proxy = await TcpProxy.open({ host: broker.hostname, port: Number(broker.port || 5672) });
    await proxy.stop();
    const stack = await startStack({ REDIS_URL: redis.url, AMQP_URL: proxy.url(AMQP_TEST_URL), AMQP_QUEUE: uniqueQueueName('deps-down') });
    await waitFor('/readyz to report the broker down', async () => {
      const r = await readyz(stack);
      return r.status === 200 && /^down/.test(r.body.checks.broker);
    }, 15_000, () => output(stack));
    await expectNoExit(stack);
    await proxy.start();
    await waitFor('/readyz to report the broker ok', async () => (await readyz(stack)).body.checks.broker === 'ok', 20_000, () => output(stack));
    await proxy.stop();
  });
});
