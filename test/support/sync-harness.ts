import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BusEnvelope } from '@wa-sync/shared/contracts';
import { type Store, createStore } from '@wa-sync/shared/store';
import {
  EventLog,
  type Logger,
  type Redis,
  SessionQueues,
  SyncLedger,
  createLogger,
  createRedis,
  subscribeEvents,
  CatalogFlow,
} from '@wa-sync/shared/runtime';
import type { WhatsAppEngine } from '../../services/session-runner/src/engine/engine.interface';
import { type Runner, type RunnerSettings, createRunner } from '../../services/session-runner/src/runner.factory';
import { SessionStatusReporter } from '../../services/session-runner/src/session-status.reporter';
import { SessionManager, type SessionManagerDeps } from '../../services/session-runner/src/session.manager';
import type { DeliveryConfig } from '../../services/sync-workers/src/delivery.config';
import { type SyncWorkers, startSyncWorkers } from '../../services/sync-workers/src/sync.workers';
import { type PrivateRedis, startRedis } from './redis-server';

type ManagerOptions = Partial<Omit<SessionManagerDeps, 'engine'>>;

/**
 * The session runner's and the sync workers' code in one process, wired as their main.ts wire
 * them, on a private redis-server and a SQLite file: everything real but the WhatsApp engine.
 * Records every event published on the bus.
 */
export class SyncHarness {
  readonly events: BusEnvelope[] = [];
  readonly logger: Logger = createLogger('test', (process.env.HARNESS_LOG as 'info') ?? 'silent');
  store!: Store;
  /** The runner's connection (queues, flows, progress). */
  redis!: Redis;
  queues!: SessionQueues;
  /** A private temporary directory (the SQLite file lives here); removed by `stop()`. */
  dir!: string;
  redisServer!: PrivateRedis;
  private workersRedis!: Redis;
  private subscriber!: Redis;
  private flow!: CatalogFlow;
  workers?: SyncWorkers;
  private readonly managers: SessionManager[] = [];
  private readonly runners: Runner[] = [];
  private runnerSeq = 0;
  private readonly runnerConnections: Redis[] = [];

  static async start(options: { workers?: boolean; workerConcurrency?: number; delivery?: DeliveryConfig } = {}): Promise<SyncHarness> {
    const h = new SyncHarness();
    h.redisServer = await startRedis();
    h.dir = mkdtempSync(join(tmpdir(), 'wa-sync-harness-'));
    h.store = await createStore(`sqlite:${join(h.dir, 'test.db')}`);
    h.redis = createRedis(h.redisServer.url);
    h.workersRedis = createRedis(h.redisServer.url);
    h.subscriber = createRedis(h.redisServer.url);
    await subscribeEvents(h.subscriber, new EventLog(h.redis), (e) => h.events.push(e));
    h.queues = new SessionQueues(h.redis, h.logger);
    h.flow = new CatalogFlow({ connection: h.redis });
    if (options.workers !== false) await h.startWorkers(options);
    return h;
  }

  /** The sync workers, as their main.ts starts them (for a harness started with `workers: false`). */
  async startWorkers(options: { workerConcurrency?: number; delivery?: DeliveryConfig } = {}): Promise<SyncWorkers> {
    this.workers = startSyncWorkers({
      store: this.store,
      redis: this.workersRedis,
      logger: this.logger,
      concurrency: options.workerConcurrency ?? 4,
      delivery: options.delivery,
    });
    await this.workers.delivery.ready;
    return this.workers;
  }

  /** A session manager on this harness, as the runner's main.ts builds it; closed by `stop()`. */
  manager(engine: WhatsAppEngine, options: ManagerOptions = {}): SessionManager {
    const manager = new SessionManager({
      engine,
      store: this.store,
      redis: this.redis,
      ledger: new SyncLedger(this.redis),
      queues: this.queues,
      flow: this.flow,
      reporter: new SessionStatusReporter(this.store, this.redis, new EventLog(this.redis, { logger: this.logger }), this.logger),
      logger: this.logger,
      limitPerChat: 20,
      concurrency: 4,
      ...options,
    });
    this.managers.push(manager);
    return manager;
  }

  /**
   * A whole session runner (ownership, commands, session manager) built by `createRunner`, as the
   * runner's main.ts builds it, on its own connections; started, and closed by `stop()` unless a
   * test closes it first (as SIGTERM would).
   */
  async runner(engine: WhatsAppEngine, settings: Partial<RunnerSettings> = {}): Promise<Runner> {
    const redis = createRedis(this.redisServer.url);
    this.runnerConnections.push(redis);
    const runner = createRunner(
      { engine, store: this.store, redis, subscriber: createRedis(this.redisServer.url), logger: this.logger },
      {
        runnerId: `runner-${++this.runnerSeq}`,
        leaseMs: 3000,
        maxSessions: null,
        limitPerChat: 20,
        fetchConcurrency: 4,
        jobLockMs: 3000,
        stalledCheckMs: 1000,
        restoreConcurrency: 8,
        ...settings,
      },
    );
    this.runners.push(runner);
    await runner.start();
    return runner;
  }

  async stop(): Promise<void> {
    for (const r of this.runners) await r.close().catch(() => undefined);
    for (const r of this.runnerConnections) await r.quit().catch(() => undefined);
    for (const m of this.managers) await m.closeAll();
    await this.workers?.close();
    await this.flow?.close();
    await this.queues?.close();
    for (const r of [this.redis, this.workersRedis, this.subscriber]) await r?.quit();
    await this.store?.close();
    await this.redisServer?.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
