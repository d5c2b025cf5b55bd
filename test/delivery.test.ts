/**
 * Downstream delivery end to end in one process: the session runner's manager and the sync
 * workers on a private Redis and a SQLite file (sync-harness), the simulated account, the real
 * RabbitMQ (AMQP_TEST_URL) behind a TCP proxy we start and stop, and a webhook receiver that
 * verifies every signature with `standardwebhooks`. Backoffs are short so retries fit a test.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { type BusEnvelope, EventNameSchema, Keys, QueueName, type SessionEvents, type SyncSnapshot } from '@wa-sync/shared/contracts';
import { EventLog, SessionQueues, SyncLedger, readBrokerReports, readDeliveryBacklog, webhookUrlPolicy } from '@wa-sync/shared/runtime';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import type { SessionManager } from '../services/session-runner/src/session.manager';
import { deliveryConfig } from '../services/sync-workers/src/delivery.config';
import { EventDispatcher } from '../services/sync-workers/src/event.dispatcher';
import { runFinalizeSync } from '../services/sync-workers/src/finalize-sync.handler';
import { AMQP_TEST_URL, QueueConsumer, brokerReachableSync, describeWithBroker, uniqueQueueName } from './support/amqp';
import { SyncHarness } from './support/sync-harness';
import { TcpProxy } from './support/tcp-proxy';
import { WebhookReceiver } from './support/webhook-receiver';
import { waitFor } from './support/wait-for';

const secret = () => `whsec_${randomBytes(24).toString('base64')}`;
const ENV_SECRET = secret();
const SESSION_SECRET = secret();
/** How long the broker stays unreachable in the outage test (the figure is 60 s). */
const OUTAGE_MS = Number(process.env.DELIVERY_OUTAGE_MS ?? 3_000);
const KEEP_COMPLETED = 100;

type Ready = SessionEvents['session_ready'];

