import { type BusEnvelope, listRunners, SESSION_QUEUE_PREFIX, type SyncSnapshot } from '@wa-sync/shared/contracts';

/** The label every per-session queue's counts are summed under. */
export const SESSION_QUEUES_LABEL = `${SESSION_QUEUE_PREFIX}*`;
import {
  DELIVERY_QUEUES,
  type Logger,
  readBrokerReports,
  readProcessReports,
  readDeliveryBacklog,
  type Redis,
  type SyncLedger,
  withTimeout,
} from '@wa-sync/shared/runtime';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SocketHub } from '../ws/socket.hub';
import type { QueueDirectory } from './queue.directory';

export interface MetricsDeps {
  directory: QueueDirectory;
  hub: SocketHub;
  redis: Redis;
  ledger: SyncLedger;
  logger: Logger;
  /** A scrape gives up on queue counts after this long (Redis down): the scrape itself still answers. */
  timeoutMs: number;
}

/**
 * Prometheus metrics of one API process. Queue and socket figures are read when scraped; sync
 * figures are counted from the session events every API process receives, so with several API
 * processes each one reports every sync (aggregate them with max, not sum).
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly messagesSynced: Counter;
  private readonly chatsSynced: Counter;
  private readonly chatsFailed: Counter;
  private readonly syncDuration: Histogram;
  private readonly httpDuration: Histogram<'route' | 'method' | 'status_code'>;

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    const scraped = <L extends string, T>(
      config: { name: string; help: string; labelNames: L[] },
      what: string,
      read: () => Promise<T>,
      set: (gauge: Gauge<L>, value: T) => void,
    ) =>
      new Gauge<L>({
        ...config,
        registers,
        // Read from Redis at scrape time; a slow or absent Redis leaves the gauge empty, never the scrape hanging.
        collect: async function (this: Gauge<L>) {
          this.reset();
          try {
            set(this, await withTimeout(read(), deps.timeoutMs, `${what} timed out after ${deps.timeoutMs} ms`));
          } catch (err) {
            deps.logger.warn({ err: (err as Error).message }, `metrics: ${what} unavailable`);
          }
        },
      });

    scraped(
      { name: 'wa_sync_queue_jobs', help: 'Jobs in each BullMQ queue by state, read at scrape time; the per-session queues summed as queue="wa-session-*"', labelNames: ['queue', 'state'] },
      'queue counts',
      async () => {
        const queues = await deps.directory.list();
        return Promise.all(queues.map(async (q) => ({ name: q.name, counts: await q.getJobCounts() })));
      },
      (gauge, queues) => {
        // Session queues summed under one label: a series per session would grow /metrics with the
        // sessions (14k series at 2,000); per-session detail is the API's (Bull Board, GET …/sync).
        const totals = new Map<string, Record<string, number>>();
        for (const q of queues) {
          const name = q.name.startsWith(SESSION_QUEUE_PREFIX) ? SESSION_QUEUES_LABEL : q.name;
          const t = totals.get(name) ?? {};
          for (const [state, n] of Object.entries(q.counts)) t[state] = (t[state] ?? 0) + n;
          totals.set(name, t);
        }
        for (const [queue, counts] of totals) for (const [state, n] of Object.entries(counts)) gauge.set({ queue, state }, n);
      },
    );
    scraped(
      { name: 'wa_sync_runner_sessions', help: 'Sessions owned by each live session runner (its leases), read from the runner registry at scrape time', labelNames: ['runner'] },
      'runner registry',
      () => listRunners(deps.redis),
      (gauge, runners) => runners.forEach((r) => gauge.set({ runner: r.id }, r.sessions.length)),
    );
    scraped(
      { name: 'wa_sync_runner_heartbeat_age_seconds', help: "Seconds since each live session runner's last heartbeat", labelNames: ['runner'] },
      'runner registry',
      () => listRunners(deps.redis),
      (gauge, runners) => runners.forEach((r) => gauge.set({ runner: r.id }, (Date.now() - Date.parse(r.heartbeatAt)) / 1000)),
    );
    scraped(
      {
        name: 'wa_sync_delivery_broker_up',
        help: 'RabbitMQ connection of each sync-workers process that publishes to it: 1 connected, 0 not (deliveries wait and retry)',
        labelNames: ['worker'],
      },
      'broker state',
      () => readBrokerReports(deps.redis),
      (gauge, reports) => reports.forEach((r) => r.state !== 'off' && gauge.set({ worker: r.worker }, r.state === 'up' ? 1 : 0)),
    );
    scraped(
      {
        name: 'wa_sync_process_dependency_up',
        help: 'What each session-runner and sync-workers process last reported of its Redis and store: 1 up, 0 not (it waits and retries, never exits)',
        labelNames: ['process', 'service', 'dependency'],
      },
      'process reports',
      () => readProcessReports(deps.redis),
      (gauge, reports) =>
        reports.forEach((r) =>
          Object.entries(r.checks).forEach(([dependency, c]) => c && gauge.set({ process: r.process, service: r.service, dependency }, c.state === 'up' ? 1 : 0)),
        ),
    );
    scraped(
      {
        name: 'wa_sync_delivery_jobs',
        help: 'Delivery backlog per target (amqp, webhook): waiting and active (to send), delayed (waiting for a retry), failed (gave up)',
        labelNames: ['target', 'state'],
      },
      'delivery backlog',
      () => {
        const byName = new Map(deps.directory.fixed().map((q) => [q.name, q]));
        return readDeliveryBacklog({ amqp: byName.get(DELIVERY_QUEUES.amqp)!, webhook: byName.get(DELIVERY_QUEUES.webhook)! });
      },
      (gauge, backlog) => {
        for (const [target, counts] of Object.entries(backlog)) for (const [state, n] of Object.entries(counts)) gauge.set({ target, state }, n);
      },
    );
    new Gauge({
      name: 'wa_sync_websocket_clients',
      help: 'WebSocket clients connected to this API process',
      registers,
      collect(this: Gauge) {
        this.set(deps.hub.size);
      },
    });
    this.messagesSynced = new Counter({
      name: 'wa_sync_messages_synced_total',
      help: 'Messages stored by syncs (sum of messagesSynced over sync_chats events)',
      registers,
    });
    this.chatsSynced = new Counter({
      name: 'wa_sync_chats_synced_total',
      help: 'Chats finished by syncs, saved or failed',
      registers,
    });
    this.chatsFailed = new Counter({
      name: 'wa_sync_chats_failed_total',
      help: 'Chats that failed after their retries (counted in chatsFailed)',
      registers,
    });
    this.syncDuration = new Histogram({
      name: 'wa_sync_sync_duration_seconds',
      help: 'Time from the start of a sync to its last sync_chats event (done)',
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'wa_sync_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern, method and status code',
      labelNames: ['route', 'method', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  /** Counts a session event from the bus; never throws. */
  onEvent(envelope: BusEnvelope): void {
    if (envelope.event === 'sync_error' && (envelope.data as { chatId?: string }).chatId) {
      this.chatsFailed.inc();
      return;
    }
    if (envelope.event !== 'sync_chats') return;
    const sync = envelope.data as SyncSnapshot;
    if (sync.chatId !== undefined) {
      this.chatsSynced.inc();
      this.messagesSynced.inc(sync.messagesSynced);
    }
    if (sync.done) {
      this.observeDuration(sync.syncId).catch((err) =>
        this.deps.logger.warn({ err: (err as Error).message, syncId: sync.syncId }, 'metrics: no sync duration'),
      );
    }
  }

  observeRequest(route: string, method: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ route, method, status_code: String(statusCode) }, seconds);
  }

  /** From the `startedAt` the progress record keeps: right even if this process joined mid-sync. */
  private async observeDuration(syncId: string): Promise<void> {
    const started = await this.deps.ledger.startedAt(syncId);
    if (Number.isNaN(started)) return;
    this.syncDuration.observe(Math.max(0, Date.now() - started) / 1000);
  }
}
