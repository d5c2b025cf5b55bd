// What happens when WhatsApp drops a client: log out, give up, or rebuild it with backoff while the
// session's worker is paused, so a sync in flight resumes where it was instead of failing its chats.
import type { WhatsAppClient } from './engine/engine.interface';
import { onDisconnect, reconnectDelay } from './reconnect.policy';
import { dropSession, isCurrent, type LiveSession, type SessionContext, setStatus } from './session.context';
import { wireClient } from './session.events';

/** Wires a client with the reconnect handling of this file; used for the first client and every rebuild. */
export function wireSession(ctx: SessionContext, session: LiveSession, client: WhatsAppClient): void {
  wireClient(ctx, session, client, (reason) => onDisconnected(ctx, session, reason));
}

async function onDisconnected(ctx: SessionContext, session: LiveSession, reason: string): Promise<void> {
  const { sessionId } = session;
  const { reporter, logger } = ctx.deps;
  const action = onDisconnect(reason);
  logger.warn({ sessionId, reason, action }, 'client disconnected');
  await reporter.announce(sessionId, 'disconnected', { sessionId, reason });
  if (action === 'logout') {
    await dropSession(ctx, sessionId, { logout: false });
    await ctx.deps.engine.removeAuth(sessionId);
    await setStatus(ctx, session, 'disconnected', `logged out (${reason}): auth removed, link the phone again`);
    return;
  }
  if (action === 'give-up') {
    await dropSession(ctx, sessionId, { logout: false });
    await setStatus(ctx, session, 'failed', `disconnected (${reason}): not reconnecting`);
    return;
  }
  // Jobs wait for the new client instead of burning their retries on a dead one.
  await session.worker.pause(true);
  await session.client.stop({ logout: false }).catch((err) => logger.warn({ sessionId, err }, 'client stop failed'));
  await scheduleReconnect(ctx, session, `disconnected (${reason})`);
}

export async function scheduleReconnect(ctx: SessionContext, session: LiveSession, why: string): Promise<void> {
  const { sessionId } = session;
  if (ctx.live.get(sessionId) !== session) return;
  session.attempts++;
  const { maxAttempts } = ctx.policy;
  if (session.attempts > maxAttempts) {
    await dropSession(ctx, sessionId, { logout: false });
    await setStatus(ctx, session, 'failed', `${why}; gave up after ${maxAttempts} reconnect attempts`);
    return;
  }
  const delay = reconnectDelay(ctx.policy, session.attempts);
  await setStatus(ctx, session, 'disconnected', `${why}; reconnecting in ${delay} ms (attempt ${session.attempts}/${maxAttempts})`);
  clearTimeout(session.retryTimer);
  session.retryTimer = setTimeout(() => {
    reconnect(ctx, session).catch((err) => ctx.deps.logger.error({ sessionId, err }, 'reconnect failed'));
  }, delay);
}

/** A fresh client on the same worker; the saved auth brings it back to `ready` without a QR. */
async function reconnect(ctx: SessionContext, session: LiveSession): Promise<void> {
  const { sessionId } = session;
  if (ctx.live.get(sessionId) !== session) return;
  const client = ctx.deps.engine.createClient(sessionId);
  session.client = client;
  wireSession(ctx, session, client);
  await setStatus(ctx, session, 'starting', `reconnecting (attempt ${session.attempts}/${ctx.policy.maxAttempts})`);
  try {
    await client.start();
  } catch (err) {
    if (!isCurrent(ctx, session, client)) return;
    ctx.deps.logger.warn({ sessionId, err: (err as Error).message, attempt: session.attempts }, 'reconnect attempt failed');
    await client.stop({ logout: false }).catch(() => undefined);
    await scheduleReconnect(ctx, session, `client failed to start: ${(err as Error).message}`);
  }
}
