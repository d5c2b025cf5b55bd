// Wires one client's events to statuses, announcements and syncs. Apart from reconnect logic, which it
// is handed as `onDisconnected`, so the two files do not import each other.
import type { WhatsAppClient } from './engine/engine.interface';
import { attachLiveSync } from './live-sync.listener';
import { sweepPendingMedia } from './media-pending.sweep';
import { dropSession, isCurrent, type LiveSession, type SessionContext, setStatus } from './session.context';

/** Listens to one client of the session; events of a client that was replaced are ignored. */
export function wireClient(
  ctx: SessionContext,
  session: LiveSession,
  client: WhatsAppClient,
  onDisconnected: (reason: string) => Promise<void>,
): void {
  const { deps } = ctx;
  const { reporter, logger } = deps;
  const { sessionId } = session;
  const on = <A extends unknown[]>(what: string, fn: (...args: A) => Promise<unknown>) => (...args: A) => {
    if (!isCurrent(ctx, session, client)) return;
    session.handling = session.handling
      .then(() => fn(...args))
      .then(() => undefined, (err) => logger.error({ sessionId, err }, `handling ${what} failed`));
  };

  client.on('qr', on('qr', (qr: string) => {
    session.status = 'qr';
    return reporter.qr(sessionId, qr);
  }));
  client.on('authenticated', on('authenticated', async () => {
    await setStatus(ctx, session, 'authenticated');
    await reporter.announce(sessionId, 'authenticated', { sessionId });
  }));
  client.on('auth_failure', on('auth_failure', async (message: string) => {
    // The stored auth was refused: keeping it would fail the same way on every restart.
    await dropSession(ctx, sessionId, { logout: false });
    await deps.engine.removeAuth(sessionId);
    await setStatus(ctx, session, 'failed', `authentication failed: ${message}; auth removed, link the phone again`);
  }));
  client.on('ready', on('ready', async () => {
    // Before any await: live messages stored from here on must not hide what a catch-up fetches.
    const readyAt = new Date().toISOString();
    const reconnected = session.attempts > 0;
    session.attempts = 0;
    await setStatus(ctx, session, 'ready');
    await reporter.announce(sessionId, 'ready', { sessionId });
    if (session.worker.isPaused() || !session.worker.isRunning()) await session.worker.resume();
    const { syncId, coalesced } = await deps.ledger.request(deps.queues, {
      sessionId,
      reason: reconnected ? 'reconnect' : 'ready',
      limitPerChat: deps.limitPerChat,
      readyAt,
    });
    logger.info({ sessionId, syncId, coalesced, reconnected }, 'sync requested on ready');
    // Not awaited: media never holds the session's events back.
    sweepPendingMedia(deps, sessionId).catch((err) => logger.warn({ sessionId, err: (err as Error).message }, 'media sweep failed'));
  }));
  client.on('state', on('state', (detail: string) => setStatus(ctx, session, session.status, detail)));
  client.on('disconnected', on('disconnected', (reason: string) => onDisconnected(reason)));
  attachLiveSync(client, deps, session.liveWrites);
}
