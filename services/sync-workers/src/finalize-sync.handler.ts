import type { Queue } from 'bullmq';
import {
  type FinalizeSyncJob,
  type Logger,
  type Redis,
  type SessionQueues,
  type SessionSyncedJob,
  type Store,
  type SyncProgress,
  JobProducer,
  QueueName,
  startQueuedSync,
} from '@wa-sync/shared';

export interface FinalizeDeps {
  store: Store;
  progress: SyncProgress;
  sessionSynced: Queue;
  /** Where a sync queued behind this one (see requestSync) is started. */
  queues: SessionQueues;
  redis: Redis;
  logger: Logger;
}

/**
 * Runs once every chat of the sync is saved or has failed for good. Chats never counted (their
 * save job failed after its retries) are counted as failed here, so `done` always arrives; then
 * the store gets the summary and downstream consumers a `session-synced` job.
 */
export async function runFinalizeSync(data: FinalizeSyncJob, deps: FinalizeDeps): Promise<SessionSyncedJob> {
  const { sessionId, syncId, chatIds } = data;
  for (const chatId of await deps.progress.uncounted(syncId, chatIds)) {
    await deps.progress.recordChat({ sessionId, syncId, chatId, messages: 0, failed: true, error: 'save failed after retries' });
  }
  const snapshot = await deps.progress.get(syncId);
  if (!snapshot) throw new Error(`sync ${syncId} has no progress record`);

  const summary: SessionSyncedJob = {
    sessionId,
    syncId,
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
  await new JobProducer(QueueName.sessionSynced, deps.sessionSynced).add('session-synced', summary, { jobId: syncId });
  await deps.progress.close(sessionId, syncId);
  const next = await startQueuedSync(deps.redis, deps.queues, sessionId);
  if (next) deps.logger.info({ sessionId, syncId: next, after: syncId }, 'queued sync started');
  deps.logger.info({ sessionId, syncId, nChats: summary.nChats, totalMessages: summary.totalMessages, chatsFailed: summary.chatsFailed }, 'sync finished');
  return summary;
}
