/**
 * Webhooks that cannot reach inside the network, and a sender a receiver cannot take down
 * (issue 23 items 5–7): the create body (API in-process on a real Redis), WEBHOOK_URL at boot and
 * the send-time rule (sync-workers as processes), a 1.5 GB answer measured on the worker's RSS.
 * Needs a build (`npx tsc -b`).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { QueueName } from '@wa-sync/shared/contracts';
import { Webhook } from 'standardwebhooks';
import { createLogger, createRedis, type Redis, WebhookSecretCipher } from '@wa-sync/shared/runtime';
import { createStore, type Store } from '@wa-sync/shared/store';
import { deliveryConfig } from '../services/sync-workers/src/delivery.config';
import { DeliveryRouter } from '../services/sync-workers/src/delivery.router';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { waitFor } from './support/wait-for';

/** Every URL form of the "Done when" list; a name resolving to 127.0.0.1 is added below. */
const REFUSED: [string, string][] = [
  ['loopback', 'http://127.0.0.1:8080/h'],
  ['127.1', 'http://127.1/h'],
  ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
  ['10/8', 'http://10.0.0.7/h'],
  ['172.16/12', 'http://172.16.5.4/h'],
  ['192.168/16', 'https://192.168.1.1/h'],
  ['[::1]', 'http://[::1]:3000/h'],
  ['[::ffff:127.0.0.1]', 'http://[::ffff:127.0.0.1]/h'],
  ['[fc00::]', 'http://[fc00::]/h'],
  ['0.0.0.0', 'http://0.0.0.0/h'],
  ['2130706433', 'http://2130706433/h'],
  ['0x7f000001', 'http://0x7f000001/h'],
  ['localhost', 'http://localhost:9/h'],
  ['credentials', 'https://user:pw@example.com/h'],
];
const SECRET_KEY = 'a-webhook-secret-key-of-at-least-32-chars';
const SECRET = `whsec_${Buffer.alloc(24, 3).toString('base64')}`;
/** This machine's own name: it resolves to loopback (/etc/hosts) or a private address, refused either way. */
const OWN_NAME = hostname();

describe('webhook URLs at create time', () => {
  let redisServer: PrivateRedis;
  let api: ApiFixture;
  beforeAll(async () => {
    redisServer = await startRedis();
    api = await startApi(redisServer.url);
  });
  afterAll(async () => {
    await api?.close();
    await redisServer?.stop();
  });

  it.each([...REFUSED, ['this machine\'s name', `http://${OWN_NAME}:4000/h`]])('refuses %s with 400 webhook_url_forbidden, creating nothing', async (what, url) => {
    const id = `refused-${REFUSED.findIndex(([w]) => w === what) + 1}`;
    const res = await api.app.inject({ method: 'POST', url: `/whatsapp-web/session/${id}`, payload: { webhooks: [{ url: 'https://example.com/ok' }, { url }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'webhook_url_forbidden', message: expect.stringMatching(/^body\.webhooks\.1\.url: /) } });
    expect(await api.store.getSession(id)).toBeNull();
    expect(res.body).not.toContain('pw@');
    expect(api.logs.join('\n')).not.toContain('user:pw');
  });

  it('seals webhook secrets with WEBHOOK_SECRET_KEY before the store sees them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-sync-sealed-'));
    const file = join(dir, 'wa-sync.db');
    const sealing = await startApi(redisServer.url, { webhookSecretKey: SECRET_KEY }, `sqlite:${file}`);
    try {
      const res = await sealing.app.inject({ method: 'POST', url: '/whatsapp-web/session/sealed', payload: { webhooks: [{ url: 'https://93.184.216.34/h', secret: SECRET }] } });
      expect(res.statusCode).toBe(201);
      const [stored] = await sealing.store.getSessionWebhooks('sealed');
      expect(stored.secret).toMatch(/^wsenc:v1:/);
      expect(new WebhookSecretCipher(SECRET_KEY).open(stored.secret!)).toBe(SECRET);
      await sealing.store.close();
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(SECRET.slice(6))).toBe(false);
    } finally {
      await sealing.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts a public URL and stores it', async () => {
    const res = await api.app.inject({ method: 'POST', url: '/whatsapp-web/session/public-hook', payload: { webhooks: [{ url: 'https://93.184.216.34/h' }] } });
    expect(res.statusCode).toBe(201);
    expect(await api.store.getSessionWebhooks('public-hook')).toEqual([{ url: 'https://93.184.216.34/h' }]);
  });
});

