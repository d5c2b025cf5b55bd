import { Keys, type SessionEventName, type SessionEvents, type SessionStatus } from '@wa-sync/shared/contracts';
import { type Store, untilStoreFree } from '@wa-sync/shared/store';
import type { EventLog, Logger, Redis } from '@wa-sync/shared/runtime';
import { renderQr } from './qr.image';

/**
 * Writes a session's lifecycle where readers look for it (status in the store, the current QR
 * in Redis) and only then announces it, so a client joining late sees the same state.
 */
export class SessionStatusReporter {
  constructor(
    private readonly store: Store,
    private readonly redis: Redis,
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

  async status(sessionId: string, status: SessionStatus, detail: string | null = null): Promise<void> {
    await this.storeStatus(sessionId, status, detail);
    if (status !== 'qr') await this.redis.del(Keys.sessionLive(sessionId));
    await this.announce(sessionId, 'status', { sessionId, status, detail });
    this.logger.info({ sessionId, status, detail }, 'session status');
  }

  async qr(sessionId: string, qr: string): Promise<void> {
    const qrDataUrl = await renderQr(qr);
    // The QR first: whoever sees the status `qr` (in the store or the log) can fetch the code.
    await this.redis.hset(Keys.sessionLive(sessionId), { qr, qrDataUrl });
    await this.storeStatus(sessionId, 'qr', null);
    await this.announce(sessionId, 'status', { sessionId, status: 'qr', detail: null });
    await this.announce(sessionId, 'qr', { sessionId, qr, qrDataUrl });
  }

  /**
   * A status is a plain overwrite, so one that finds the store locked past the store's own wait is
   * tried again until the lock goes. The session's events are handled one at a time, so the later
   * ones wait behind it: a `ready` during a long lock still announces itself and starts its sync.
   */
  private storeStatus(sessionId: string, status: SessionStatus, detail: string | null): Promise<void> {
    return untilStoreFree(
      () => this.store.setSessionStatus(sessionId, status, detail),
      () => this.logger.warn({ sessionId, status }, 'store locked: the status waits for it'),
    );
  }

  /** Logs the event in the session's event log, then announces it; resolves to its log id. */
  announce<E extends SessionEventName>(sessionId: string, event: E, data: SessionEvents[E]): Promise<string> {
    return this.log.append(sessionId, event, data);
  }
}
