/**
 * Operations of the API (issue 5) at the app level: `buildApp` against a private Redis and a real
 * SQLite file, driven with `inject`/`injectWS`. Auth, error shapes, rate limits, OpenAPI, Bull
 * Board, WebSocket shutdown, log redaction, and /readyz when Redis goes away (last: it stops Redis).
 */
import { Queue } from 'bullmq';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { z } from 'zod';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocketClient from 'ws';
import type WebSocket from 'ws';
import { sessionQueueName } from '@wa-sync/shared/contracts';
import { type Redis, createRedis, SyncLedger } from '@wa-sync/shared/runtime';
import { routesOf } from '../services/api/src/app.factory';
import { isDashboardRoute } from '../services/api/src/web/dashboard.routes';
import { ErrorBody } from '../services/api/src/routes/common.schemas';
import { Readiness } from '../services/api/src/routes/health.schemas';
import { SessionList, SessionStarted, SessionView } from '../services/api/src/routes/session.schemas';
import { type ApiFixture, startApi } from './support/api-fixture';
import { validateOpenApi } from './support/openapi-validator';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

const KEY = 'test-key-7f3a9c';
const AUTH = { authorization: `Bearer ${KEY}` };
const RATE_MAX = 2;

let redisServer: PrivateRedis;
let api: ApiFixture;
let app: FastifyInstance;
let redis: Redis;

beforeAll(async () => {
  redisServer = await startRedis();
  redis = createRedis(redisServer.url, { disconnectTimeout: 100 });
  api = await startApi(redisServer.url, { apiKey: KEY, rateLimit: { max: RATE_MAX, windowMs: 60_000 } });
  app = api.app;
});

afterAll(async () => {
  await api?.close();
  redis?.disconnect();
  await redisServer?.stop();
});

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect({ url: res.raw.req.url, status: res.statusCode }).toEqual({ url: res.raw.req.url, status });
  conforms(ErrorBody, res.json());
  const body = ErrorBody.parse(res.json());
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

/** The body matches the documented response schema exactly (zod drops unknown keys, so equality catches extras). */
function conforms(schema: z.ZodType, body: unknown): void {
  expect(schema.parse(body)).toEqual(body);
}

/** Resolves with the close code of a socket once it closes. */
function closeCode(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.once('close', (code: number) => resolve(code)));
}

