import type { FlowProducer, Worker } from 'bullmq';
import {
  type Logger,
  type PairingCodeResult,
  type Redis,
  type SessionQueues,
  type SessionStatus,
  type Store,
  type SyncProgress,
  createCatalogWorker,
  isFinalFailure,
  requestSync,
  startQueuedSync,
  sessionQueueName,
} from '@wa-sync/shared';
import { NotLinkingError, type WhatsAppClient, type WhatsAppEngine } from './engine/engine';
import { FetchPacer, type PacerClock } from './fetch-pacer';
import { runFetchMessages, waitForStagingRoom } from './fetch-messages.handler';
import { attachLiveSync } from './live-sync';
import { type ReconnectPolicy, RECONNECT_DEFAULTS, onDisconnect, reconnectDelay } from './reconnect.policy';
import type { SessionStatusReporter } from './session-status';
import { runSyncStart } from './sync-start.handler';

export interface SessionManagerDeps {
  engine: WhatsAppEngine;
  store: Store;
  /** Shared connection for commands and BullMQ queues/workers (maxRetriesPerRequest: null). */
  redis: Redis;
  progress: SyncProgress;
  queues: SessionQueues;
  flow: FlowProducer;
  reporter: SessionStatusReporter;
  logger: Logger;
  limitPerChat: number;
  /** SYNC_CATCHUP_MAX_PER_CHAT: a catch-up fetches at most this many missed messages per chat; default 5000. */
  catchUpMaxPerChat?: number;
  /** Session-queue jobs (list chats, fetch messages) run at once per session (WA_FETCH_CONCURRENCY). */
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
}

interface LiveSession {
  readonly sessionId: string;
  client: WhatsAppClient;
  readonly worker: Worker;
  status: SessionStatus;
  /** Client rebuilds since the last `ready`. */
  attempts: number;
  retryTimer?: NodeJS.Timeout;
  /** The client's events are handled one after the other: a slow QR image never lands after `ready`. */
  handling: Promise<void>;
}

/** Sessions restored whatever their auth: they were running when the runner stopped. */
const RESTORABLE: SessionStatus[] = ['starting', 'qr', 'authenticated', 'ready'];
const DEFAULT_LOCK_MS = 120_000;

/**
 * Owns one WhatsApp client per session and the worker that runs that session's queue. A client
 * that WhatsApp drops is rebuilt with backoff while the worker is paused, so a sync in flight
 * resumes where it was instead of failing its chats.
 */
export class SessionManager {
  private readonly live = new Map<string, LiveSession>();
  /** Per session id, not per worker: a quick stop and start must not skip the pause. */
  private readonly pacers = new Map<string, FetchPacer>();
  private readonly policy: ReconnectPolicy;

  constructor(private readonly deps: SessionManagerDeps) {
    this.policy = { ...RECONNECT_DEFAULTS, ...deps.reconnect };
  }

  has(sessionId: string): boolean {
    return this.live.has(sessionId);
  }

  liveIds(): string[] {
    return [...this.live.keys()];
  }

  isReady(sessionId: string): boolean {
    return this.live.get(sessionId)?.status === 'ready';
  }

  /**
   * Gives the session up without touching its stored status (another runner takes it over):
   * the client is stopped first, so it is gone before the lease can pass to someone else.
   */
  async release(sessionId: string): Promise<void> {
    const session = this.live.get(sessionId);
    if (!session) return;
    this.live.delete(sessionId);
    clearTimeout(session.retryTimer);
    await session.client.stop({ logout: false }).catch((err) => this.deps.logger.warn({ sessionId, err }, 'client stop failed'));
    await session.worker.close(true).catch((err) => this.deps.logger.warn({ sessionId, err }, 'worker close failed'));
  }

