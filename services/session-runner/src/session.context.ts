// The state every part of the session manager shares (live sessions, deps, reconnect policy, pacers) and
// the few helpers they all use, so lifecycle, worker, events and reconnect can live in their own files.
import type { SessionStatus } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import type { Logger, Redis, SessionQueues, SyncLedger } from '@wa-sync/shared/runtime';
import type { WhatsAppClient, WhatsAppEngine } from './engine/engine.interface';
import type { FetchPacer, PacerClock } from './fetch.pacer';
import type { GraphFlow } from './graph.writer';
import type { LiveWriteQueue } from './live-write.queue';
import type { MediaPipeline } from './media-download.handler';
import type { ReconnectPolicy } from './reconnect.policy';
import type { IdleWorkerOptions } from './idle-workers.watch';
import type { SessionStatusReporter } from './session-status.reporter';
import type { SessionWorkerSlot } from './session-worker.slot';

export interface SessionManagerDeps {
  engine: WhatsAppEngine;
  store: Store;
  /** Shared connection for commands and BullMQ queues/workers (maxRetriesPerRequest: null). */
  redis: Redis;
  ledger: SyncLedger;
  queues: SessionQueues;
  flow: GraphFlow;
  reporter: SessionStatusReporter;
  logger: Logger;
  limitPerChat: number;
  /** SYNC_CATCHUP_MAX_PER_CHAT: a catch-up fetches at most this many missed messages per chat; default 5000. */
  catchUpMaxPerChat?: number;
  /**
   * Phone calls that fetch messages at once per session (SYNC_CONCURRENCY). The session's worker holds
   * up to twice as many jobs active, so the next fetch is ready the moment a call ends.
   */
  concurrency: number;
  /** Least time between the starts of two fetches of a session (WA_FETCH_PAUSE_MS); default 0. */
  fetchPauseMs?: number;
  /** Time source of the fetch pause; the system clock unless a test passes a virtual one. */
  pacerClock?: PacerClock;
  reconnect?: Partial<ReconnectPolicy>;
  /** Sessions started at once by `restore()` (WA_RESTORE_CONCURRENCY); default 1. */
  restoreConcurrency?: number;
  /**
   * Lock of session-queue jobs. BullMQ renews it every half while the job runs; a long one keeps
   * `sync-start` (getChats over thousands of chats) from being taken for stalled when a large
   * result blocks the event loop. A crashed runner's jobs are retried after it expires.
   */
  lockDurationMs?: number;
  /** How often the session's worker looks for jobs of a dead runner (BullMQ `stalledInterval`). */
  stalledIntervalMs?: number;
  /** False once this runner's lease on the session is no longer valid: its jobs must not touch the client. */
  mayRun?: (sessionId: string) => boolean;
  /** Media downloads (MEDIA_*); absent: every media is skipped by policy. */
  media?: MediaPipeline;
  /** When an idle session's worker closes and how often idle queues are looked at (idle-workers.watch). */
  idleWorkers?: IdleWorkerOptions;
}

export interface LiveSession {
  readonly sessionId: string;
  client: WhatsAppClient;
  /** The session's queue worker, open only while the session has work (session-worker.slot). */
  readonly worker: SessionWorkerSlot;
  status: SessionStatus;
  /** Client rebuilds since the last `ready`. */
  attempts: number;
  retryTimer?: NodeJS.Timeout;
  /** The client's events are handled one after the other: a slow QR image never lands after `ready`. */
  handling: Promise<void>;
  /** Live messages, acks, edits and deletes on their way to the store, in order. */
  readonly liveWrites: LiveWriteQueue;
}

export interface SessionContext {
  readonly deps: SessionManagerDeps;
  readonly live: Map<string, LiveSession>;
  /** Per session id, not per worker: a quick stop and start must not skip the pause. */
  readonly pacers: Map<string, FetchPacer>;
  readonly policy: ReconnectPolicy;
}

export function isCurrent(ctx: SessionContext, session: LiveSession, client: WhatsAppClient): boolean {
  return ctx.live.get(session.sessionId) === session && session.client === client;
}

export function setStatus(ctx: SessionContext, session: LiveSession, status: SessionStatus, detail: string | null = null): Promise<void> {
  session.status = status;
  return ctx.deps.reporter.status(session.sessionId, status, detail);
}

/** The session's client, for jobs that must talk to WhatsApp; throws (and the job retries) otherwise. */
export function clientFor(ctx: SessionContext, sessionId: string): WhatsAppClient {
  const session = ctx.live.get(sessionId);
  if (!session) throw new Error(`session ${sessionId} is not running in this runner`);
  if (ctx.deps.mayRun && !ctx.deps.mayRun(sessionId)) throw new Error(`session ${sessionId}: this runner's lease is no longer valid`);
  if (session.status !== 'ready') throw new Error(`session ${sessionId} is not ready (status ${session.status})`);
  return session.client;
}

/** Forgets the session here: its worker lets active jobs finish, then its client stops. */
export async function dropSession(ctx: SessionContext, sessionId: string, options: { logout: boolean }): Promise<void> {
  const session = ctx.live.get(sessionId);
  if (!session) return;
  ctx.live.delete(sessionId);
  clearTimeout(session.retryTimer);
  await session.worker.close();
  await session.client.stop(options).catch((err) => ctx.deps.logger.warn({ sessionId, err }, 'client stop failed'));
}