describe('auth', () => {
  it('answers 401 JSON without the key or with a wrong one, and serves with it', async () => {
    expectError(await app.inject({ url: '/whatsapp-web/sessions' }), 401, 'unauthorized');
    const wrong = await app.inject({ url: '/whatsapp-web/sessions', headers: { authorization: 'Bearer nope' } });
    expectError(wrong, 401, 'unauthorized');
    expect(wrong.json().error.message).toMatch(/wrong API key/);
    expect(wrong.headers['www-authenticate']).toMatch(/^Bearer/);
    // A key in the query string is for the WebSocket only.
    expectError(await app.inject({ url: `/whatsapp-web/sessions?token=${KEY}` }), 401, 'unauthorized');
    // Unknown paths too: no probing for routes without the key.
    expectError(await app.inject({ url: '/nowhere' }), 401, 'unauthorized');

    const ok = await app.inject({ url: '/whatsapp-web/sessions', headers: AUTH });
    expect(ok.statusCode).toBe(200);
    conforms(SessionList, ok.json());
    expect(ok.json()).toEqual({ sessions: [], nextCursor: null });
    expectError(await app.inject({ url: '/nowhere', headers: AUTH }), 404, 'not_found');
  });

  it('pages the session list: every session once, in creation order, a bad cursor or limit is a 400', async () => {
    const ids = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const id of ids) await api.store.ensureSession(id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await app.inject({ url: `/whatsapp-web/sessions?limit=2${cursor ? `&cursor=${cursor}` : ''}`, headers: AUTH });
      expect(res.statusCode).toBe(200);
      conforms(SessionList, res.json());
      const body = SessionList.parse(res.json());
      expect(body.sessions.length).toBeLessThanOrEqual(2);
      seen.push(...body.sessions.map((s) => s.sessionId));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(Math.ceil(seen.length / 2));
    expectError(await app.inject({ url: '/whatsapp-web/sessions?cursor=garbage', headers: AUTH }), 400, 'bad_cursor');
    expectError(await app.inject({ url: '/whatsapp-web/sessions?limit=0', headers: AUTH }), 400, 'bad_request');
    expectError(await app.inject({ url: '/whatsapp-web/sessions?limit=501', headers: AUTH }), 400, 'bad_request');
  });

  it('leaves /healthz and /readyz open', async () => {
    const health = await app.inject({ url: '/healthz' });
    expect(health.json()).toEqual({ status: 'ok' });
    // Without the key: ready or not, and each dependency's ok/down; nothing more (issue 23).
    const open = await app.inject({ url: '/readyz' });
    expect(open.statusCode).toBe(200);
    expect(open.json()).toEqual({ ready: true, status: 'ok', checks: { redis: 'ok', store: 'ok', broker: 'unknown' } });
    const ready = await app.inject({ url: '/readyz', headers: AUTH });
    expect(ready.statusCode).toBe(200);
    conforms(Readiness, ready.json());
    expect(ready.json()).toEqual({
      ready: true,
      status: 'ok',
      checks: { redis: 'ok', store: 'ok', broker: 'unknown: no sync-workers process reported' },
      // No sync-workers process here: the broker's state is unknown, and nothing waits for delivery.
      delivery: {
        broker: 'unknown: no sync-workers process reported',
        workers: [],
        backlog: { amqp: { waiting: 0, active: 0, delayed: 0, failed: 0 }, webhook: { waiting: 0, active: 0, delayed: 0, failed: 0 } },
      },
      processes: [],
    });
  });

  it('puts the docs, the metrics and Bull Board behind the key', async () => {
    for (const url of ['/docs/json', '/docs', '/metrics', '/admin/queues', '/admin/queues/api/queues']) {
      expectError(await app.inject({ url }), 401, 'unauthorized');
    }
    // The browser UIs ask for the key with a Basic challenge (the key is the password).
    const board = await app.inject({ url: '/admin/queues' });
    expect(board.headers['www-authenticate']).toMatch(/^Basic/);
    const basic = `Basic ${Buffer.from(`ops:${KEY}`).toString('base64')}`;
    expect((await app.inject({ url: '/admin/queues', headers: { authorization: basic } })).statusCode).toBe(200);
    // Basic is for the UIs only.
    expectError(await app.inject({ url: '/whatsapp-web/sessions', headers: { authorization: basic } }), 401, 'unauthorized');
  });

  it('refuses a WebSocket without the key before the upgrade, and accepts the header or ?token=', async () => {
    await expect(app.injectWS('/ws')).rejects.toThrow(/401/);
    await expect(app.injectWS('/ws?token=wrong')).rejects.toThrow(/401/);
    expect(api.hub.size).toBe(0);

    const byToken = await app.injectWS(`/ws?token=${KEY}`);
    const byHeader = await app.injectWS('/ws', { headers: AUTH });
    const joined = new Promise<unknown>((resolve) => byHeader.once('message', (raw) => resolve(JSON.parse(raw.toString()))));
    byHeader.send(JSON.stringify({ event: 'join-session', data: { sessionId: 'nobody' } }));
    expect(await joined).toEqual({ event: 'joined', data: { sessionId: 'nobody', status: null, sync: null } });
    expect(api.hub.size).toBe(2);
    const closed = Promise.all([closeCode(byToken), closeCode(byHeader)]);
    byToken.close();
    byHeader.close();
    await closed;
  });
});

describe('errors and rate limits', () => {
  it('answers bad input with a 400 JSON error naming the field', async () => {
    expectError(await app.inject({ url: '/whatsapp-web/session/bad!id', headers: AUTH }), 400, 'bad_request');
    const res = await app.inject({ url: '/whatsapp-web/session/x/chats?limit=0', headers: AUTH });
    expectError(res, 400, 'bad_request');
    expect(res.json().error.message).toMatch(/query\.limit/);
  });

  it('rate limits session creation per key, with a 429 JSON error and Retry-After', async () => {
    // Refused for a missing key first: those do not count.
    for (let i = 0; i < RATE_MAX + 2; i++) {
      expectError(await app.inject({ method: 'POST', url: '/whatsapp-web/session/limited' }), 401, 'unauthorized');
    }
    const created = await app.inject({ method: 'POST', url: '/whatsapp-web/session/limited', headers: AUTH });
    expect(created.statusCode).toBe(201);
    conforms(SessionStarted, created.json());
    expect(created.json()).toEqual({ sessionId: 'limited', status: 'starting' });
    for (let i = 1; i < RATE_MAX; i++) {
      expect((await app.inject({ method: 'POST', url: '/whatsapp-web/session/limited', headers: AUTH })).statusCode).toBe(200);
    }
    const limited = await app.inject({ method: 'POST', url: '/whatsapp-web/session/limited', headers: AUTH });
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Other routes are not limited; sync-chats has its own bucket.
    const session = await app.inject({ url: '/whatsapp-web/session/limited', headers: AUTH });
    expect(session.statusCode).toBe(200);
    conforms(SessionView, session.json());
  });

  it('shares the budget between API processes on the same Redis', async () => {
    // A key of their own: the tests above have used up KEY's budget on this route.
    const key = 'shared-key-51c0';
    const options = { apiKey: key, rateLimit: { max: RATE_MAX, windowMs: 60_000 } };
    // And one store, as in a deployment.
    const dir = mkdtempSync(join(tmpdir(), 'wa-sync-shared-'));
    const storeUrl = `sqlite:${join(dir, 'shared.db')}`;
    const [one, two] = [await startApi(redisServer.url, options, storeUrl), await startApi(redisServer.url, options, storeUrl)];
    try {
      const post = (a: ApiFixture) =>
        a.app.inject({ method: 'POST', url: '/whatsapp-web/session/shared', headers: { authorization: `Bearer ${key}` } });
      expect((await post(one)).statusCode).toBe(201);
      for (let i = 1; i < RATE_MAX; i++) expect((await post(two)).statusCode).toBe(200);
      // Each process has seen fewer than RATE_MAX requests, together RATE_MAX: both refuse now.
      expectError(await post(two), 429, 'rate_limited');
      expectError(await post(one), 429, 'rate_limited');
    } finally {
      await one.close();
      await two.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rate limits sync-chats', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= RATE_MAX; i++) {
      statuses.push((await app.inject({ method: 'POST', url: '/whatsapp-web/session/limited/sync-chats', headers: AUTH })).statusCode);
    }
    // Not ready: 409 until the limit, then 429.
    expect(statuses).toEqual([...Array(RATE_MAX).fill(409), 429]);
    const limited = await app.inject({ method: 'POST', url: '/whatsapp-web/session/limited/sync-chats', headers: AUTH });
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers['retry-after']).toBeDefined();
  });
});