  async start(sessionId: string): Promise<void> {
    if (this.live.has(sessionId)) return;
    const { deps } = this;
    const client = deps.engine.createClient(sessionId);
    const session: LiveSession = { sessionId, client, worker: this.createWorker(sessionId), status: 'starting', attempts: 0, handling: Promise.resolve() };
    this.live.set(sessionId, session);
    this.wire(session, client);
    await deps.reporter.status(sessionId, 'starting');
    try {
      await client.start();
    } catch (err) {
      if (!this.isCurrent(session, client)) return; // stopped meanwhile
      const reason = `client failed to start: ${(err as Error).message}`;
      if (await deps.engine.hasAuth(sessionId)) {
        // A linked account (e.g. restored at boot before the network is up) is worth retrying.
        deps.logger.warn({ sessionId, err: (err as Error).message }, 'client failed to start; retrying with backoff');
        await session.worker.pause(true);
        await client.stop({ logout: false }).catch(() => undefined);
        await this.scheduleReconnect(session, reason);
        return;
      }
      deps.logger.error({ sessionId, err: (err as Error).message }, 'client failed to start');
      await this.drop(sessionId, { logout: false });
      await deps.reporter.status(sessionId, 'failed', reason);
    }
  }

  async stop(sessionId: string, options: { logout: boolean }): Promise<void> {
    await this.drop(sessionId, options);
    // Also when the session is not running here: a logout always forgets the auth.
    if (options.logout) await this.deps.engine.removeAuth(sessionId);
    await this.deps.reporter.status(sessionId, 'stopped', options.logout ? 'logged out' : null);
  }

  /** The session's client, for jobs that must talk to WhatsApp; throws (and the job retries) otherwise. */
  clientFor(sessionId: string): WhatsAppClient {
    const session = this.live.get(sessionId);
    if (!session) throw new Error(`session ${sessionId} is not running in this runner`);
    if (this.deps.mayRun && !this.deps.mayRun(sessionId)) throw new Error(`session ${sessionId}: this runner's lease is no longer valid`);
    if (session.status !== 'ready') throw new Error(`session ${sessionId} is not ready (status ${session.status})`);
    return session.client;
  }

  /**
   * Link by phone number: the session's client asks WhatsApp for a code. "Cannot" is an answer
   * (the API turns it into a 409), not a failure.
   */
  async pairingCode(sessionId: string, phoneNumber: string): Promise<PairingCodeResult> {
    const session = this.live.get(sessionId);
    if (!session || session.status !== 'qr') {
      return { error: 'not-linking', message: `session ${sessionId} is not waiting for a link (status ${session?.status ?? 'not running'})` };
    }
    if (!session.client.requestPairingCode) return { error: 'unsupported', message: `the ${this.deps.engine.name} engine cannot link by code` };
    try {
      return { code: await session.client.requestPairingCode(phoneNumber) };
    } catch (err) {
      if (err instanceof NotLinkingError) return { error: 'not-linking', message: err.message };
      throw err;
    }
  }

  /**
   * On boot: every session that was running, and every session whose engine kept its auth unless
   * it was stopped on purpose. Those come back `ready` without a QR and sync again.
   */
  async restore(): Promise<string[]> {
    const sessions = await this.deps.store.listSessions();
    const restored: string[] = [];
    for (const s of sessions) {
      const wanted = RESTORABLE.includes(s.status) || (s.status !== 'stopped' && (await this.deps.engine.hasAuth(s.sessionId)));
      if (wanted) restored.push(s.sessionId);
    }
    // A few at a time: each webjs start launches a Chromium, and the rest wait in line.
    let next = 0;
    const lane = async () => {
      while (next < restored.length) await this.start(restored[next++]);
    };
    const lanes = Math.min(this.deps.restoreConcurrency ?? 1, restored.length);
    await Promise.all(Array.from({ length: lanes }, lane));
    return restored;
  }

  /** On shutdown: let active jobs finish, stop clients; stored statuses stay for the next restore. */
  async closeAll(): Promise<void> {
    const sessions = [...this.live.values()];
    this.live.clear();
    for (const s of sessions) clearTimeout(s.retryTimer);
    await Promise.all(sessions.map((s) => s.worker.close()));
    await Promise.all(sessions.map((s) => s.client.stop({ logout: false }).catch(() => undefined)));
  }

