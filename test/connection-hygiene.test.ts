/**
 * Connection hygiene and secrets in logs (issue 23 items 6 and 8), on a listening API with a real
 * Redis and SQLite: silent connections are closed, a 401 closes its connection, one address cannot
 * hold more than its cap of unauthenticated connections while /healthz still answers, deeply nested
 * JSON is refused before it is parsed, a key in the query is never logged whatever its spelling, and a
 * route without a declared access fails the boot.
 */
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { installAccess } from '../services/api/src/auth/access.hook';
import { OperatorKeys } from '../services/api/src/auth/operator-key.registry';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

const KEY = 'hygiene-operator-key';
const CAP = 20;

let redis: PrivateRedis;
let api: ApiFixture;
let port: number;

beforeAll(async () => {
  redis = await startRedis();
  api = await startApi(redis.url, { apiKey: KEY, requestTimeoutMs: 1_000, maxPendingConnectionsPerIp: CAP });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  port = (api.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await api?.close();
  await redis?.stop();
});

function open(): Promise<Socket & { closedAt?: number }> {
  return new Promise((resolve, reject) => {
    const socket: Socket & { closedAt?: number } = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('close', () => (socket.closedAt = Date.now()));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

describe('connections', () => {
  it('closes a connection that sends no complete request within the request timeout', async () => {
    const silent = await open();
    const partial = await open();
    partial.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await waitFor('both to be closed', () => silent.closedAt && partial.closedAt, 10_000);
  });

  it('answers what the HTTP parser refuses in the error shape, then closes: headers over 16 KiB, bytes that are not HTTP', async () => {
    const exchange = async (bytes: string) => {
      const socket = await open();
      let text = '';
      socket.on('data', (c) => (text += c));
      socket.write(bytes);
      await waitFor('the answer and the close', () => socket.closedAt, 10_000);
      const [head, body] = text.split('\r\n\r\n');
      return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: JSON.parse(body) as unknown };
    };
    const errorShape = (code: string) => ({ error: { code, message: expect.any(String) } });
    expect(await exchange(`GET /healthz?before=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toEqual({ status: 431, body: errorShape('headers_too_large') });
    expect(await exchange('\x16\x03\x01 not http at all\r\n\r\n')).toEqual({ status: 400, body: errorShape('bad_request') });
  });

  it('closes the connection of a 401 once answered', async () => {
    const socket = await open();
    let text = '';
    socket.on('data', (c) => (text += c));
    socket.write('GET /whatsapp-web/sessions HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the 401 and the close', () => socket.closedAt, 10_000);
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    expect(text.toLowerCase()).toContain('connection: close');
  });

  it('holds at most the cap of unauthenticated connections per address, and /healthz still answers', async () => {
    const flood = await Promise.all(Array.from({ length: CAP * 3 }, () => open()));
    await waitFor('the oldest to be closed', () => flood.filter((s) => !s.closedAt).length <= CAP, 10_000);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    // Authenticated requests are not capped: they free their connection's place.
    const authed = await Promise.all(Array.from({ length: CAP * 2 }, () => fetch(`http://127.0.0.1:${port}/whatsapp-web/sessions`, { headers: { authorization: `Bearer ${KEY}` } })));
    expect(authed.map((r) => r.status)).toEqual(Array(CAP * 2).fill(200));
    for (const s of flood) s.destroy();
  });
});

describe('bodies and logs', () => {
  const post = (payload: string) =>
    api.app.inject({ method: 'POST', url: '/whatsapp-web/session/deep/sync-chats', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, payload });

  it('refuses JSON nested deeper than 64 levels with a 400, before parsing it', async () => {
    const deep = '['.repeat(500_000) + ']'.repeat(500_000);
    const res = await post(deep);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('json_too_deep');
    // 64 levels inside a string are only characters.
    const shallow = await post(JSON.stringify({ chatIds: ['['.repeat(200)] }));
    expect(shallow.json().error.code).not.toBe('json_too_deep');
  });

  it('never logs a key in the query, whatever the parameter\'s spelling', async () => {
    const secret = 'query-secret-value-7731';
    for (const query of [`token=${secret}`, `%74oken=${secret}`, `token[]=${secret}`, `TOKEN=${secret}`, `tok%65n%5B%5D=${secret}`]) {
      await api.app.inject({ url: `/whatsapp-web/session/s1/events?${query}` });
      await api.app.inject({ url: `/ws?${query}` });
    }
    await waitFor('request log lines', () => api.logs.some((l) => l.includes('tok%65n%5B%5D')), 5_000);
    expect(api.logs.join('\n')).not.toContain(secret);
  });
});

it('refuses to boot a route that declares no access', async () => {
  const app = Fastify();
  installAccess(app, { keys: new OperatorKeys(KEY), uiPrefixes: [], defaultAccess: () => undefined });
  expect(() => app.get('/forgotten', async () => ({}))).toThrow(/declares no access/);
  app.get('/declared', { config: { access: 'operator' } }, async () => ({}));
  await app.close();
});