describe('WEBHOOK_URL at boot', () => {
  it('stops the sync workers with a message naming WEBHOOK_URL for every refused form', async () => {
    const cases = [...REFUSED, ['this machine\'s name', `http://${OWN_NAME}:4000/h`]];
    const results: string[] = [];
    // A few at a time: each is a Node process booting on a shared machine.
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4).map(async ([what, url]) => {
        const s = startService('sync-workers', { REDIS_URL: 'redis://127.0.0.1:1', STORE_URL: 'sqlite:/nonexistent/never-opened.db', WEBHOOK_URL: url });
        const code = await s.exited;
        results.push(`${what}: ${code} ${/WEBHOOK_URL: webhook_url_forbidden: /.test(s.output()) ? 'named' : s.output()}`);
      });
      await Promise.all(batch);
    }
    expect(results.sort()).toEqual(cases.map(([what]) => `${what}: 1 named`).sort());
  });
});

/** A receiver: `/huge` answers the first try of session `huge`'s event 500 with a 1.5 GB chunked body; all else 204. */
class BigReceiver {
  readonly hits: { path: string; id: string; headers: Record<string, string>; body: string }[] = [];
  /** Bytes `/huge` wrote before the client hung up. */
  hugeWritten = 0;
  hugeClosed = false;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<BigReceiver> {
    let r!: BigReceiver;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const id = String(req.headers['webhook-id']);
        const tries = r.hits.filter((h) => h.path === path && h.id === id).length;
        r.hits.push({ path, id, headers: req.headers as Record<string, string>, body });
        if (path !== '/huge' || !id.startsWith('huge.') || tries > 0) return void res.writeHead(204).end();
        res.writeHead(500, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(256 * 1024, 120);
        const pump = () => {
          while (!res.destroyed && r.hugeWritten < 1.5 * 1024 ** 3) {
            r.hugeWritten += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end();
        };
        res.on('close', () => (r.hugeClosed = true));
        pump();
      });
    });
    r = new BigReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return r;
  }

  url(host: string, path: string): string {
    return `http://${host}:${(this.server.address() as AddressInfo).port}${path}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

describe('the sync workers sending webhooks', () => {
  let redisServer: PrivateRedis;
  let dir: string;
  let store: Store;
  let redis: Redis;
  let router: DeliveryRouter;
  let queue: Queue;
  let receiver: BigReceiver;
  let workers: ServiceProcess;
  let seq = 0;

  beforeAll(async () => {
    redisServer = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'wa-sync-webhook-safety-'));
    const storeUrl = `sqlite:${join(dir, 'wa-sync.db')}`;
    store = await createStore(storeUrl);
    redis = createRedis(redisServer.url);
    receiver = await BigReceiver.start();
    // The receiver is allowed by name (WEBHOOK_ALLOWED_HOSTS=localhost), not by WEBHOOK_ALLOW_PRIVATE:
    // the same receiver reached as 127.0.0.1 stays refused.
    const env = {
      REDIS_URL: redisServer.url,
      STORE_URL: storeUrl,
      WEBHOOK_URL: receiver.url('localhost', '/huge'),
      WEBHOOK_ALLOWED_HOSTS: 'localhost',
      WEBHOOK_BACKOFF_MS: '100',
      WEBHOOK_MAX_BACKOFF_MS: '200',
      WEBHOOK_SECRET_KEY: SECRET_KEY,
    };
    workers = startService('sync-workers', env);
    await workers.waitForOutput(/sync workers started/);
    const config = deliveryConfig();
    config.webhooks.urls = [env.WEBHOOK_URL];
    router = new DeliveryRouter(config, redis, createLogger('test', 'silent'));
    queue = new Queue(QueueName.deliveryWebhook, { connection: redis });
  });

  afterAll(async () => {
    await workers?.stop();
    await router?.close();
    await queue?.close();
    redis?.disconnect();
    await store?.close();
    await receiver?.close();
    await redisServer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Hands one session_ready of `sessionId` to the delivery queue, as finalize does. */
  const ready = (sessionId: string) => router.enqueue([{ sessionId, event: 'session_ready', id: `${Date.now()}-${seq++}`, data: { sessionId } }], (s) => hooksOf.get(s) ?? []);
  const hooksOf = new Map<string, { url: string }[]>();
  const jobsOf = async (sessionId: string) => (await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed'])).filter((j) => j.data.sessionId === sessionId);

  it('a 1.5 GB answer to a 500 moves the worker RSS by less than 32 MiB, and the delivery is retried like any failure', async () => {
    // Warm-up: a delivery that goes through, so what the first request loads is in the baseline.
    hooksOf.set('warm', []);
    await ready('warm');
    await waitFor('the warm-up delivery', async () => (await jobsOf('warm')).some((j) => j.finishedOn && !j.failedReason), 30_000, () => workers.output());
    const before = rssBytes(workers.child.pid!);

    hooksOf.set('huge', []);
    await ready('huge');
    await waitFor('the retry after the huge answer', () => receiver.hits.filter((h) => h.path === '/huge' && h.id.startsWith('huge.')).length === 2, 60_000, () => workers.output());
    const [job] = await jobsOf('huge');
    await waitFor('the delivery to complete', async () => (await job.isCompleted()) || undefined, 30_000);
    const after = rssBytes(workers.child.pid!);

    expect(receiver.hugeClosed).toBe(true);
    expect(receiver.hugeWritten).toBeLessThan(64 * 1024 * 1024); // the worker hung up long before 1.5 GB
    expect(after - before).toBeLessThan(32 * 1024 * 1024);
    const done = (await queue.getJob(job.id!))!;
    expect(done.attemptsMade).toBe(2);
  });

  it('a stored webhook the rule refuses fails for good with the reason, said once in the log, credentials never in job data', async () => {
    const S = 'stored-before';
    const hooks = [{ url: receiver.url('127.0.0.1', '/stored') }, { url: receiver.url('localhost', '/creds').replace('http://', 'http://user:pw@') }];
    await store.ensureSession(S);
    await store.setSessionWebhooks(S, hooks);
    hooksOf.set(S, hooks);
    for (let i = 0; i < 3; i++) await ready(S);
    const stored = async () => (await jobsOf(S)).filter((j) => j.data.source === 'session');
    await waitFor('the stored webhooks to fail', async () => (await stored()).filter((j) => j.failedReason).length === 6 || undefined, 30_000, () => workers.output());
    for (const j of await stored()) {
      expect(j.attemptsMade).toBe(1); // not retried: retrying cannot help
      expect(j.data.url).not.toContain('pw');
      expect(j.failedReason).toMatch(j.data.url.includes('/stored') ? /^webhook_url_forbidden: the host is a loopback address/ : /^webhook_url_forbidden: the URL carries credentials/);
    }
    expect(receiver.hits.filter((h) => h.path === '/stored' || h.path === '/creds')).toEqual([]);
    await waitFor('both refusals logged', () => (workers.output().match(/webhook refused by the URL rule/g) ?? []).length >= 2 || undefined, 5_000);
    expect(workers.output().match(/webhook refused by the URL rule/g)).toHaveLength(2); // one per URL, not one per event
    expect(workers.output()).not.toContain('user:pw');
  });

  it('opens a sealed secret to sign the request; plain secrets stored before still sign', async () => {
    const cipher = new WebhookSecretCipher(SECRET_KEY);
    const hooks = [{ url: receiver.url('localhost', '/sealed'), secret: cipher.seal(SECRET) }, { url: receiver.url('localhost', '/plain'), secret: SECRET }];
    await store.ensureSession('signed');
    await store.setSessionWebhooks('signed', hooks);
    hooksOf.set('signed', hooks);
    await ready('signed');
    await waitFor('both signed deliveries', () => receiver.hits.filter((h) => h.path === '/sealed' || h.path === '/plain').length === 2 || undefined, 30_000, () => workers.output());
    for (const hit of receiver.hits.filter((h) => h.path === '/sealed' || h.path === '/plain')) {
      expect(() => new Webhook(SECRET).verify(hit.body, hit.headers)).not.toThrow();
    }
    // No secret, sealed or not, in the job data.
    for (const j of (await jobsOf('signed'))) expect(JSON.stringify(j.data)).not.toMatch(/whsec_|wsenc:/);
  });
});
