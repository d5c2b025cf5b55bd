/**
 * Graceful shutdown of sync-workers mid-sync, with the three services as processes on a private
 * Redis and a SQLite file, and a big, slow simulated account so that saves pile up. A SIGTERM
 * lets the active saves finish; a SIGTERM whose deadline cuts saves off leaves them to BullMQ's
 * stalled-job recovery in the next worker. Either way the sync ends `done` with every chat
 * stored and `chatsFailed: 0`. Needs a build (`npx tsc -b`).
 */
import { Queue } from 'bullmq';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Chat, type SyncSnapshot, QueueName } from '@wa-sync/shared/contracts';
import { type Redis, createRedis } from '@wa-sync/shared/runtime';
import { httpJson } from './support/http';
import { holdSqliteLock } from './support/store-lock';
import { freePort, type PrivateRedis, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { waitFor } from './support/wait-for';

const CHATS = 40;
const LIMIT = 1500;

let redisServer: PrivateRedis;
let redis: Redis;
let saves: Queue;
let dir: string;
let url: string;
let env: Record<string, string>;
const services: ServiceProcess[] = [];

function workers(extra: Record<string, string>): ServiceProcess {
  // Few saves at a time keep a backlog of save jobs behind the fetches; short locks make a dead
  // worker's jobs come back quickly.
  const s = startService('sync-workers', { ...env, SYNC_CONCURRENCY: '4', JOB_LOCK_MS: '2000', STALLED_CHECK_MS: '1000', ...extra });
  services.push(s);
  return s;
}

beforeAll(async () => {
  redisServer = await startRedis();
  redis = createRedis(redisServer.url);
  saves = new Queue(QueueName.chatSave, { connection: redis });
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-shutdown-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = {
    REDIS_URL: redisServer.url,
    STORE_URL: `sqlite:${join(dir, 'wa-sync.db')}`,
    PORT: String(port),
    SYNC_LIMIT_PER_CHAT: String(LIMIT),
    SIM_CHATS: String(CHATS),
    SIM_MESSAGES_PER_CHAT: String(LIMIT),
    SIM_FETCH_LATENCY_MS: '10',
    SIM_AUTO_SCAN_MS: '50',
  };
  const api = startService('api', env);
  const runner = startService('session-runner', env);
  services.push(api, runner);
  await api.waitForOutput(/api listening/);
  await runner.waitForOutput(/session runner started/);
});

afterAll(async () => {
  for (const s of services) await s.stop('SIGKILL');
  await saves?.close();
  redis?.disconnect();
  await redisServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const http = (method: string, path: string) => httpJson(url, method, path);

async function snapshot(sessionId: string): Promise<SyncSnapshot | null> {
  const res = await http('GET', `/whatsapp-web/session/${sessionId}/sync`);
  return res.status === 200 ? (res.json as SyncSnapshot) : null;
}

/** Until saves are being worked on with more waiting behind them: the worker is mid-sync. */
async function midSync(sessionId: string): Promise<void> {
  await waitFor('saves in progress with a backlog', async () => {
    // Saves wait with a priority (SAVE_JOB_PRIORITY), so the backlog is in `prioritized`.
    const counts = await saves.getJobCounts('active', 'prioritized');
    const sync = await snapshot(sessionId);
    return counts.active > 0 && counts.prioritized > 0 && sync !== null && sync.currentChat > 0;
  });
}

async function expectCompleteSync(sessionId: string): Promise<void> {
  const done = await waitFor('the sync to end', async () => {
    const sync = await snapshot(sessionId);
    return sync?.done ? sync : null;
  });
  expect(done).toMatchObject({ nChats: CHATS, currentChat: CHATS, chatsFailed: 0, totalMessagesSynced: CHATS * LIMIT });
  const { json } = await http('GET', `/whatsapp-web/session/${sessionId}/chats?limit=500`);
  const chats = json.chats as Chat[];
  expect(chats).toHaveLength(CHATS);
  expect(chats.map((c) => c.messageCount)).toEqual(Array(CHATS).fill(LIMIT));
  // The finalize job ran (it waits for every save job to complete): the store has the summary.
  const run = await waitFor('the finished sync run', async () => {
    const { json: session } = await http('GET', `/whatsapp-web/session/${sessionId}`);
    return session.lastSync?.syncId === done.syncId && session.lastSync.finishedAt ? session.lastSync : null;
  });
  expect(run).toMatchObject({ done: true, nChats: CHATS, chatsFailed: 0, totalMessages: CHATS * LIMIT });
}

describe('SIGTERM to sync-workers mid-sync', () => {
  it('lets the active saves finish, exits 0, and the next worker completes the sync', async () => {
    const first = workers({ SHUTDOWN_TIMEOUT_MS: '60000' });
    await first.waitForOutput(/sync workers started/);
    expect((await http('POST', '/whatsapp-web/session/graceful')).status).toBe(201);
    await midSync('graceful');

    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.output()).toMatch(/"msg":"stopped"/);
    // Nothing was left half-done: no save is still locked by the stopped worker.
    expect((await saves.getJobCounts('active')).active).toBe(0);
    const stoppedAt = await snapshot('graceful');
    expect(stoppedAt?.done).toBe(false);
    expect(stoppedAt!.currentChat).toBeLessThan(CHATS);

    const second = workers({ SHUTDOWN_TIMEOUT_MS: '60000' });
    await expectCompleteSync('graceful');
    expect(await second.stop('SIGTERM')).toBe(0);
  });

  it('when the deadline cuts saves off, they are retried by the next worker, and no chat is lost', async () => {
    const hasty = workers({ SHUTDOWN_TIMEOUT_MS: '1' });
    await hasty.waitForOutput(/sync workers started/);
    expect((await http('POST', '/whatsapp-web/session/cut-off')).status).toBe(201);
    await midSync('cut-off');

    // Another process holds the store's write lock across the SIGTERM, so no active save can commit
    // and complete in the moment before the deadline: some are sure to be cut off.
    const lock = await holdSqliteLock(join(dir, 'wa-sync.db'), 1_000);
    expect(await hasty.stop('SIGTERM')).toBe(1);
    await lock.released;
    expect(hasty.output()).toMatch(/shutdown deadline passed/);
    // The saves it was running are still active (locked) in Redis: they were cut off.
    const cutOff = await saves.getJobs(['active']);
    expect(cutOff.length).toBeGreaterThan(0);
    expect((await snapshot('cut-off'))?.done).toBe(false);

    workers({ SHUTDOWN_TIMEOUT_MS: '60000' });
    await expectCompleteSync('cut-off');
    for (const job of cutOff) {
      const now = (await saves.getJob(job.id!))!;
      // A save cut off after counting its chat ends the sync's progress before it completes itself.
      expect(await now.getState()).toBe('completed');
      // Handed over by the stalled-job check, not by a retry after a failure.
      expect(now.stalledCounter).toBeGreaterThanOrEqual(1);
    }
  });
});
