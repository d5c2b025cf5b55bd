import { type FinalizeSyncJob, SaveChatResult, type SessionEvents, saveResultKey } from '@wa-sync/shared/contracts';
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
 * Runs once every chat of the sync is saved or has failed for good. Chats never counted are
 * counted here, so `done` always arrives: as saved when their save job's result says so (see
 * `countUncounted`), else as failed (the save failed after its retries). Then
 * the store gets the summary, the session's log one `session_ready`, and downstream targets a
 * delivery job each. Every step is idempotent: a retry after a crash anywhere logs no second
 * `session_ready` (its log id is kept beside the sync) and adds no second job (ids from that id).
 */
export async function runFinalizeSync(
  data: FinalizeSyncJob,
  saveResults: () => Promise<Record<string, unknown>>,
  deps: FinalizeDeps,
): Promise<SessionEvents['session_ready']> {
  const { sessionId, syncId, chatIds } = data;
  const { ledger } = deps;
  await countUncounted(data, saveResults, deps);
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
  // Read back before the job completes: a finalize taken before a Sentinel failover can write all
  // of the above to the old primary (lost) and then complete on the new one (see countUncounted).
  // Thrown, the job runs again and every step above is redone, once.
  if (!(await ledger.readyLogged(syncId))) throw new Error(`session_ready of ${syncId} is gone from Redis (a failover?): finalizing again`);
  deps.logger.info({ sessionId, syncId, kind: summary.kind, nChats: summary.nChats, totalMessages: summary.totalMessages, chatsFailed: summary.chatsFailed }, 'sync finished');
  return summary;
}

/**
 * Counts the chats the ledger has not. A save job that completed stored its chat: its result says
 * how many messages. Its count can still be missing when a Sentinel failover lost the primary's
 * newest writes: a save taken before the failover writes its count to the old primary (lost) and
 * then completes on the new one, where its lock is still valid. Without a result, the save failed
 * after its retries.
 */
async function countUncounted(
  { sessionId, syncId, chatIds }: FinalizeSyncJob,
  saveResults: () => Promise<Record<string, unknown>>,
  { ledger, logger }: FinalizeDeps,
): Promise<void> {
  const uncounted = new Set(await ledger.uncounted(syncId, chatIds));
  // Read only then: every save's value of a 10,000-chat sync is one large read, rarely needed.
  if (uncounted.size === 0) return;
  const results = await saveResults();
  for (const [place, chatId] of chatIds.entries()) {
    if (!uncounted.has(chatId)) continue;
    const saved = SaveChatResult.safeParse(results[saveResultKey(syncId, place)]);
    if (saved.success && !saved.data.failed) {
      logger.warn({ sessionId, syncId, chatId, messages: saved.data.messages }, 'chat saved but its count was lost: counted from its save result');
      await ledger.recordChat({ sessionId, syncId, chatId, messages: saved.data.messages, failed: false });
    } else {
      await ledger.recordChat({ sessionId, syncId, chatId, messages: 0, failed: true, error: 'save failed after retries' });
    }
  }
}
