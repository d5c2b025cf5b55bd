import type { FinalizeSyncJob, SessionEvents } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import {
  type Logger,
  type Redis,
  type SessionQueues,
  startQueuedSync,
  SyncGoneError,
  type SyncProgress,
} from '@wa-sync/shared/runtime';
import type { DeliveryRouter } from './delivery.router';
import { emitSessionReadyOnce } from './session-ready.emitter';

export interface FinalizeDeps {
  store: Store;
  redis: Redis;
  progress: SyncProgress;
  /** Adds the delivery jobs of `session_ready`. */
  router: DeliveryRouter;
  /** Where a sync queued behind this one (see requestSync) is started. */
  queues: SessionQueues;
  logger: Logger;
  /** EVENT_LOG_MAXLEN. */
  eventLogMaxLen: number;
}

/**
 * Runs once every chat of the sync is saved or has failed for good. Chats never counted (their
 * save job failed after its retries) are counted as failed here, so `done` always arrives; then
 * the store gets the summary, the session's log one `session_ready`, and downstream targets a
 * delivery job each. Every step is idempotent: a retry after a crash anywhere logs no second
 * `session_ready` (its log id is kept beside the sync) and adds no second job (ids from that id).
 */
export async function runFinalizeSync(data: FinalizeSyncJob, deps: FinalizeDeps): Promise<SessionEvents['session_ready']> {
  const { sessionId, syncId, chatIds } = data;
  for (const chatId of await deps.progress.uncounted(syncId, chatIds)) {
    await deps.progress.recordChat({ sessionId, syncId, chatId, messages: 0, failed: true, error: 'save failed after retries' });
  }
  const snapshot = await deps.progress.get(syncId);
  if (!snapshot) throw new SyncGoneError(syncId);

  const summary: SessionEvents['session_ready'] = {
    sessionId,
    syncId,
    kind: snapshot.kind,
    chats: chatIds,
    nChats: snapshot.nChats,
    totalMessages: snapshot.totalMessagesSynced,
    chatsFailed: snapshot.chatsFailed,
  };
  await deps.store.finishSyncRun(syncId, {
    nChats: summary.nChats,
    chatsFailed: summary.chatsFailed,
    totalMessages: summary.totalMessages,
  });
  const logId = await emitSessionReadyOnce(deps.redis, summary, deps.eventLogMaxLen);
  const hooks = await deps.store.getSessionWebhooks(sessionId);
  await deps.router.enqueue([{ sessionId, event: 'session_ready', id: logId, data: summary }], () => hooks);
  await deps.progress.close(sessionId, syncId);
  const next = await startQueuedSync(deps.redis, deps.queues, sessionId);
  if (next) deps.logger.info({ sessionId, syncId: next, after: syncId }, 'queued sync started');
  deps.logger.info({ sessionId, syncId, kind: summary.kind, nChats: summary.nChats, totalMessages: summary.totalMessages, chatsFailed: summary.chatsFailed }, 'sync finished');
  return summary;
}