describeWithBroker('downstream delivery', brokerReachableSync(), () => {
  let h: SyncHarness;
  let consumer: QueueConsumer;
  let proxy: TcpProxy;
  let receiver: WebhookReceiver;
  let manager: SessionManager;
  const engine = new SimulatedEngine({ chats: 25, messagesPerChat: 12, fetchLatencyMs: 1, failRate: 0, seed: 5, autoScanMs: 10 });

  beforeAll(async () => {
    const broker = new URL(AMQP_TEST_URL);
    proxy = await TcpProxy.open({ host: broker.hostname, port: Number(broker.port || 5672) });
    consumer = await QueueConsumer.start(uniqueQueueName('delivery'));
    receiver = await WebhookReceiver.start({ '/env': ENV_SECRET, '/session': SESSION_SECRET, '/live': SESSION_SECRET, '/poison': SESSION_SECRET });
    h = await SyncHarness.start({
      delivery: deliveryConfig({
        amqp: { url: proxy.url(AMQP_TEST_URL), queue: consumer.queue, events: ['session_ready'], backoffMs: 100, maxBackoffMs: 500 },
        // The receiver is on 127.0.0.1: WEBHOOK_ALLOW_PRIVATE=true, as a development setup has it.
        webhooks: { urls: [receiver.url('/env')], secret: ENV_SECRET, events: ['session_ready'], backoffMs: 100, maxBackoffMs: 500, timeoutMs: 2_000, policy: webhookUrlPolicy({ allowPrivate: true }) },
        retryForMs: OUTAGE_MS + 6_000,
        keepCompleted: KEEP_COMPLETED,
        sweepMs: 60_000,
      }),
    });
    manager = h.manager(engine, { limitPerChat: 12 });
  });

  afterAll(async () => {
    await h?.stop();
    await consumer?.close();
    await proxy?.stop();
    await receiver?.close();
  });

  const readyEvents = (sessionId: string): BusEnvelope<'session_ready'>[] =>
    h.events.filter((e): e is BusEnvelope<'session_ready'> => e.event === 'session_ready' && e.sessionId === sessionId);
  const queued = (sessionId: string) => consumer.byPattern('session_ready').filter((m) => m.body.data.sessionId === sessionId);
  const doneEvent = (syncId: string) => h.events.find((e) => e.event === 'sync_chats' && (e.data as SyncSnapshot).syncId === syncId && (e.data as SyncSnapshot).done);

  it('a sync of 25 chats puts exactly one session_ready on the queue with all 25 chat ids, and signed webhooks', async () => {
    const S = 'deliver-25';
    await h.store.ensureSession(S);
    await h.store.setSessionWebhooks(S, [{ url: receiver.url('/session'), secret: SESSION_SECRET }]);
    await manager.start(S);

    await waitFor('session_ready on the queue and at both receivers', () =>
      queued(S).length >= 1 && receiver.delivered('/env').length >= 1 && receiver.delivered('/session').length >= 1,
    30_000);
    // Nothing else is on its way: the finalize job completed and its deliveries too.
    await waitFor('deliveries to settle', async () => {
      const backlog = await readDeliveryBacklog({ amqp: h.workers!.delivery.router.amqpQueue, webhook: h.workers!.delivery.router.webhookQueue });
      return backlog.amqp.waiting + backlog.amqp.active + backlog.webhook.waiting + backlog.webhook.active === 0;
    });

    const [logged] = readyEvents(S);
    expect(readyEvents(S)).toHaveLength(1);
    expect(queued(S)).toHaveLength(1);
    const [msg] = queued(S);
    const chatIds = engine.account.listChats().map((c) => c.id).sort();
    expect(chatIds).toHaveLength(25);
    expect(msg.body.pattern).toBe('session_ready');
    expect([...msg.body.data.chats].sort()).toEqual(chatIds);
    expect(msg.body.data).toEqual({ ...logged.data, chats: expect.any(Array) });
    expect(msg.body.data).toMatchObject({ sessionId: S, kind: 'full', nChats: 25, chatsFailed: 0, totalMessages: 25 * 12 });
    expect(msg.messageId).toBe(`${S}.${logged.id}`);
    expect(msg.persistent).toBe(true);

    for (const path of ['/env', '/session']) {
      const got = receiver.delivered(path);
      expect(got).toHaveLength(1);
      expect(got[0].verified).toBe(true);
      expect(got[0].headers['webhook-id']).toBe(msg.messageId);
      expect(got[0].headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(got[0].json).toEqual({ type: 'session_ready', sessionId: S, timestamp: expect.any(String), data: msg.body.data });
      expect(Date.parse(got[0].json.timestamp)).toBe(Number(logged.id.split('-')[0]));
    }
  });

  it('a retried finalize logs and delivers session_ready no second time', async () => {
    const S = 'deliver-25';
    const [logged] = readyEvents(S);
    const syncId = logged.data.syncId;
    const workers = h.workers!;
    const again = await runFinalizeSync(
      { sessionId: S, syncId, chatIds: logged.data.chats },
      async () => ({}),
      { store: h.store, ledger: new SyncLedger(h.redis, 2000), router: workers.delivery.router, queues: new SessionQueues(h.redis, h.logger), logger: h.logger },
    );
    expect(again).toEqual(logged.data);
    const log = await new EventLog(h.redis).tail(S, 2000);
    expect(log.filter((e) => e.event === 'session_ready')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(queued(S)).toHaveLength(1);
    expect(receiver.delivered('/env').filter((r) => r.json.sessionId === S)).toHaveLength(1);
  });

  it('delays but loses nothing while the broker is unreachable and a receiver fails three times', async () => {
    const S = 'deliver-25';
    const publisher = h.workers!.delivery.publisher!;
    await proxy.stop();
    await waitFor('the publisher to see the outage', () => publisher.state === 'down', 10_000);
    const reports = await readBrokerReports(h.redis);
    expect(reports.map((r) => r.state)).toEqual(['down']);

    receiver.respond = ({ path, attempt }) => (path === '/env' && attempt <= 3 ? 500 : 204);
    const outageStarted = Date.now();
    const { syncId } = await new SyncLedger(h.redis).request(h.queues, { sessionId: S, reason: 'manual', limitPerChat: 12 });
    await waitFor('the re-sync to finish', () => readyEvents(S).find((e) => e.data.syncId === syncId), 30_000);
    const backlog = await readDeliveryBacklog({ amqp: h.workers!.delivery.router.amqpQueue, webhook: h.workers!.delivery.router.webhookQueue });
    expect(backlog.amqp.waiting + backlog.amqp.active + backlog.amqp.delayed).toBe(1);
    expect(queued(S)).toHaveLength(1);

    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - outageStarted))));
    await proxy.start();
    await waitFor('both session_ready on the queue', () => queued(S).length >= 2, 30_000);
    await waitFor('the failing receiver to get it', () => receiver.delivered('/env').filter((r) => r.json.sessionId === S).length >= 2, 30_000);
    await waitFor('the other receiver to get it', () => receiver.delivered('/session').length >= 2, 30_000);
    process.stdout.write(`broker unreachable for ${Date.now() - outageStarted} ms across a manual re-sync: delivered after recovery\n`);

    // Every logged session_ready arrived; any duplicate would carry the same id and body.
    const loggedIds = readyEvents(S).map((e) => `${S}.${e.id}`);
    expect(new Set(queued(S).map((m) => m.messageId))).toEqual(new Set(loggedIds));
    for (const m of queued(S)) {
      const logged = readyEvents(S).find((e) => `${S}.${e.id}` === m.messageId)!;
      expect(m.body.data).toEqual(logged.data);
    }
    const resynced = `${S}.${readyEvents(S).find((e) => e.data.syncId === syncId)!.id}`;
    const tries = receiver.requests.filter((r) => r.path === '/env' && r.headers['webhook-id'] === resynced);
    expect(tries.map((t) => t.status)).toEqual([500, 500, 500, 204]);
    expect(tries.every((t) => t.verified)).toBe(true);
    expect(new Set(receiver.delivered('/session').map((r) => r.headers['webhook-id']))).toEqual(new Set(loggedIds));
    await waitFor('the broker report to say up', async () => (await readBrokerReports(h.redis))[0]?.state === 'up', 10_000);
  });

  it('hands live events a session webhook asks for to delivery, across a dispatcher crash', async () => {
    const S = 'deliver-live';
    await h.store.ensureSession(S);
    await h.store.setSessionWebhooks(S, [{ url: receiver.url('/live'), events: ['message:new'], secret: SESSION_SECRET }]);
    const log = new EventLog(h.redis);
    const message = (n: number) => ({
      sessionId: S, id: `false_1@c.us_LIVE${n}`, chatId: '1@c.us', fromMe: false, author: null, body: `live #${n}`,
      type: 'chat', timestamp: new Date().toISOString(), ack: 1, hasMedia: false,
    });
    const first = await log.append(S, 'message:new', message(1));
    await log.append(S, 'message:status', { sessionId: S, chatId: '1@c.us', id: 'x', ack: 2 });
    await waitFor('the first live event', () => receiver.delivered('/live').length === 1, 10_000);

    // The process dies: events logged meanwhile wait in the log. Its successor starts from the
    // stored cursor; here it even re-reads the first event, as a crash before the cursor moved would.
    const dispatcher = h.workers!.delivery.dispatcher;
    await dispatcher.close();
    const missed = [await log.append(S, 'message:new', message(2)), await log.append(S, 'message:new', message(3))];
    await h.redis.hset(Keys.deliveryCursors, S, '0-0');
    const successor = new EventDispatcher({ redis: h.redis, store: h.store, log, router: h.workers!.delivery.router, config: deliveryConfig({ sweepMs: 60_000 }), logger: h.logger });
    await successor.start();
    try {
      await waitFor('the missed live events', () => receiver.delivered('/live').length === 3, 10_000);
      await successor.idle();
      await new Promise((r) => setTimeout(r, 300));
      const got = receiver.delivered('/live');
      expect(got.map((r) => r.headers['webhook-id'])).toEqual([first, ...missed].map((id) => `${S}.${id}`));
      expect(got.map((r) => r.json.type)).toEqual(['message:new', 'message:new', 'message:new']);
      expect(got.map((r) => r.json.data.body)).toEqual(['live #1', 'live #2', 'live #3']);
      expect(got.every((r) => r.verified)).toBe(true);
    } finally {
      await successor.close();
    }
  });

  it('delivers message:reaction and message:media to a webhook that asks for them (names AMQP_EVENTS takes too)', async () => {
    // The names AMQP_EVENTS, WEBHOOK_EVENTS and a webhook's `events` are checked against.
    expect(EventNameSchema.array().parse(['message:reaction', 'message:media'])).toEqual(['message:reaction', 'message:media']);
    const S = 'deliver-conv';
    // Signed like every delivery: the receiver checks the paths it knows the secret of.
    receiver.secrets['/live-conv'] = SESSION_SECRET;
    await h.store.ensureSession(S);
    await h.store.setSessionWebhooks(S, [{ url: receiver.url('/live-conv'), events: ['message:reaction', 'message:media'], secret: SESSION_SECRET }]);
    const log = new EventLog(h.redis);
    const reactions = [{ emoji: '👍', senderId: '2@c.us', timestamp: new Date().toISOString() }];
    const media = { mimetype: 'image/png', filename: null, size: 10, sha256: 'a'.repeat(64), durationSeconds: null, status: 'stored' as const, error: null };
    // The harness's dispatcher was closed by the crash test above: this test runs its own.
    const dispatcher = new EventDispatcher({ redis: h.redis, store: h.store, log, router: h.workers!.delivery.router, config: deliveryConfig({ sweepMs: 60_000 }), logger: h.logger });
    await dispatcher.start();
    try {
      await log.append(S, 'message:status', { sessionId: S, chatId: '1@c.us', id: 'x', ack: 2 });
      await log.append(S, 'message:reaction', { sessionId: S, chatId: '1@c.us', id: 'x', reactions });
      await log.append(S, 'message:media', { sessionId: S, chatId: '1@c.us', id: 'x', media });
      await log.append(S, 'message:reaction', { sessionId: S, chatId: '1@c.us', id: 'x', reactions: [] });
      await waitFor('the reaction and media events', () => receiver.delivered('/live-conv').length === 3, 10_000);
      const got = receiver.delivered('/live-conv');
      expect(got.map((r) => [r.json.type, r.json.data.reactions?.length ?? r.json.data.media.status])).toEqual([
        ['message:reaction', 1], ['message:media', 'stored'], ['message:reaction', 0],
      ]);
      expect(got.every((r) => r.verified)).toBe(true);
    } finally {
      await dispatcher.close();
    }
  });

  it('a receiver that never answers 2xx ends as a failed job, without holding up the other targets', async () => {
    const S = 'deliver-poison';
    await h.store.ensureSession(S);
    await h.store.setSessionWebhooks(S, [{ url: receiver.url('/poison'), secret: SESSION_SECRET }]);
    receiver.respond = ({ path }) => (path === '/poison' ? 503 : 204);
    const id = `${Date.now()}-0`;
    const data: Ready = { sessionId: S, syncId: 'poison-sync', kind: 'full', chats: [], nChats: 0, totalMessages: 0, chatsFailed: 0 };
    await h.workers!.delivery.router.enqueue([{ sessionId: S, event: 'session_ready', id, data }], () => [{ url: receiver.url('/poison') }]);
    await waitFor('the queue and the healthy receiver', () => queued(S).length === 1 && receiver.delivered('/env').some((r) => r.json.sessionId === S), 10_000);

    const webhooks = new Queue(QueueName.deliveryWebhook, { connection: h.redis });
    try {
      const failed = await waitFor('the poison delivery to give up', async () => {
        const jobs = await webhooks.getJobs(['failed']);
        return jobs.find((j) => j.data.url === receiver.url('/poison'));
      }, 30_000);
      const tries = receiver.requests.filter((r) => r.path === '/poison');
      expect(tries.length).toBe(failed.attemptsMade);
      expect(tries.length).toBeGreaterThan(3);
      expect(new Set(tries.map((t) => t.headers['webhook-id'])).size).toBe(1);
      expect(failed.failedReason).toMatch(/HTTP 503/);
    } finally {
      await webhooks.close();
    }
  });

  it('keeps Redis bounded after 1,000 syncs: no delivery job beyond the retention', async () => {
    const S = 'deliver-many';
    const N = 1_000;
    await h.store.ensureSession(S);
    const atEnv = () => receiver.delivered('/env').filter((r) => r.json.sessionId === S).length;
    const finalize = new Queue(QueueName.syncFinalize, { connection: h.redis });
    const progress = new SyncLedger(h.redis);
    const started = Date.now();
    try {
      // Syncs of no chat: each is a finalize job, as the runner's flow leaves it once its chats are done.
      for (let i = 0; i < N; i += 100) {
        const batch = Array.from({ length: Math.min(100, N - i) }, (_, k) => `many-${i + k}`);
        await Promise.all(batch.map(async (syncId) => {
          await h.store.startSyncRun({ syncId, sessionId: S, reason: 'manual', nChats: 0 });
          await progress.begin(S, syncId, 0);
        }));
        await finalize.addBulk(batch.map((syncId) => ({ name: 'finalize-sync', data: { sessionId: S, syncId, chatIds: [] }, opts: { jobId: syncId } })));
      }
      await waitFor('1,000 session_ready on the queue', () => queued(S).length >= N, 240_000);
      const seconds = (Date.now() - started) / 1000;
      await waitFor('every webhook', () => atEnv() >= N, 120_000);
      const withHooks = (Date.now() - started) / 1000;
      process.stdout.write(
        `1,000 syncs finalized → 1,000 session_ready on RabbitMQ in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)}/s), ` +
          `and 1,000 signed webhooks by ${withHooks.toFixed(1)} s\n`,
      );
      await waitFor('the delivery queues to drain', async () => {
        const b = await readDeliveryBacklog({ amqp: h.workers!.delivery.router.amqpQueue, webhook: h.workers!.delivery.router.webhookQueue });
        return b.amqp.waiting + b.amqp.active + b.amqp.delayed + b.webhook.waiting + b.webhook.active + b.webhook.delayed === 0;
      }, 60_000);
    } finally {
      await finalize.close();
    }
    expect(atEnv()).toBe(N);
    expect(new Set(queued(S).map((m) => m.messageId)).size).toBe(queued(S).length);
    for (const queue of [h.workers!.delivery.router.amqpQueue, h.workers!.delivery.router.webhookQueue]) {
      const counts = await queue.getJobCounts('completed', 'waiting', 'active', 'delayed');
      expect(counts.completed).toBeLessThanOrEqual(KEEP_COMPLETED);
      expect(counts.waiting + counts.active + counts.delayed).toBe(0);
      // Job hashes in Redis: the retained ones, nothing more.
      const jobKeys = (await h.redis.keys(`bull:${queue.name}:*`)).filter((k) => /:(amqp|webhook)\./.test(k));
      expect(jobKeys.length).toBeLessThanOrEqual(KEEP_COMPLETED + (await queue.getJobCounts('failed')).failed + 10);
    }
    // The once-markers expire with the sync's progress.
    const marker = Keys.sessionReady('many-0');
    expect(await h.redis.ttl(marker)).toBeGreaterThan(0);
  }, 420_000);

  it('figures: RabbitMQ publish throughput with confirms, and sync done → session_ready on the queue', async () => {
    const publisher = h.workers!.delivery.publisher!;
    await waitFor('the broker connection', () => publisher.state === 'up', 15_000);
    const N = 2_000;
    const base = consumer.messages.length;
    const started = Date.now();
    let next = 0;
    const lane = async () => {
      while (next < N) {
        const n = next++;
        await publisher.publish({ eventId: `bench.1700000000000-${n}`, sessionId: 'bench', event: 'session_ready', timestamp: new Date().toISOString(), data: { n } });
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    const seconds = (Date.now() - started) / 1000;
    await waitFor('the bench messages', () => consumer.messages.length - base >= N, 30_000);
    process.stdout.write(`RabbitMQ: ${N} persistent publishes with confirms, 8 in flight, in ${seconds.toFixed(2)} s = ${(N / seconds).toFixed(0)} events/s\n`);

    // The same through delivery jobs, as events travel: BullMQ job → worker (DELIVERY_CONCURRENCY 8) → confirm.
    const viaJobs = consumer.messages.length;
    const jobsStarted = Date.now();
    await h.workers!.delivery.router.amqpQueue.addBulk(
      Array.from({ length: N }, (_, n) => ({
        name: 'publish-event',
        data: { eventId: `bench.1700000000001-${n}`, sessionId: 'bench', event: 'session_ready' as const, timestamp: new Date().toISOString(), data: { n } },
        opts: { jobId: `amqp.bench.1700000000001-${n}`, removeOnComplete: { count: KEEP_COMPLETED } },
      })),
    );
    await waitFor('the delivery jobs', () => consumer.messages.length - viaJobs >= N, 120_000);
    const jobSeconds = (Date.now() - jobsStarted) / 1000;
    process.stdout.write(`RabbitMQ through delivery jobs: ${N} events in ${jobSeconds.toFixed(2)} s = ${(N / jobSeconds).toFixed(0)} events/s\n`);

    const S = 'deliver-latency';
    await h.store.ensureSession(S);
    const small = new SimulatedEngine({ chats: 3, messagesPerChat: 5, fetchLatencyMs: 1, failRate: 0, seed: 9, autoScanMs: 10 });
    await h.manager(small, { limitPerChat: 5 }).start(S);
    await waitFor('the first sync', () => queued(S).length === 1, 30_000);
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const { syncId } = await new SyncLedger(h.redis).request(h.queues, { sessionId: S, reason: 'manual', limitPerChat: 5 });
      const msg = await waitFor('session_ready on the queue', () => queued(S).find((m) => m.body.data.syncId === syncId), 30_000);
      const done = doneEvent(syncId)!;
      latencies.push(msg.receivedAt - Number(done.id.split('-')[0]));
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
    process.stdout.write(`sync done → session_ready consumed from RabbitMQ over ${latencies.length} syncs: p50 ${pct(50)} ms, p99 ${pct(99)} ms\n`);
    expect(latencies).toHaveLength(40);
  });
});
