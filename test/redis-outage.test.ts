/**
 * Redis stopped mid-sync and started again with its data (AOF), the services as processes
 * (issue 24, item 6): no process exits, the sync resumes by itself and ends with exact data.
 * Prints the time from Redis answering again to the next stored message (a figure, not
 * asserted; the fault suite prints it too). The outage lasts REDIS_OUTAGE_MS (4 s here; the
 * issue's is 30 s: `REDIS_OUTAGE_MS=30000 npx jest test/redis-outage.test.ts`). Needs a build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Store, createStore } from '@wa-sync/shared/store';
import { httpJson } from './support/http';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { waitFor } from './support/wait-for';

const OUTAGE_MS = Number(process.env.REDIS_OUTAGE_MS ?? 4_000);
const CHATS = 40;
const PER_CHAT = 20;
jest.setTimeout(OUTAGE_MS + 150_000);

let dir: string;
let redis: PrivateRedis;
let store: Store;
const procs: ServiceProcess[] = [];

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await redis?.stop();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function storedMessages(sessionId: string): Promise<number> {
  const page = await store.listChats(sessionId, { limit: 500 });
  return page.items.reduce((n, c) => n + c.messageCount, 0);
}

it('Redis stopped mid-sync and back with its data: the sync resumes by itself, nobody exits, the data is exact', async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-redis-out-'));
  const port = await freePort();
  redis = await startRedis({ port, aofDir: dir });
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const env = {
    REDIS_URL: redis.url,
    STORE_URL: `sqlite:${join(dir, 'wa.db')}`,
    WA_AUTH_DIR: join(dir, 'auth'),
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    SIM_CHATS: String(CHATS),
    SIM_MESSAGES_PER_CHAT: String(PER_CHAT),
    SIM_AUTO_SCAN_MS: '100',
    SIM_FETCH_LATENCY_MS: '150',
    WA_FETCH_CONCURRENCY: '2',
  };
  for (const name of ['api', 'session-runner', 'sync-workers'] as const) procs.push(startService(name, env));
  const output = () => procs.map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`).join('\n');
  await waitFor('/readyz', async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, 30_000, output);
  store = await createStore(env.STORE_URL);

  expect((await httpJson(base, 'POST', '/whatsapp-web/session/out')).status).toBe(201);
  await waitFor('the sync to be under way', async () => (await storedMessages('out')) >= 5 * PER_CHAT, 60_000, output);
  await redis.stop();
  const atStop = await storedMessages('out');
  expect(atStop).toBeLessThan(CHATS * PER_CHAT);
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  redis = await startRedis({ port, aofDir: dir });
  const answering = Date.now();
  // The saves that were under way may land right away: progress is a message stored after that.
  const before = await storedMessages('out');
  await waitFor('the sync to resume', async () => (await storedMessages('out')) > before, 60_000, output);
  const resumedMs = Date.now() - answering;

  const done = await waitFor('the sync to finish', async () => {
    const { json } = await httpJson(base, 'GET', '/whatsapp-web/session/out/sync');
    return json?.done ? json : null;
  }, 120_000, output);
  process.stdout.write(`Redis down ${OUTAGE_MS} ms mid-sync (${atStop}/${CHATS * PER_CHAT} stored): work resumed ${resumedMs} ms after Redis answered\n`);
  expect(done).toMatchObject({ nChats: CHATS, chatsFailed: 0, totalMessagesSynced: CHATS * PER_CHAT });
  const page = await store.listChats('out', { limit: 500 });
  expect(page.items.map((c) => c.messageCount)).toEqual(Array(CHATS).fill(PER_CHAT));
  for (const p of procs) expect(p.child.exitCode).toBeNull();
});
