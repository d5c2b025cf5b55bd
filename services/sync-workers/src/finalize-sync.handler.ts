import type { FinalizeSyncJob, SessionEvents } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import { type Logger, type SessionQueues, SyncGoneError, type SyncLedger } from '@wa-sync/shared/runtime';
import type { DeliveryRouter } from './delivery.router';

export interface FinalizeDeps {
  store: Store;
  ledger: SyncLedger;
  /** Adds the delivery jobs of `session_ready`. */
  router: DeliveryRouter;
  /** Where a sync queued behind this one (see SyncLedger.request) is started. */
  queues: SessionQueues;
  logger: Logger;
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
  const { ledger } = deps;
  for (const chatId of await ledger.uncounted(syncId, chatIds)) {
    await ledger.recordChat({ sessionId, syncId, chatId, messages: 0, failed: true, error: 'save failed after retries' });
  }
  const snapshot = await ledger.get(syncId);
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
  const logId = await ledger.readyOnce(summary);
  const hooks = await deps.store.getSessionWebhooks(sessionId);
  await deps.router.enqueue([{ sessionId, event: 'session_ready', id: logId, data: summary }], () => hooks);
  await ledger.finish(syncId);
  const next = await ledger.end(deps.queues, sessionId, syncId);
  if (next) deps.logger.info({ sessionId, syncId: next, after: syncId }, 'queued sync started');
  deps.logger.info({ sessionId, syncId, kind: summary.kind, nChats: summary.nChats, totalMessages: summary.totalMessages, chatsFailed: summary.chatsFailed }, 'sync finished');
  return summary;
}
