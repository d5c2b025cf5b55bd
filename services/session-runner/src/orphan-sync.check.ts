import { Keys } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import { type Logger, type Redis, requestSync, type SessionQueues, type SyncProgress } from '@wa-sync/shared/runtime';
import type { SessionStatusReporter } from './session-status.reporter';

export interface OrphanSyncDeps {
  store: Store;
  redis: Redis;
  queues: SessionQueues;
  progress: SyncProgress;
  reporter: SessionStatusReporter;
  logger: Logger;
  limitPerChat: number;
}

/**
 * Closes the session's open sync when its job graph is gone (Redis restarted without persistence,
 * or failed over to a stale replica: nothing would ever finish it): the store run is finished (every chat
 * counted failed, as nothing says which were saved), `sync_error` is announced, and a new sync is
 * requested when the client is ready (messages are upserted by id, so nothing is stored twice).
 * Returns the closed sync id, or null when there was nothing to close.
 */
export async function closeOrphanSync(deps: OrphanSyncDeps, sessionId: string, clientReady: boolean): Promise<string | null> {
  const run = await deps.store.getLastSyncRun(sessionId);
  if (!run || run.finishedAt || run.done) return null;
  if (await deps.redis.exists(Keys.syncProgress(run.syncId))) return null;
  // The session's active sync is set before the run is stored and cleared after it finishes: while
  // it names this run, the run is only starting (progress not begun yet), not lost.
  if ((await deps.redis.get(Keys.activeSync(sessionId))) === run.syncId) return null;
  const { syncId } = run;
  deps.logger.warn({ sessionId, syncId }, 'open sync has no progress in Redis (Redis lost its data): closing it and syncing again');
  await deps.store.finishSyncRun(syncId, { nChats: run.nChats, chatsFailed: run.nChats, totalMessages: run.totalMessages });
  // Only if it still names the lost sync: a sync started since then keeps running.
  await deps.progress.release(sessionId, syncId);
  await deps.reporter.announce(sessionId, 'sync_error', {
    sessionId,
    syncId,
    message: 'the sync lost its jobs (Redis restarted without its data); a new sync runs',
  });
  if (clientReady) {
    const next = await requestSync(deps.redis, deps.queues, { sessionId, reason: 'reconnect', limitPerChat: deps.limitPerChat });
    deps.logger.info({ sessionId, lost: syncId, syncId: next.syncId }, 'sync requested after a lost sync');
  }
  return syncId;
}