  private isCurrent(session: LiveSession, client: WhatsAppClient): boolean {
    return this.live.get(session.sessionId) === session && session.client === client;
  }

  private async drop(sessionId: string, options: { logout: boolean }): Promise<void> {
    const session = this.live.get(sessionId);
    if (!session) return;
    this.live.delete(sessionId);
    clearTimeout(session.retryTimer);
    await session.worker.close();
    await session.client.stop(options).catch((err) => this.deps.logger.warn({ sessionId, err }, 'client stop failed'));
  }

  private createWorker(sessionId: string): Worker {
    const { deps } = this;
    let pacer = this.pacers.get(sessionId);
    if (!pacer) this.pacers.set(sessionId, (pacer = new FetchPacer(deps.fetchPauseMs ?? 0, deps.pacerClock)));
    const worker = createCatalogWorker(
      'session',
      sessionQueueName(sessionId),
      {
        'sync-start': (data) => runSyncStart(this.clientFor(sessionId), data, deps),
        // The client is looked up after the pause: it may have been rebuilt meanwhile.
        // Back-pressure first: a fetch waits while 2 × concurrency chats of its sync await their save.
        'fetch-messages': async (data) => {
          await waitForStagingRoom(deps.redis, data.syncId, 2 * deps.concurrency);
          return pacer.run(() => runFetchMessages(this.clientFor(sessionId), data, deps.redis));
        },
      },
      {
        connection: deps.redis,
        concurrency: deps.concurrency,
        lockDuration: deps.lockDurationMs ?? DEFAULT_LOCK_MS,
        ...(deps.stalledIntervalMs ? { stalledInterval: deps.stalledIntervalMs } : {}),
        // Runs from the first `ready`: jobs wait for the client instead of burning their retries on it.
        autorun: false,
      },
      deps.logger.child({ sessionId }),
    );
    // A sync that could not even start must not keep coalescing later requests into itself.
    worker.on('failed', (job, err) => {
      if (job?.name !== 'sync-start' || !isFinalFailure(job, err)) return;
      const { syncId } = job.data as { syncId: string };
      deps.progress
        .release(sessionId, syncId)
        .then(() => deps.reporter.announce(sessionId, 'sync_error', { sessionId, syncId, message: `sync could not start: ${err.message}` }))
        .then(() => startQueuedSync(deps.redis, deps.queues, sessionId))
        .catch((e) => deps.logger.error({ sessionId, syncId, err: e }, 'could not release a failed sync'));
    });
    return worker;
  }

  private setStatus(session: LiveSession, status: SessionStatus, detail: string | null = null): Promise<void> {
    session.status = status;
    return this.deps.reporter.status(session.sessionId, status, detail);
  }

  /** Listens to one client of the session; events of a client that was replaced are ignored. */
  private wire(session: LiveSession, client: WhatsAppClient): void {
    const { reporter, logger } = this.deps;
    const { sessionId } = session;
    const on = <A extends unknown[]>(what: string, fn: (...args: A) => Promise<unknown>) => (...args: A) => {
      if (!this.isCurrent(session, client)) return;
      session.handling = session.handling
        .then(() => fn(...args))
        .then(() => undefined, (err) => logger.error({ sessionId, err }, `handling ${what} failed`));
    };

    client.on('qr', on('qr', (qr: string) => {
      session.status = 'qr';
      return reporter.qr(sessionId, qr);
    }));
    client.on('authenticated', on('authenticated', async () => {
      await this.setStatus(session, 'authenticated');
      await reporter.announce(sessionId, 'authenticated', { sessionId });
    }));
    client.on('auth_failure', on('auth_failure', async (message: string) => {
      // The stored auth was refused: keeping it would fail the same way on every restart.
      await this.drop(sessionId, { logout: false });
      await this.deps.engine.removeAuth(sessionId);
      await this.setStatus(session, 'failed', `authentication failed: ${message}; auth removed, link the phone again`);
    }));
    client.on('ready', on('ready', async () => {
      // Before any await: live messages stored from here on must not hide what a catch-up fetches.
      const readyAt = new Date().toISOString();
      const reconnected = session.attempts > 0;
      session.attempts = 0;
      await this.setStatus(session, 'ready');
      await reporter.announce(sessionId, 'ready', { sessionId });
      if (session.worker.isPaused() || !session.worker.isRunning()) await session.worker.resume();
      const { syncId, coalesced } = await requestSync(this.deps.redis, this.deps.queues, {
        sessionId,
        reason: reconnected ? 'reconnect' : 'ready',
        limitPerChat: this.deps.limitPerChat,
        readyAt,
      });
      logger.info({ sessionId, syncId, coalesced, reconnected }, 'sync requested on ready');
    }));
    client.on('state', on('state', (detail: string) => this.setStatus(session, session.status, detail)));
    client.on('disconnected', on('disconnected', (reason: string) => this.onDisconnected(session, reason)));
    attachLiveSync(client, this.deps);
  }

