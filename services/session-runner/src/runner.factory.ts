import { hostname } from 'node:os';
import type { Store } from '@wa-sync/shared/store';
import { CatalogFlow, EventLog, type Logger, type Redis, SessionQueues, SyncLedger } from '@wa-sync/shared/runtime';
import { type CommandsWorkers, createCommandsWorkers } from './commands.worker';
import type { WhatsAppEngine } from './engine/engine.interface';
import type { PacerClock } from './fetch.pacer';
import type { GraphFlow } from './graph.writer';
import type { MediaPipeline } from './media-download.handler';
import { sweepPendingMedia } from './media-pending.sweep';
import { closeOrphanSync } from './orphan-sync.check';
import { SessionOwnership } from './ownership.loop';
import { processTreeRssMb } from './process-tree.memory';
import type { ReconnectPolicy } from './reconnect.policy';
import { RunnerRegistry } from './runner.registry';
import { SessionStatusReporter } from './session-status.reporter';
import { SessionManager } from './session.manager';

export interface RunnerConnections {
  engine: WhatsAppEngine;
  store: Store;
  /** Commands, queues and workers (maxRetriesPerRequest: null). */
  redis: Redis;
  /** A second connection, for the nudge subscription; closed by `close()`. */
  subscriber: Redis;
  logger: Logger;
  pacerClock?: PacerClock;
  /** Where sync graphs are added; closed by `close()`. Default: BullMQ's FlowProducer on `redis`, in-process. */
  flow?: GraphFlow;
}

export interface RunnerSettings {
  /** RUNNER_ID: queue names and keys carry it. */
  runnerId: string;
  /** RUNNER_LEASE_MS. */
  leaseMs: number;
  /** RUNNER_MAX_SESSIONS; null: unlimited. */
  maxSessions: number | null;
  /** RUNNER_MAX_RSS_MB (runner and children); null or absent: no memory limit. */
  maxRssMb?: number | null;
  /** RUNNER_REBALANCE: move sessions to a lighter runner one at a time. */
  rebalance?: boolean;
  limitPerChat: number;
  /** SYNC_CATCHUP_MAX_PER_CHAT: most missed messages a catch-up fetches per chat. */
  catchUpMaxPerChat?: number;
  fetchConcurrency: number;
  fetchPauseMs?: number;
  restoreConcurrency?: number;
  reconnect?: Partial<ReconnectPolicy>;
  /** Session-queue job lock (WA_JOB_LOCK_MS): BullMQ renews it while the job runs. */
  jobLockMs: number;
  /** Session-queue stalled check (WA_STALLED_CHECK_MS). */
  stalledCheckMs: number;
  eventLogMaxLen?: number;
  /** Media downloads; absent: every media is skipped by policy. */
  media?: MediaPipeline;
  /** MEDIA_SWEEP_MS: pending media without a job get one again this often; 0 or absent: only on ready. */
  mediaSweepMs?: number;
}

export interface Runner {
  readonly runnerId: string;
  readonly sessions: SessionManager;
  readonly ownership: SessionOwnership;
  /** Heartbeats, claims the sessions it should run, and takes commands. */
  start(): Promise<void>;
  /** SIGTERM: stop taking commands, stop the clients, release the leases; not the connections. */
  close(): Promise<void>;
}

export function defaultRunnerId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${process.pid}`;
}

/** The session runner as main.ts wires it, and as the tests' harness does. */
export function createRunner(conn: RunnerConnections, settings: RunnerSettings): Runner {
  const { engine, store, redis, logger } = conn;
  const log = logger.child({ runnerId: settings.runnerId });
  const queues = new SessionQueues(redis, log);
  const flow = conn.flow ?? new CatalogFlow({ connection: redis });
  const ledger = new SyncLedger(redis, settings.eventLogMaxLen);
  const reporter = new SessionStatusReporter(store, redis, new EventLog(redis, { maxLen: settings.eventLogMaxLen, logger: log }), log);
  let ownership: SessionOwnership | undefined;
  const sessions = new SessionManager({
    engine,
    store,
    redis,
    ledger,
    queues,
    flow,
    reporter,
    logger: log,
    limitPerChat: settings.limitPerChat,
    catchUpMaxPerChat: settings.catchUpMaxPerChat,
    concurrency: settings.fetchConcurrency,
    fetchPauseMs: settings.fetchPauseMs,
    pacerClock: conn.pacerClock,
    restoreConcurrency: settings.restoreConcurrency,
    reconnect: settings.reconnect,
    lockDurationMs: settings.jobLockMs,
    stalledIntervalMs: settings.stalledCheckMs,
    mayRun: (sessionId) => ownership?.mayRun(sessionId) ?? false,
    media: settings.media,
  });
  const registry = new RunnerRegistry(redis, {
    id: settings.runnerId,
    pid: process.pid,
    host: hostname(),
    leaseMs: settings.leaseMs,
    maxSessions: settings.maxSessions,
    maxRssMb: settings.maxRssMb ?? null,
  }, processTreeRssMb);
  const orphanDeps = { store, queues, ledger, reporter, logger: log, limitPerChat: settings.limitPerChat };
  ownership = new SessionOwnership({
    redis,
    subscriber: conn.subscriber,
    store,
    engine,
    sessions,
    registry,
    logger: log,
    runnerId: settings.runnerId,
    leaseMs: settings.leaseMs,
    maxSessions: settings.maxSessions,
    startConcurrency: settings.restoreConcurrency ?? 1,
    rebalance: settings.rebalance ?? false,
    // Redis may have come back empty: an open sync without progress is closed and run again.
    onOwned: async (sessionId) => {
      await closeOrphanSync(orphanDeps, sessionId, sessions.isReady(sessionId));
    },
  });
  const own = ownership;
  let commands: CommandsWorkers | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  const sweepAll = async () => {
    for (const sessionId of sessions.liveIds()) {
      if (!sessions.isReady(sessionId)) continue;
      await sweepPendingMedia({ store, queues, logger: log }, sessionId).catch((err) =>
        log.warn({ sessionId, err: (err as Error).message }, 'media sweep failed'),
      );
    }
  };
  return {
    runnerId: settings.runnerId,
    sessions,
    ownership: own,
    async start() {
      commands = createCommandsWorkers(sessions, own, redis, log);
      await own.start();
      if (settings.mediaSweepMs) sweepTimer = setInterval(() => void sweepAll(), settings.mediaSweepMs);
    },
    async close() {
      clearInterval(sweepTimer);
      await commands?.close();
      await own.stop();
      await flow.close();
      await queues.close();
      await conn.subscriber.quit().catch(() => undefined);
    },
  };
}
