import { Keys, type SessionEventName, type SessionEvents, type SessionStatus } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import type { EventLog, Logger, Redis } from '@wa-sync/shared/runtime';
import QRCode from 'qrcode';

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
    await this.store.setSessionStatus(sessionId, status, detail);
    if (status !== 'qr') await this.redis.del(Keys.sessionLive(sessionId));
    await this.announce(sessionId, 'status', { sessionId, status, detail });
    this.logger.info({ sessionId, status, detail }, 'session status');
  }

  async qr(sessionId: string, qr: string): Promise<void> {
    const qrDataUrl = await QRCode.toDataURL(qr);
    await this.store.setSessionStatus(sessionId, 'qr', null);
    await this.redis.hset(Keys.sessionLive(sessionId), { qr, qrDataUrl });
    await this.announce(sessionId, 'status', { sessionId, status: 'qr', detail: null });
    await this.announce(sessionId, 'qr', { sessionId, qr, qrDataUrl });
  }

  /** Logs the event in the session's event log, then announces it; resolves to its log id. */
  announce<E extends SessionEventName>(sessionId: string, event: E, data: SessionEvents[E]): Promise<string> {
    return this.log.append(sessionId, event, data);
  }
}
