/**
 * /metrics during a real sync: the API in-process (`buildApp`, scraped with `inject`), the session
 * runner and the sync workers as processes on the same Redis and SQLite file. The sync workers
 * start late, so the save jobs first pile up (queue gauges move), then get done (sync counters
 * and the duration histogram move). Needs a build (`npx tsc -b`).
 */
import { SESSION_QUEUES_LABEL } from '../services/api/src/ops/metrics.registry';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sessionQueueName } from '@wa-sync/shared/contracts';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { ChatPage, MessagePage } from '../services/api/src/routes/chat.schemas';
import { SyncSnapshotView } from '../services/api/src/routes/sync.schemas';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { WsClient } from './support/ws-client';
import { waitFor } from './support/wait-for';

const CHATS = 12;
const MESSAGES = 30;
const LIMIT = 20;
const SEED = 3;
const SESSION = 'metrics-test';
const brokenChat = new SimulatedAccount({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED }).listChats()[5].id;

let redisServer: PrivateRedis;
let dir: string;
let api: ApiFixture;
let env: Record<string, string>;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  redisServer = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-metrics-'));
  const storeUrl = `sqlite:${join(dir, 'wa-sync.db')}`;
  api = await startApi(redisServer.url, {}, storeUrl);
  env = {
    REDIS_URL: redisServer.url,
    STORE_URL: storeUrl,
    SYNC_LIMIT_PER_CHAT: String(LIMIT),
    SIM_CHATS: String(CHATS),
    SIM_MESSAGES_PER_CHAT: String(MESSAGES),
    SIM_SEED: String(SEED),
    SIM_FETCH_LATENCY_MS: '5',
    SIM_AUTO_SCAN_MS: '50',
    SIM_FAIL_CHAT_IDS: brokenChat,
  };
  const runner = startService('session-runner', env);
  services.push(runner);
  await runner.waitForOutput(/session runner started/);
});

afterAll(async () => {
  for (const s of services) await s.stop();
  await api?.close();
  await redisServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sum of the samples of a metric whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function scrape(): Promise<string> {
  const res = await api.app.inject({ url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.body;
}

async function waitForMetrics(what: string, ok: (text: string) => boolean, timeoutMs = 60_000): Promise<string> {
  let text = '';
  return waitFor(
    `metrics showing ${what}`,
    async () => ok((text = await scrape())) && text,
    timeoutMs,
    () => text.split('\n').filter((l) => l.startsWith('wa_sync')).join('\n'),
  );
}

describe('/metrics during a sync', () => {
  it('starts at zero, with the fixed queues listed', async () => {
    const text = await scrape();
    expect(sample(text, 'wa_sync_messages_synced_total')).toBe(0);
    expect(sample(text, 'wa_sync_chats_failed_total')).toBe(0);
    expect(sample(text, 'wa_sync_sync_duration_seconds_count')).toBe(0);
    expect(sample(text, 'wa_sync_websocket_clients')).toBe(0);
    for (const queue of ['session-commands', 'chat-save', 'sync-finalize', 'delivery-amqp', 'delivery-webhook']) {
      expect(text).toContain(`wa_sync_queue_jobs{queue="${queue}",state="waiting"}`);
    }
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('counts connected WebSocket clients', async () => {
    // A real socket: an in-memory injectWS stream never finishes the close handshake.
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = api.app.server.address() as AddressInfo;
    const ws = await WsClient.connect(`ws://127.0.0.1:${port}/ws`);
    expect(sample(await scrape(), 'wa_sync_websocket_clients')).toBe(1);
    ws.close();
    await waitForMetrics('no WebSocket client', (t) => sample(t, 'wa_sync_websocket_clients') === 0);
  });

  it('shows save jobs piling up while no sync worker runs, and the session queue', async () => {
    const created = await api.app.inject({ method: 'POST', url: `/whatsapp-web/session/${SESSION}` });
    expect(created.statusCode).toBe(201);
    // Saves wait with a priority, so they run in the order they became ready (SAVE_JOB_PRIORITY).
    const text = await waitForMetrics(
      `${CHATS} waiting save jobs`,
      (t) => sample(t, 'wa_sync_queue_jobs', { queue: 'chat-save', state: 'prioritized' }) === CHATS,
    );
    // The per-session fetch queue appears on its own: its broken chat failed there for good.
    // Per-session queues are summed under one label: no series per session.
    expect(sample(text, 'wa_sync_queue_jobs', { queue: SESSION_QUEUES_LABEL, state: 'failed' })).toBe(1);
    expect(text).not.toContain(`queue="${sessionQueueName(SESSION)}"`);
    expect(sample(text, 'wa_sync_queue_jobs', { queue: 'sync-finalize', state: 'waiting-children' })).toBe(1);
    expect(sample(text, 'wa_sync_messages_synced_total')).toBe(0);
    expect(sample(text, 'wa_sync_sync_duration_seconds_count')).toBe(0);
  });

  it('moves the sync figures once the sync workers run', async () => {
    services.push(startService('sync-workers', env));
    const text = await waitForMetrics('the finished sync', (t) => sample(t, 'wa_sync_sync_duration_seconds_count') === 1);
    expect(sample(text, 'wa_sync_messages_synced_total')).toBe((CHATS - 1) * LIMIT);
    expect(sample(text, 'wa_sync_chats_synced_total')).toBe(CHATS);
    expect(sample(text, 'wa_sync_chats_failed_total')).toBe(1);
    expect(sample(text, 'wa_sync_sync_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'wa_sync_queue_jobs', { queue: 'chat-save', state: 'waiting' })).toBe(0);
    expect(sample(text, 'wa_sync_queue_jobs', { queue: 'chat-save', state: 'completed' })).toBe(CHATS);

    const snapshot = await api.app.inject({ url: `/whatsapp-web/session/${SESSION}/sync` });
    // As documented in the OpenAPI document, field for field.
    expect(SyncSnapshotView.parse(snapshot.json())).toEqual(snapshot.json());
    const chats = await api.app.inject({ url: `/whatsapp-web/session/${SESSION}/chats?limit=500` });
    expect(ChatPage.parse(chats.json())).toEqual(chats.json());
    const chatId = encodeURIComponent(chats.json().chats[0].id);
    const messages = await api.app.inject({ url: `/whatsapp-web/session/${SESSION}/chats/${chatId}/messages?limit=5` });
    expect(MessagePage.parse(messages.json())).toEqual(messages.json());
    expect(snapshot.json()).toMatchObject({ done: true, nChats: CHATS, chatsFailed: 1, totalMessagesSynced: (CHATS - 1) * LIMIT });
  });

  it('records HTTP latency by route pattern, method and status', async () => {
    const text = await scrape();
    expect(sample(text, 'wa_sync_http_request_duration_seconds_count', { route: '/whatsapp-web/session/:id', method: 'POST', status_code: '201' })).toBe(1);
    expect(sample(text, 'wa_sync_http_request_duration_seconds_count', { route: '/metrics', method: 'GET', status_code: '200' })).toBeGreaterThan(1);
  });
});
