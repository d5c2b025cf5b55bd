/**
 * The services on PostgreSQL (STORE_URL=postgres://…), as processes: the API, a session runner
 * and two sync workers on a private Redis and a database of their own. A first sync of 120 chats
 * × 80 messages runs while one sync worker is killed with SIGKILL; the database must then hold
 * exactly 9,600 messages, each chat's count exact, the sync closed with no chat failed.
 */
import { Client } from 'pg';
import { type Store, createStore } from '@wa-sync/shared/store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpJson } from './support/http';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from './support/postgres-db';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { waitFor } from './support/wait-for';

const CHATS = 120;
const PER_CHAT = 80;
const SESSION = 'pgsync';

describeWithPostgres('services on PostgreSQL', () => {
  let dir: string;
  let db: TestDatabase;
  let redis: PrivateRedis;
  let store: Store;
  let sql: Client;
  let base: string;
  let env: Record<string, string>;
  const procs: ServiceProcess[] = [];
  const service = (name: 'api' | 'session-runner' | 'sync-workers') => {
    const p = startService(name, env);
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-sync-pg-'));
    db = await createTestDatabase('sync');
    redis = await startRedis();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      REDIS_URL: redis.url,
      // Small pools: four processes share a server other test runs use too.
      STORE_URL: `${db.url}?pool_max=4`,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RATE_LIMIT_MAX: '1000',
      JOB_LOCK_MS: '3000',
      STALLED_CHECK_MS: '1000',
      SIM_CHATS: String(CHATS),
      SIM_MESSAGES_PER_CHAT: String(PER_CHAT),
      SYNC_LIMIT_PER_CHAT: String(PER_CHAT),
      // Slow enough that the kill lands mid-sync: 120 fetches, 2 at a time, 100 ms each.
      SIM_FETCH_LATENCY_MS: '100',
      WA_FETCH_CONCURRENCY: '2',
      SIM_AUTO_SCAN_MS: '200',
      WA_AUTH_DIR: join(dir, 'auth'),
    };
    store = await createStore(db.url);
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    const api = service('api');
    await api.waitForOutput(/"msg":"api listening"|listening/i);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await sql?.end().catch(() => undefined);
    await store?.close();
    await redis?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stored = async () => Number((await sql.query('SELECT count(*) AS n FROM messages WHERE session_id = $1', [SESSION])).rows[0].n);

  it('syncs 120 chats × 80 through a sync worker killed -9 mid-sync: exactly 9,600 messages', async () => {
    const victim = service('sync-workers');
    service('sync-workers');
    service('session-runner');
    await victim.waitForOutput(/sync workers started/);
    expect((await httpJson(base, 'POST', `/whatsapp-web/session/${SESSION}`)).status).toBe(201);

    const atKill = await waitFor('the first sync under way', async () => {
      const n = await stored();
      return n >= 1500 ? n : null;
    }, 90_000, () => victim.output().slice(-2000));
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(atKill).toBeLessThan(CHATS * PER_CHAT); // the kill landed mid-sync

    const run = await waitFor('the sync done', async () => {
      const last = await store.getLastSyncRun(SESSION);
      return last?.done ? last : null;
    }, 120_000, () => procs.map((p) => `${p.name}: ${p.output().slice(-1500)}`).join('\n'));
    expect({ nChats: run.nChats, chatsFailed: run.chatsFailed, totalMessages: run.totalMessages }).toEqual({
      nChats: CHATS,
      chatsFailed: 0,
      totalMessages: CHATS * PER_CHAT,
    });
    expect(await stored()).toBe(CHATS * PER_CHAT);
    const counts = await sql.query<{ chats: string; counted: string; exact: string }>(
      `SELECT count(*) AS chats, sum(c.message_count) AS counted,
         count(*) FILTER (WHERE c.message_count = (SELECT count(*) FROM messages m WHERE m.session_id = c.session_id AND m.chat_id = c.id)) AS exact
       FROM chats c WHERE c.session_id = $1`,
      [SESSION],
    );
    expect(counts.rows[0]).toEqual({ chats: String(CHATS), counted: String(CHATS * PER_CHAT), exact: String(CHATS) });
    // Read back through the API, as a client would.
    const { status, json } = await httpJson(base, 'GET', `/whatsapp-web/session/${SESSION}/chats?limit=500`);
    expect(status).toBe(200);
    expect(json.chats).toHaveLength(CHATS);
    const chatId = encodeURIComponent(json.chats[0].id);
    const page = await httpJson(base, 'GET', `/whatsapp-web/session/${SESSION}/chats/${chatId}/messages?limit=500`);
    expect(page.status).toBe(200);
    expect(page.json.messages).toHaveLength(PER_CHAT);
    process.stdout.write(`[postgres] worker killed at ${atKill} of ${CHATS * PER_CHAT} messages stored\n`);
  });
});
