/**
 * Linking a phone over HTTP: `GET …/qr` (PNG or JSON by Accept) and `POST …/pairing-code`,
 * answered by the session runner that holds the client (the simulated engine) through the
 * `session-commands` queue, routed to the session's owner. Real Redis, real store, the runner as
 * its main.ts wires it (createRunner); the API through `inject`.
 */
import { type Redis, createLogger, createRedis } from '@wa-sync/shared/runtime';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { type Runner, createRunner } from '../services/session-runner/src/runner.factory';
import { prefersPng } from '../services/api/src/routes/link.routes';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Long enough that the QR is still up when the test asks for a code, on a busy machine too. */
const AUTO_SCAN_MS = 4_000;

let redisServer: PrivateRedis;
let api: ApiFixture;
let runnerRedis: Redis;
let runner: Runner;

beforeAll(async () => {
  redisServer = await startRedis();
  api = await startApi(redisServer.url, { pairingTimeoutMs: 5_000 });
  // The runner's side, as its main.ts wires it, on the API's store (one process, one SQLite file).
  runnerRedis = createRedis(redisServer.url);
  runner = createRunner(
    {
      engine: new SimulatedEngine({ chats: 3, messagesPerChat: 5, autoScanMs: AUTO_SCAN_MS, qrRefreshMs: 60_000 }),
      store: api.store,
      redis: runnerRedis,
      subscriber: createRedis(redisServer.url),
      logger: createLogger('test', 'silent'),
    },
    { runnerId: 'link-runner', leaseMs: 5_000, maxSessions: null, limitPerChat: 5, fetchConcurrency: 2, jobLockMs: 5_000, stalledCheckMs: 1_000 },
  );
  await runner.start();
});

afterAll(async () => {
  await runner?.close(); // idempotent: the last test closes it already
  await runnerRedis?.quit();
  await api?.close();
  await redisServer?.stop();
});

async function startLinking(sessionId: string): Promise<void> {
  await api.store.ensureSession(sessionId);
  // A session the store wants running (status `starting`) is claimed by the runner.
  await runner.ownership.tickNow();
  await waitFor('the QR', async () => (await api.store.getSession(sessionId))?.status === 'qr', 10_000);
}

const inject = (method: 'GET' | 'POST', url: string, extra: { headers?: Record<string, string>; payload?: unknown } = {}) =>
  api.app.inject({ method, url, ...extra } as never);

describe('GET /whatsapp-web/session/:id/qr', () => {
  it.each([
    [undefined, 'png'],
    ['*/*', 'png'],
    ['image/*', 'png'],
    ['image/png', 'png'],
    ['text/html,image/avif,image/webp,image/png,*/*;q=0.8', 'png'],
    ['application/json', 'json'],
    ['application/json, */*', 'json'],
    ['application/json;q=0.5, image/png;q=0.4', 'json'],
    ['image/png;q=0, */*', 'json'],
    ['text/html', 'json'],
  ])('Accept %p gets the %s form', (accept, form) => {
    expect(prefersPng({ headers: accept === undefined ? {} : { accept } }) ? 'png' : 'json').toBe(form);
  });

  it('is a 404 in the error shape for an unknown session and for a session showing no QR', async () => {
    const unknown = await inject('GET', '/whatsapp-web/session/nobody/qr');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: 'session_not_found', message: expect.any(String) } });

    await api.store.ensureSession('no-qr');
    const none = await inject('GET', '/whatsapp-web/session/no-qr/qr');
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('qr_not_found');
  });

  it('answers the current QR as a PNG, or as JSON when the client asks for JSON', async () => {
    await startLinking('qr-http');
    const png = await inject('GET', '/whatsapp-web/session/qr-http/qr', { headers: { accept: 'image/png,*/*;q=0.8' } });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(0, 8)).toEqual(PNG_MAGIC);

    const anything = await inject('GET', '/whatsapp-web/session/qr-http/qr', { headers: { accept: '*/*' } });
    expect(anything.headers['content-type']).toBe('image/png');

    const json = await inject('GET', '/whatsapp-web/session/qr-http/qr', { headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(200);
    const body = json.json();
    expect(body.qr).toMatch(/^2@/);
    // The PNG answer is the very image of the data URL.
    expect(Buffer.from(body.qrDataUrl.split(',')[1], 'base64')).toEqual(png.rawPayload);
    await runner.sessions.stop('qr-http', { logout: false });
  });
});

describe('POST /whatsapp-web/session/:id/pairing-code', () => {
  it('refuses a bad phone number (400) and a session that is not linking (409)', async () => {
    await api.store.ensureSession('idle');
    for (const phoneNumber of ['12', 'call me', '+0 123 4567', 12025550108]) {
      const res = await inject('POST', '/whatsapp-web/session/idle/pairing-code', { payload: { phoneNumber } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/^body\.phoneNumber/);
    }
    const res = await inject('POST', '/whatsapp-web/session/idle/pairing-code', { payload: { phoneNumber: '12025550108' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('not_linking');
    expect((await inject('POST', '/whatsapp-web/session/ghost/pairing-code', { payload: { phoneNumber: '12025550108' } })).statusCode).toBe(404);
  });

  it('gets a code from the runner holding the client, the same for the same phone, then the phone links', async () => {
    await startLinking('pair');
    const first = await inject('POST', '/whatsapp-web/session/pair/pairing-code', { payload: { phoneNumber: '+1 (202) 555-0108' } });
    expect([first.statusCode, first.body]).toEqual([200, expect.any(String)]);
    const { code } = first.json();
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    const again = await inject('POST', '/whatsapp-web/session/pair/pairing-code', { payload: { phoneNumber: '12025550108' } });
    expect(again.json()).toEqual({ code });
    const other = await inject('POST', '/whatsapp-web/session/pair/pairing-code', { payload: { phoneNumber: '4915112345678' } });
    expect(other.json().code).not.toBe(code);

    await waitFor('the session to be ready', async () => (await api.store.getSession('pair'))?.status === 'ready', 20_000);
    const late = await inject('POST', '/whatsapp-web/session/pair/pairing-code', { payload: { phoneNumber: '12025550108' } });
    expect(late.statusCode).toBe(409);
    expect((await inject('GET', '/whatsapp-web/session/pair/qr')).statusCode).toBe(404);
    await runner.sessions.stop('pair', { logout: false });
  });

  it('answers 503 when no runner answers, and leaves no job behind for later', async () => {
    const fast = await startApi(redisServer.url, { pairingTimeoutMs: 300 });
    await runner.close(); // the only runner is gone: nobody takes commands
    try {
      await fast.store.ensureSession('orphan');
      await fast.store.setSessionStatus('orphan', 'qr');
      const res = await fast.app.inject({ method: 'POST', url: '/whatsapp-web/session/orphan/pairing-code', payload: { phoneNumber: '12025550108' } });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('runner_unavailable');
      expect(await fast.deps.commands.getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 0 });
    } finally {
      await fast.close();
    }
  });
});
