// The public face of the session runner's sessions: one class the runner and the tests use. The work
// is split by role: session.lifecycle (start/stop/restore/close), session.worker (the session's queue
// worker), session.events (client events), session.reconnect (disconnect and backoff).
import type { PairingCodeResult } from '@wa-sync/shared/contracts';
import { NotLinkingError, type WhatsAppClient } from './engine/engine.interface';
import { IdleWorkerWatch } from './idle-workers.watch';
import { finishedJobsSweeper } from './session-queue.idle';
import { RECONNECT_DEFAULTS } from './reconnect.policy';
import { clientFor, type SessionContext, type SessionManagerDeps } from './session.context';
import { closeAllSessions, handOverSession, releaseSession, restoreSessions, startSession, stopSession } from './session.lifecycle';

export type { SessionManagerDeps } from './session.context';

/**
 * Owns one WhatsApp client per session and the worker that runs that session's queue. A client
 * that WhatsApp drops is rebuilt with backoff while the worker is paused, so a sync in flight
 * resumes where it was instead of failing its chats.
 */
export class SessionManager {
  private readonly ctx: SessionContext;
  /** One timer for every idle session's worker (closed while its queue is empty, reopened on work). */
  private readonly idle: IdleWorkerWatch;

  constructor(deps: SessionManagerDeps) {
    this.ctx = { deps, live: new Map(), pacers: new Map(), policy: { ...RECONNECT_DEFAULTS, ...deps.reconnect } };
    const slots = () => [...this.ctx.live].map(([id, s]) => [id, s.worker] as [string, typeof s.worker]);
    this.idle = new IdleWorkerWatch(slots, deps.redis, deps.logger, finishedJobsSweeper(deps.queues, deps.ledger), deps.idleWorkers);
  }

  /** Sessions whose queue worker is open now (an idle ready session's is closed). */
  openWorkers(): number {
    let n = 0;
    for (const s of this.ctx.live.values()) if (s.worker.isRunning()) n++;
    return n;
  }

  has(sessionId: string): boolean {
    return this.ctx.live.has(sessionId);
  }

  liveIds(): string[] {
    return [...this.ctx.live.keys()];
  }

  isReady(sessionId: string): boolean {
    return this.ctx.live.get(sessionId)?.status === 'ready';
  }

  /** Gives the session up without touching its stored status (another runner takes it over). */
  release(sessionId: string): Promise<void> {
    return releaseSession(this.ctx, sessionId);
  }

  /** One session, the SIGTERM way (active jobs finish first): for rebalancing. */
  handOver(sessionId: string): Promise<void> {
    return handOverSession(this.ctx, sessionId);
  }

  start(sessionId: string): Promise<void> {
    this.idle.start();
    return startSession(this.ctx, sessionId);
  }

  stop(sessionId: string, options: { logout: boolean }): Promise<void> {
    return stopSession(this.ctx, sessionId, options);
  }

  /** The session's client, for jobs that must talk to WhatsApp; throws (and the job retries) otherwise. */
  clientFor(sessionId: string): WhatsAppClient {
    return clientFor(this.ctx, sessionId);
  }

  /**
   * Link by phone number: the session's client asks WhatsApp for a code. "Cannot" is an answer
   * (the API turns it into a 409), not a failure.
   */
  async pairingCode(sessionId: string, phoneNumber: string): Promise<PairingCodeResult> {
    const session = this.ctx.live.get(sessionId);
    if (!session || session.status !== 'qr') {
      return { error: 'not-linking', message: `session ${sessionId} is not waiting for a link (status ${session?.status ?? 'not running'})` };
    }
    if (!session.client.requestPairingCode) return { error: 'unsupported', message: `the ${this.ctx.deps.engine.name} engine cannot link by code` };
    try {
      return { code: await session.client.requestPairingCode(phoneNumber) };
    } catch (err) {
      if (err instanceof NotLinkingError) return { error: 'not-linking', message: err.message };
      throw err;
    }
  }

  /** On boot: every session that was running, and every linked one not stopped on purpose. */
  restore(): Promise<string[]> {
    this.idle.start();
    return restoreSessions(this.ctx);
  }

  /** On shutdown: let active jobs finish, stop clients; stored statuses stay for the next restore. */
  closeAll(): Promise<void> {
    this.idle.stop();
    return closeAllSessions(this.ctx);
  }
}
