/**
 * Access for end users (issue 23), against two API processes sharing Redis and one SQLite store,
 * as clients would see it: each token scope × route family (HTTP, WebSocket join, SSE) × own
 * session / another session / operator-only routes; forged, truncated, expired and revoked tokens;
 * a second operator key; a token that outlives a kill -9; revocation and expiry closing open
 * streams on both processes within 5 s. Needs a build (`npx tsc -b`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import WebSocket from 'ws';
import { createStore, type Store } from '@wa-sync/shared/store';
import { freePort, type PrivateRedis, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { openRaw } from './support/sse-client';
import { waitFor } from './support/wait-for';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SignJWT } = require('jose') as typeof Jose;

const KEY = 'operator-key-matrix-0001';
const SECOND = 'second-operator-key-0002';
const OWN = 'own-session';
const OTHER = 'other-session';
const op = { authorization: `Bearer ${KEY}` };

let redis: PrivateRedis;
let dir: string;
let storeUrl: string;
let a: { proc: ServiceProcess; url: string };
let b: { proc: ServiceProcess; url: string };

async function startApiProcess(): Promise<{ proc: ServiceProcess; url: string }> {
  const port = await freePort();
  const proc = startService('api', {
    PORT: String(port),
    REDIS_URL: redis.url,
    STORE_URL: storeUrl,
    API_KEY: KEY,
    API_KEYS: `second:${SECOND}`,
  });
  await proc.waitForOutput(/api listening/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

const call = (base: string, method: string, path: string, headers: Record<string, string> = op, body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function mint(scopes: string[], base = a.url): Promise<string> {
  const res = await call(base, 'POST', `/whatsapp-web/session/${OWN}/tokens`, op, { scopes });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** A token signed with the store's secret but crafted by hand (an expiry no mint would give). */
async function craft(claims: { exp: number; epoch: number }): Promise<string> {
  const store: Store = await createStore(storeUrl);
  try {
    const secret = Buffer.from(await store.ensureSecret('session-token-secret', 'unused'), 'base64url');
    const iat = Math.floor(Date.now() / 1000) - 120;
    return await new SignJWT({ scopes: ['read', 'stream'], epoch: claims.epoch })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(OWN)
      .setIssuer('wa-sync')
      .setAudience('wa-sync:session')
      .setIssuedAt(iat)
      .setExpirationTime(claims.exp)
      .setJti(`crafted-${claims.exp}`)
      .sign(secret);
  } finally {
    await store.close();
  }
}

