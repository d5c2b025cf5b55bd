/**
 * Delivery as an operator runs it: the session runner and the sync workers as processes
 * configured by their environment (AMQP_URL, WEBHOOK_URL…), the API in-process on the same
 * Redis and SQLite file. Sessions get their webhooks in the create body; /readyz and /metrics
 * show the broker's state and the backlog, also through an outage (a TCP proxy we stop, never the
 * broker). Needs a build (`npx tsc -b`) and RabbitMQ (AMQP_TEST_URL).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webhookUrlPolicy } from '@wa-sync/shared/runtime';
import { Readiness } from '../services/api/src/routes/health.schemas';
import { AMQP_TEST_URL, QueueConsumer, brokerReachableSync, describeWithBroker, uniqueQueueName } from './support/amqp';
import { type ApiFixture, startApi } from './support/api-fixture';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/wait-for';
import { WebhookReceiver } from './support/webhook-receiver';

const ENV_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const SESSION_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const S = 'delivery-services';

describe('session webhooks in the create body', () => {
  let redisServer: PrivateRedis;
  let api: ApiFixture;
  beforeAll(async () => {
    redisServer = await startRedis();
    // One of the hooks below is on 127.0.0.1: WEBHOOK_ALLOW_PRIVATE=true, as a development setup has it.
    api = await startApi(redisServer.url, { webhookPolicy: webhookUrlPolicy({ allowPrivate: true }) });
  });
  afterAll(async () => {
    await api?.close();
    await redisServer?.stop();
  });

  const create = (id: string, body?: unknown) =>
    api.app.inject({ method: 'POST', url: `/whatsapp-web/session/${id}`, ...(body === undefined ? {} : { payload: body as object }) });

  it.each([
    ['a non-http URL', [{ url: 'ftp://example.com/hook' }], /body\.webhooks\.0\.url: must be an http/],
    ['no URL at all', [{ url: 'not a url' }], /body\.webhooks\.0\.url/],
    ['a javascript: URL', [{ url: 'javascript:alert(1)' }], /body\.webhooks\.0\.url/],
    ['an unknown event', [{ url: 'https://example.com/h', events: ['message:deleted'] }], /body\.webhooks\.0\.events\.0: must be one of/],
    ['a secret that is not whsec_', [{ url: 'https://example.com/h', secret: 'hunter2' }], /body\.webhooks\.0\.secret: must be a Standard Webhooks secret/],
    ['not a list', { url: 'https://example.com/h' }, /body\.webhooks/],
  ])('refuses %s with a 400 at create time, creating nothing', async (_what, webhooks, message) => {
    const res = await create('bad-hooks', { webhooks });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'bad_request', message: expect.stringMatching(message) } });
    expect(await api.store.getSession('bad-hooks')).toBeNull();
  });

  it('stores them without ever answering with a secret; absent keeps them, [] removes them', async () => {
    const hooks = [{ url: 'https://example.com/a', events: ['session_ready', 'message:new'], secret: SESSION_SECRET }, { url: 'http://127.0.0.1:9/b' }];
    const res = await create('good-hooks', { webhooks: hooks });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ sessionId: 'good-hooks', status: 'starting' });
    expect(await api.store.getSessionWebhooks('good-hooks')).toEqual(hooks);
    const view = await api.app.inject({ url: '/whatsapp-web/session/good-hooks' });
    expect(view.body).not.toContain('whsec_');
    expect((await create('good-hooks')).statusCode).toBe(200);
    expect(await api.store.getSessionWebhooks('good-hooks')).toEqual(hooks);
    await create('good-hooks', { webhooks: [] });
    expect(await api.store.getSessionWebhooks('good-hooks')).toEqual([]);
  });
});

describeWithBroker('delivery from the services as processes', brokerReachableSync(), () => {
  let redisServer: PrivateRedis;
  let dir: string;
  let api: ApiFixture;
  let proxy: TcpProxy;
  let consumer: QueueConsumer;
  let receiver: WebhookReceiver;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    redisServer = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'wa-sync-delivery-'));
    const storeUrl = `sqlite:${join(dir, 'wa-sync.db')}`;
    api = await startApi(redisServer.url, { webhookPolicy: webhookUrlPolicy({ allowPrivate: true }) }, storeUrl);
    const broker = new URL(AMQP_TEST_URL);
    proxy = await TcpProxy.open({ host: broker.hostname, port: Number(broker.port || 5672) });
    consumer = await QueueConsumer.start(uniqueQueueName('services'));
    receiver = await WebhookReceiver.start({ '/env': ENV_SECRET, '/session': SESSION_SECRET });
    const env = {
      REDIS_URL: redisServer.url,
      STORE_URL: storeUrl,
      SIM_CHATS: '25',
      SIM_MESSAGES_PER_CHAT: '5',
      SIM_FETCH_LATENCY_MS: '1',
      SIM_AUTO_SCAN_MS: '50',
      AMQP_URL: proxy.url(AMQP_TEST_URL),
      AMQP_QUEUE: consumer.queue,
      AMQP_BACKOFF_MS: '100',
      AMQP_MAX_BACKOFF_MS: '500',
      WEBHOOK_URL: receiver.url('/env'),
      WEBHOOK_SECRET: ENV_SECRET,
      WEBHOOK_BACKOFF_MS: '100',
      WEBHOOK_MAX_BACKOFF_MS: '500',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    };
    const workers = startService('sync-workers', env);
    const runner = startService('session-runner', env);
    services.push(workers, runner);
    await workers.waitForOutput(/sync workers started/);
    await runner.waitForOutput(/session runner started/);
  });

  afterAll(async () => {
    for (const s of services) await s.stop();
    await api?.close();
    await consumer?.close();
    await proxy?.stop();
    await receiver?.close();
    await redisServer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const readyz = async () => {
    const res = await api.app.inject({ url: '/readyz' });
    return Readiness.parse(res.json());
  };
  const metric = async (pattern: RegExp) => {
    const text = (await api.app.inject({ url: '/metrics' })).body;
    return text.split('\n').filter((l) => pattern.test(l));
  };
  const queued = () => consumer.byPattern('session_ready');

  it('a session created with a webhook gets one signed session_ready per sync, and RabbitMQ one message with its 25 chats', async () => {
    const res = await api.app.inject({ method: 'POST', url: `/whatsapp-web/session/${S}`, payload: { webhooks: [{ url: receiver.url('/session'), secret: SESSION_SECRET }] } });
    expect(res.statusCode).toBe(201);
    await waitFor('session_ready everywhere', () => queued().length === 1 && receiver.delivered('/env').length === 1 && receiver.delivered('/session').length === 1, 60_000, () => services.map((s) => s.output()).join('\n'));
    const [msg] = queued();
    expect(msg.body.data.chats).toHaveLength(25);
    expect(new Set(msg.body.data.chats).size).toBe(25);
    expect(msg.body.data).toMatchObject({ sessionId: S, kind: 'full', nChats: 25, chatsFailed: 0 });
    for (const hook of [...receiver.delivered('/env'), ...receiver.delivered('/session')]) {
      expect(hook.verified).toBe(true);
      expect(hook.headers['webhook-id']).toBe(msg.messageId);
    }

    const ready = await readyz();
    expect(ready.status).toBe('ok');
    expect(ready.delivery.broker).toBe('up');
    expect(ready.delivery.workers).toEqual([{ worker: expect.any(String), state: 'up', since: expect.any(String) }]);
    expect(await metric(/^wa_sync_delivery_broker_up\{/)).toEqual([expect.stringMatching(/ 1$/)]);
  });

  it('shows the outage and the backlog while the broker is away, then delivers it all', async () => {
    await proxy.stop();
    await waitFor('/readyz to report the broker down', async () => /^down: /.test((await readyz()).delivery.broker), 15_000);
    expect((await readyz()).status).toBe('ok'); // the API itself still serves

    const sync = await api.app.inject({ method: 'POST', url: `/whatsapp-web/session/${S}/sync-chats`, payload: {} });
    expect(sync.statusCode).toBe(202);
    await waitFor('the webhooks of the re-sync', () => receiver.delivered('/env').length === 2, 60_000);
    const during = await readyz();
    const amqp = during.delivery.backlog!.amqp;
    expect(amqp.waiting + amqp.active + amqp.delayed).toBe(1);
    const gauge = await metric(/^wa_sync_delivery_jobs\{target="amqp",state="(waiting|active|delayed)"\}/);
    expect(gauge.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)).toBe(1);
    expect(await metric(/^wa_sync_delivery_broker_up\{/)).toEqual([expect.stringMatching(/ 0$/)]);
    expect(queued()).toHaveLength(1);

    await proxy.start();
    await waitFor('the re-sync on the queue', () => queued().length === 2, 30_000);
    expect(new Set(queued().map((m) => m.messageId)).size).toBe(2);
    expect(queued()[1].messageId).toBe(receiver.delivered('/env')[1].headers['webhook-id']);
    await waitFor('/readyz to report the broker up', async () => (await readyz()).delivery.broker === 'up', 15_000);
    await waitFor('the backlog to drain', async () => {
      const b = (await readyz()).delivery.backlog!;
      return b.amqp.waiting + b.amqp.delayed + b.amqp.active === 0;
    }, 15_000);
  });
});
