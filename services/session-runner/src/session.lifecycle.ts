// Starting, stopping, releasing, restoring and closing sessions: the only code that adds sessions to or
// removes them from the live map (besides dropSession), so the order of client and worker teardown is in one place.
import type { SessionStatus } from '@wa-sync/shared/contracts';
import { LiveWriteQueue } from './live-write.queue';
import { dropSession, isCurrent, type LiveSession, type SessionContext } from './session.context';
import { scheduleReconnect, wireSession } from './session.reconnect';
import { createSessionWorker } from './session.worker';
import { SessionWorkerSlot } from './session-worker.slot';

/** Sessions restored whatever their auth: they were running when the runner stopped. */
const RESTORABLE: SessionStatus[] = ['starting', 'qr', 'authenticated', 'ready'];

export async function startSession(ctx: SessionContext, sessionId: string): Promise<void> {
  if (ctx.live.has(sessionId)) return;
  const { deps } = ctx;
  const client = deps.engine.createClient(sessionId);
  const session: LiveSession = {
    sessionId,
    client,
    worker: new SessionWorkerSlot(sessionId, () => createSessionWorker(ctx, sessionId), deps.redis, (err) =>
      deps.logger.error({ sessionId, err }, 'session worker failed'),
    ),
    status: 'starting',
    attempts: 0,
    handling: Promise.resolve(),
    liveWrites: new LiveWriteQueue(deps.logger.child({ sessionId })),
  };
  ctx.live.set(sessionId, session);
  wireSession(ctx, session, client);
  await deps.reporter.status(sessionId, 'starting');
  try {
    await client.start();
  } catch (err) {
    if (!isCurrent(ctx, session, client)) return; // stopped meanwhile
    const reason = `client failed to start: ${(err as Error).message}`;
    if (await deps.engine.hasAuth(sessionId)) {
      // A linked account (e.g. restored at boot before the network is up) is worth retrying.
      deps.logger.warn({ sessionId, err: (err as Error).message }, 'client failed to start; retrying with backoff');
      await session.worker.pause(true);
      await client.stop({ logout: false }).catch(() => undefined);
      await scheduleReconnect(ctx, session, reason);
      return;
    }
    deps.logger.error({ sessionId, err: (err as Error).message }, 'client failed to start');
    await dropSession(ctx, sessionId, { logout: false });
    await deps.reporter.status(sessionId, 'failed', reason);
  }
}

export async function stopSession(ctx: SessionContext, sessionId: string, options: { logout: boolean }): Promise<void> {
  await dropSession(ctx, sessionId, options);
  // Also when the session is not running here: a logout always forgets the auth.
  if (options.logout) await ctx.deps.engine.removeAuth(sessionId);
  await ctx.deps.reporter.status(sessionId, 'stopped', options.logout ? 'logged out' : null);
}

/**
 * Gives the session up without touching its stored status (another runner takes it over):
 * the client is stopped first, so it is gone before the lease can pass to someone else.
 */
export async function releaseSession(ctx: SessionContext, sessionId: string): Promise<void> {
  const session = ctx.live.get(sessionId);
  if (!session) return;
  ctx.live.delete(sessionId);
  clearTimeout(session.retryTimer);
  await session.client.stop({ logout: false }).catch((err) => ctx.deps.logger.warn({ sessionId, err }, 'client stop failed'));
  await session.worker.close(true).catch((err) => ctx.deps.logger.warn({ sessionId, err }, 'worker close failed'));
}

/**
 * Hands one session to another runner the way SIGTERM hands them all: active jobs finish, the
 * client stops, what it received is stored; the stored status stays, so the next owner restores it
 * without a QR.
 */
export async function handOverSession(ctx: SessionContext, sessionId: string): Promise<void> {
  const session = ctx.live.get(sessionId);
  if (!session) return;
  ctx.live.delete(sessionId);
  clearTimeout(session.retryTimer);
  await session.worker.close().catch((err) => ctx.deps.logger.warn({ sessionId, err }, 'worker close failed'));
  await session.client.stop({ logout: false }).catch((err) => ctx.deps.logger.warn({ sessionId, err }, 'client stop failed'));
  await session.liveWrites.drained();
}

/**
 * On boot: every session that was running, and every session whose engine kept its auth unless
 * it was stopped on purpose. Those come back `ready` without a QR and sync again.
 */
export async function restoreSessions(ctx: SessionContext): Promise<string[]> {
  const sessions = await ctx.deps.store.listSessions();
  const restored: string[] = [];
  for (const s of sessions) {
    const wanted = RESTORABLE.includes(s.status) || (s.status !== 'stopped' && (await ctx.deps.engine.hasAuth(s.sessionId)));
    if (wanted) restored.push(s.sessionId);
  }
  // A few at a time: each webjs start launches a Chromium, and the rest wait in line.
  let next = 0;
  const lane = async () => {
    while (next < restored.length) await startSession(ctx, restored[next++]);
  };
  const lanes = Math.min(ctx.deps.restoreConcurrency ?? 1, restored.length);
  await Promise.all(Array.from({ length: lanes }, lane));
  return restored;
}

/** On shutdown: let active jobs finish, stop clients; stored statuses stay for the next restore. */
export async function closeAllSessions(ctx: SessionContext): Promise<void> {
  const sessions = [...ctx.live.values()];
  ctx.live.clear();
  for (const s of sessions) clearTimeout(s.retryTimer);
  await Promise.all(sessions.map((s) => s.worker.close()));
  await Promise.all(sessions.map((s) => s.client.stop({ logout: false }).catch(() => undefined)));
  // What the clients received before they stopped is stored, not dropped (within the shutdown deadline).
  await Promise.all(sessions.map((s) => s.liveWrites.drained()));
}