async function openWs(base: string, token: string): Promise<{ ws: WebSocket; frames: { event: string; data: Record<string, unknown> }[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?token=${token}`);
  const frames: { event: string; data: Record<string, unknown> }[] = [];
  ws.on('message', (raw) => frames.push(JSON.parse(raw.toString())));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

async function joinAnswer(base: string, token: string, sessionId: string): Promise<string> {
  const { ws, frames } = await openWs(base, token);
  ws.send(JSON.stringify({ event: 'join-session', data: { sessionId } }));
  const frame = await waitFor('an answer to join-session', () => frames.find((f) => f.event === 'joined' || f.event === 'error'), 10_000);
  ws.close();
  return frame.event === 'joined' ? 'joined' : String(frame.data.code);
}

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-access-'));
  storeUrl = `sqlite:${join(dir, 'api.db')}`;
  a = await startApiProcess();
  b = await startApiProcess();
  for (const id of [OWN, OTHER]) expect((await call(a.url, 'POST', `/whatsapp-web/session/${id}`)).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.proc.stop(), b?.proc.stop()]);
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** HTTP routes by family: what scope opens them (null: the operator only). */
const ROUTES: { family: string; method: string; path: (id: string) => string; scope: string | null; body?: unknown }[] = [
  { family: 'read', method: 'GET', path: (id) => `/whatsapp-web/session/${id}`, scope: 'read' },
  { family: 'read', method: 'GET', path: (id) => `/whatsapp-web/session/${id}/chats`, scope: 'read' },
  { family: 'read', method: 'GET', path: (id) => `/whatsapp-web/session/${id}/chats/c1@c.us/messages`, scope: 'read' },
  { family: 'read', method: 'GET', path: (id) => `/whatsapp-web/session/${id}/sync`, scope: 'read' },
  { family: 'read', method: 'GET', path: (id) => `/whatsapp-web/session/${id}/qr`, scope: 'read' },
  { family: 'read', method: 'GET', path: (id) => `/whatsapp-web/session/${id}/messages/recent`, scope: 'read' },
  { family: 'read', method: 'GET', path: (id) => `/whatsapp-web/session/${id}/media`, scope: 'read' },
  { family: 'media', method: 'GET', path: (id) => `/whatsapp-web/session/${id}/chats/c1@c.us/messages/m1/media`, scope: 'read' },
  { family: 'control', method: 'POST', path: (id) => `/whatsapp-web/session/${id}/sync-chats`, scope: 'control', body: {} },
  { family: 'control', method: 'POST', path: (id) => `/whatsapp-web/session/${id}/pairing-code`, scope: 'control', body: { phoneNumber: '12025550108' } },
  { family: 'control', method: 'POST', path: (id) => `/whatsapp-web/session/${id}`, scope: 'control' },
  { family: 'control', method: 'DELETE', path: (id) => `/whatsapp-web/session/${id}`, scope: 'control' },
  { family: 'operator', method: 'DELETE', path: (id) => `/whatsapp-web/session/${id}?logout=true`, scope: null },
  { family: 'operator', method: 'POST', path: (id) => `/whatsapp-web/session/${id}`, scope: null, body: { webhooks: [] } },
  { family: 'operator', method: 'POST', path: (id) => `/whatsapp-web/session/${id}/tokens`, scope: null, body: {} },
  { family: 'operator', method: 'GET', path: () => '/whatsapp-web/sessions', scope: null },
  { family: 'operator', method: 'GET', path: () => '/whatsapp-web/runners', scope: null },
  { family: 'operator', method: 'GET', path: () => '/metrics', scope: null },
  { family: 'operator', method: 'GET', path: () => '/docs/json', scope: null },
  { family: 'operator', method: 'GET', path: () => '/admin/queues', scope: null },
  { family: 'operator', method: 'POST', path: () => '/whatsapp-web/session/brand-new', scope: null },
];

describe('the access matrix', () => {
  it('HTTP: each scope opens its own session\'s routes of that scope; everything else is 403 forbidden', async () => {
    const tokens = { read: await mint(['read']), stream: await mint(['stream']), control: await mint(['control']) };
    const seen: string[] = [];
    for (const [scope, token] of Object.entries(tokens)) {
      const bearer = { authorization: `Bearer ${token}` };
      for (const route of ROUTES) {
        for (const id of [OWN, OTHER]) {
          const res = await call(b.url, route.method, route.path(id), bearer, route.body);
          const allowed = route.scope === scope && (id === OWN || route.path(OWN) === route.path(OTHER));
          const got = res.status === 403 ? `403 ${((await res.json()) as { error: { code: string } }).error.code}` : res.status === 401 ? '401' : 'allowed';
          seen.push(`${scope} ${route.method} ${route.path(id)}: ${got}`);
          expect(`${scope} ${route.method} ${route.path(id)}: ${got}`).toBe(`${scope} ${route.method} ${route.path(id)}: ${allowed ? 'allowed' : '403 forbidden'}`);
        }
      }
    }
    // The operator key opens every one of them.
    for (const route of ROUTES) expect([401, 403]).not.toContain((await call(a.url, route.method, route.path(OTHER), op, route.body)).status);
    expect(seen.length).toBe(3 * ROUTES.length * 2);
  }, 120_000);

  it('WebSocket: any token opens the socket; join-session needs the stream scope of that session', async () => {
    const tokens = { read: await mint(['read']), stream: await mint(['stream']), control: await mint(['control']) };
    expect(await joinAnswer(a.url, tokens.stream, OWN)).toBe('joined');
    expect(await joinAnswer(a.url, tokens.stream, OTHER)).toBe('forbidden');
    expect(await joinAnswer(a.url, tokens.read, OWN)).toBe('forbidden');
    expect(await joinAnswer(a.url, tokens.control, OWN)).toBe('forbidden');
    expect(await joinAnswer(a.url, KEY, OTHER)).toBe('joined');
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${a.url.replace('http', 'ws')}/ws`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);
  });

  it('media: a read token of its own session as ?token= (what an <img> can carry)', async () => {
    const tokens = { read: await mint(['read']), stream: await mint(['stream']) };
    const media = (id: string, token: string) => fetch(`${a.url}/whatsapp-web/session/${id}/chats/c1@c.us/messages/m1/media?token=${token}`);
    const own = await media(OWN, tokens.read);
    expect([401, 403]).not.toContain(own.status);
    expect((await media(OTHER, tokens.read)).status).toBe(403);
    expect((await media(OWN, tokens.stream)).status).toBe(403);
    // ?token= is for the routes browsers open without headers only.
    expect((await fetch(`${a.url}/whatsapp-web/session/${OWN}?token=${tokens.read}`)).status).toBe(401);
  });

  it('SSE: the stream scope of its own session, by ?token= or Bearer', async () => {
    const tokens = { read: await mint(['read']), stream: await mint(['stream']) };
    const events = (id: string) => `${b.url}/whatsapp-web/session/${id}/events?deviceType=mobile`;
    for (const stream of [await openRaw(`${events(OWN)}&token=${tokens.stream}`), await openRaw(events(OWN), { authorization: `Bearer ${tokens.stream}` })]) {
      expect(stream.res.statusCode).toBe(200);
      await waitFor('connected', () => stream.text().includes('event: connected'), 10_000);
      stream.close();
    }
    for (const [url, status] of [
      [`${events(OTHER)}&token=${tokens.stream}`, 403],
      [`${events(OWN)}&token=${tokens.read}`, 403],
      [events(OWN), 401],
    ] as const) {
      const res = await fetch(url);
      expect(res.status).toBe(status);
      await res.body?.cancel();
    }
  });

  it('refuses forged, truncated, expired and garbage tokens with 401, and minting with a token', async () => {
    const token = await mint(['read']);
    const [h, p, s] = token.split('.');
    const forged = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const expired = await craft({ exp: Math.floor(Date.now() / 1000) - 10, epoch: 0 });
    const cases: [string, string][] = [
      [forged, 'unauthorized'],
      [token.slice(0, token.length - 10), 'unauthorized'],
      [`${h}.${p}`, 'unauthorized'],
      ['garbage', 'unauthorized'],
      [expired, 'token_expired'],
    ];
    for (const [bad, code] of cases) {
      const res = await call(a.url, 'GET', `/whatsapp-web/session/${OWN}`, { authorization: `Bearer ${bad}` });
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([401, code]);
      // An unauthenticated client does not keep its connection.
      expect(res.headers.get('connection')).toBe('close');
    }
    const all = await mint(['read', 'stream', 'control']);
    expect((await call(a.url, 'POST', `/whatsapp-web/session/${OWN}/tokens`, { authorization: `Bearer ${all}` }, {})).status).toBe(403);
  });

  it('takes a second operator key (API_KEYS) and logs its name, never a key', async () => {
    const res = await call(a.url, 'GET', '/whatsapp-web/sessions', { authorization: `Bearer ${SECOND}` });
    expect(res.status).toBe(200);
    await waitFor('the request log line', () => a.proc.output().includes('"operator":"second"'), 10_000);
    expect(a.proc.output()).not.toContain(SECOND);
    expect(a.proc.output()).not.toContain(KEY);
  });

  it('keeps a token working after a kill -9 of the API that minted it', async () => {
    const token = await mint(['read']);
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    a = await startApiProcess();
    expect((await call(a.url, 'GET', `/whatsapp-web/session/${OWN}`, { authorization: `Bearer ${token}` })).status).toBe(200);
  }, 60_000);

  it('closes open WebSocket and SSE streams on both processes within 5 s of their token\'s expiry', async () => {
    const soon = Math.floor(Date.now() / 1000) + 3;
    const token = await craft({ exp: soon, epoch: 0 });
    const ws = await openWs(a.url, token);
    const sse = await openRaw(`${b.url}/whatsapp-web/session/${OWN}/events?deviceType=mobile&token=${token}`);
    expect(sse.res.statusCode).toBe(200);
    const ended = new Promise<void>((resolve) => sse.res.once('end', () => resolve()));
    const deadline = soon * 1000 + 5_000;
    expect(await ws.closed).toBe(4401);
    await ended;
    expect(Date.now()).toBeLessThan(deadline);
  }, 30_000);

  it('revocation refuses HTTP at once and closes open WebSocket and SSE streams on both processes within 5 s', async () => {
    const token = await mint(['read', 'stream']);
    const ws = await openWs(a.url, token);
    ws.ws.send(JSON.stringify({ event: 'join-session', data: { sessionId: OWN } }));
    await waitFor('joined', () => ws.frames.some((f) => f.event === 'joined'), 10_000);
    const sse = await openRaw(`${b.url}/whatsapp-web/session/${OWN}/events?deviceType=mobile&token=${token}`);
    const ended = new Promise<void>((resolve) => sse.res.once('end', () => resolve()));
    await waitFor('connected', () => sse.text().includes('event: connected'), 10_000);

    expect((await call(b.url, 'DELETE', `/whatsapp-web/session/${OWN}/tokens`)).status).toBe(204);
    const revokedAt = Date.now();
    const res = await call(a.url, 'GET', `/whatsapp-web/session/${OWN}`, { authorization: `Bearer ${token}` });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([401, 'token_revoked']);
    expect(await ws.closed).toBe(4401);
    await ended;
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    // A token minted after the revocation works.
    expect((await call(a.url, 'GET', `/whatsapp-web/session/${OWN}`, { authorization: `Bearer ${await mint(['read'])}` })).status).toBe(200);
  }, 30_000);
});