describe('OpenAPI', () => {
  let spec: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

  beforeAll(async () => {
    const res = await app.inject({ url: '/docs/json', headers: AUTH });
    expect(res.statusCode).toBe(200);
    spec = res.json();
  });

  it('is a valid OpenAPI 3 document', async () => {
    const result = await validateOpenApi(spec);
    expect(result.errors).toBeNull();
    expect(result.valid).toBe(true);
    expect(spec.openapi).toMatch(/^3\./);
  });

  it('documents every route with its error responses', () => {
    const documented = routesOf(app).filter((r) => !r.hidden);
    expect(documented.length).toBeGreaterThanOrEqual(11);
    for (const route of documented) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      const operation = spec.paths[path]?.[route.method.toLowerCase()];
      expect({ route: `${route.method} ${route.url}`, documented: Boolean(operation) }).toEqual({ route: `${route.method} ${route.url}`, documented: true });
      const statuses = Object.keys(operation.responses);
      expect(statuses.some((s) => s.startsWith('2'))).toBe(true);
      expect(statuses).toContain('500');
      if (!['/healthz', '/readyz'].includes(route.url)) expect(statuses).toContain('401');
    }
    // Hidden routes are the UIs (the dashboard's files too) and the WebSocket, which are documented by hand.
    const hidden = routesOf(app).filter((r) => r.hidden).map((r) => r.url);
    expect(hidden.filter((url) => !(url === '/ws' || url.startsWith('/admin/queues') || url.startsWith('/docs') || isDashboardRoute(url)))).toEqual([]);
    expect((spec.paths['/'].get as unknown as { security: unknown[] }).security).toEqual([]);
    expect(spec.paths['/ws'].get.responses).toHaveProperty('401');
    expect(spec.paths['/admin/queues'].get.responses).toHaveProperty('401');
  });

  it('describes requests with the schemas the routes validate with', () => {
    const sync = spec.paths['/whatsapp-web/session/{id}/sync-chats'].post as unknown as {
      requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>; additionalProperties: boolean } }> };
      responses: Record<string, unknown>;
    };
    const ref = sync.requestBody.content['application/json'].schema as unknown as { $ref: string };
    const body = (spec as unknown as { components: { schemas: Record<string, typeof sync.requestBody.content[string]['schema']> } }).components
      .schemas[ref.$ref.split('/').pop()!];
    expect(Object.keys(body.properties).sort()).toEqual(['chatIds', 'limitPerChat']);
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(sync.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '404', '409', '429', '503']));
    const chats = spec.paths['/whatsapp-web/session/{id}/chats'].get as unknown as { parameters: { name: string; in: string; schema: Record<string, unknown> }[] };
    const limit = chats.parameters.find((p) => p.name === 'limit' && p.in === 'query');
    expect(limit?.schema).toMatchObject({ minimum: 1, maximum: 500, default: 50 });
    const id = chats.parameters.find((p) => p.name === 'id' && p.in === 'path');
    expect(id?.schema).toMatchObject({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await app.inject({ url: '/docs/', headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('Bull Board', () => {
  const SESSION = 'board-test';

  it('lists every queue with its counts, including a session queue once it has jobs', async () => {
    await new SyncLedger(redis).request(api.deps.sessionQueues, { sessionId: SESSION, reason: 'manual', limitPerChat: 5 });
    const res = await app.inject({ url: '/admin/queues/api/queues', headers: AUTH });
    expect(res.statusCode).toBe(200);
    const queues = res.json().queues as { name: string; counts: Record<string, number>; readOnlyMode: boolean }[];
    const names = queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['session-commands', 'chat-save', 'sync-finalize', 'delivery-amqp', 'delivery-webhook', sessionQueueName(SESSION)]));
    expect(new Set(names).size).toBe(names.length);
    const sessionQueue = queues.find((q) => q.name === sessionQueueName(SESSION))!;
    expect(sessionQueue.counts.waiting).toBe(1);
    // The rate-limit test created sessions: their start-session commands wait (no runner here).
    expect(queues.find((q) => q.name === 'session-commands')!.counts.waiting).toBeGreaterThan(0);
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('is read-only by default', async () => {
    const res = await app.inject({ method: 'PUT', url: '/admin/queues/api/queues/chat-save/pause', headers: AUTH });
    expect(res.statusCode).toBe(405);
    const paused = await new Queue('chat-save', { connection: redis });
    expect(await paused.isPaused()).toBe(false);
    await paused.close();
  });

  it('drops a session queue that no longer exists in Redis', async () => {
    const queue = new Queue(sessionQueueName(SESSION), { connection: redis });
    await queue.obliterate({ force: true });
    await queue.close();
    const res = await app.inject({ url: '/admin/queues/api/queues', headers: AUTH });
    expect(res.json().queues.map((q: { name: string }) => q.name)).not.toContain(sessionQueueName(SESSION));
  });

  it('serves the UI', async () => {
    const res = await app.inject({ url: '/admin/queues', headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/<html/i);
  });
});

describe('logs', () => {
  it('write JSON lines with service and request ids, never the API key', async () => {
    await app.inject({ url: '/whatsapp-web/session/limited/sync', headers: { ...AUTH, 'x-request-id': 'req-abc-123' } });
    const ws = await app.injectWS(`/ws?token=${KEY}`);
    const closed = closeCode(ws);
    ws.close();
    await closed;
    const lines = api.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.service === 'api')).toBe(true);
    const traced = lines.filter((l) => l.reqId === 'req-abc-123');
    expect(traced.length).toBeGreaterThan(0);
    expect(traced.every((l) => l.sessionId === 'limited')).toBe(true);
    expect(lines.some((l) => (l.req as { url?: string } | undefined)?.url === '/ws?token=[redacted]')).toBe(true);
    expect(api.logs.join('\n')).not.toContain(KEY);
  });
});

describe('shutdown', () => {
  it('refuses an upgrade over a real socket with a 401 and closes that socket', async () => {
    const other = await startApi(redisServer.url, { apiKey: KEY });
    await other.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = other.app.server.address() as AddressInfo;
    const client = new WebSocketClient(`ws://127.0.0.1:${port}/ws`);
    const status = await new Promise<number>((resolve) => client.once('unexpected-response', (_req, res) => {
      res.socket.once('close', () => resolve(res.statusCode ?? 0));
    }));
    expect(status).toBe(401);
    await other.close();
  });

  it('closes WebSockets with a 1001 close frame', async () => {
    const other = await startApi(redisServer.url, { apiKey: KEY });
    const ws = await other.app.injectWS('/ws', { headers: AUTH });
    const code = closeCode(ws);
    await other.close();
    expect(await code).toBe(1001);
  });
});

describe('readiness without Redis', () => {
  it('turns /readyz into a 503 naming Redis, and requests answer 503 instead of hanging', async () => {
    await redisServer.stop();
    // ioredis notices the closed socket on its own; the probe never waits for it.
    const ready = await waitFor('/readyz to turn 503', async () => {
      const res = await app.inject({ url: '/readyz', headers: AUTH });
      return res.statusCode === 200 ? null : res;
    }, 10_000);
    expect(ready.statusCode).toBe(503);
    // Without the key: which dependency is down, never why.
    const open = await app.inject({ url: '/readyz' });
    expect(open.statusCode).toBe(503);
    expect(open.json()).toEqual({ ready: false, status: 'unavailable', checks: { redis: 'down', store: 'ok', broker: 'unknown' } });
    const body = Readiness.parse(ready.json());
    expect(body.status).toBe('unavailable');
    expect(body.ready).toBe(false);
    expect(body.checks.store).toBe('ok');
    expect(body.checks.redis).toMatch(/^down: /);
    expect(body.delivery).toEqual({ broker: 'unknown: Redis is down', workers: [], backlog: null });

    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const sync = await app.inject({ url: '/whatsapp-web/session/limited/sync', headers: AUTH });
    expectError(sync, 503, 'unavailable');
    const metrics = await app.inject({ url: '/metrics', headers: AUTH });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('wa_sync_http_request_duration_seconds');
  });
});