  private async onDisconnected(session: LiveSession, reason: string): Promise<void> {
    const { sessionId } = session;
    const { reporter, logger } = this.deps;
    const action = onDisconnect(reason);
    logger.warn({ sessionId, reason, action }, 'client disconnected');
    await reporter.announce(sessionId, 'disconnected', { sessionId, reason });
    if (action === 'logout') {
      await this.drop(sessionId, { logout: false });
      await this.deps.engine.removeAuth(sessionId);
      await this.setStatus(session, 'disconnected', `logged out (${reason}): auth removed, link the phone again`);
      return;
    }
    if (action === 'give-up') {
      await this.drop(sessionId, { logout: false });
      await this.setStatus(session, 'failed', `disconnected (${reason}): not reconnecting`);
      return;
    }
    // Jobs wait for the new client instead of burning their retries on a dead one.
    await session.worker.pause(true);
    await session.client.stop({ logout: false }).catch((err) => logger.warn({ sessionId, err }, 'client stop failed'));
    await this.scheduleReconnect(session, `disconnected (${reason})`);
  }

  private async scheduleReconnect(session: LiveSession, why: string): Promise<void> {
    const { sessionId } = session;
    if (this.live.get(sessionId) !== session) return;
    session.attempts++;
    const { maxAttempts } = this.policy;
    if (session.attempts > maxAttempts) {
      await this.drop(sessionId, { logout: false });
      await this.setStatus(session, 'failed', `${why}; gave up after ${maxAttempts} reconnect attempts`);
      return;
    }
    const delay = reconnectDelay(this.policy, session.attempts);
    await this.setStatus(session, 'disconnected', `${why}; reconnecting in ${delay} ms (attempt ${session.attempts}/${maxAttempts})`);
    clearTimeout(session.retryTimer);
    session.retryTimer = setTimeout(() => {
      this.reconnect(session).catch((err) => this.deps.logger.error({ sessionId, err }, 'reconnect failed'));
    }, delay);
  }

  /** A fresh client on the same worker; the saved auth brings it back to `ready` without a QR. */
  private async reconnect(session: LiveSession): Promise<void> {
    const { sessionId } = session;
    if (this.live.get(sessionId) !== session) return;
    const client = this.deps.engine.createClient(sessionId);
    session.client = client;
    this.wire(session, client);
    await this.setStatus(session, 'starting', `reconnecting (attempt ${session.attempts}/${this.policy.maxAttempts})`);
    try {
      await client.start();
    } catch (err) {
      if (!this.isCurrent(session, client)) return;
      this.deps.logger.warn({ sessionId, err: (err as Error).message, attempt: session.attempts }, 'reconnect attempt failed');
      await client.stop({ logout: false }).catch(() => undefined);
      await this.scheduleReconnect(session, `client failed to start: ${(err as Error).message}`);
    }
  }
}
