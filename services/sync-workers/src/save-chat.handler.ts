import type { Job } from 'bullmq';
import { type Message, type SaveChatJob, type SaveChatResult, parseJobResult } from '@wa-sync/shared/contracts';
import { type Store } from '@wa-sync/shared/store';
import { type ChatRecorded, type Logger, type SessionQueues, type SyncLedger, addMediaJobs, pendingMediaOf } from '@wa-sync/shared/runtime';
import { awaitFetch, latestFetch, refetchLostBatch } from './lost-batch.refetch';

export interface SaveChatDeps {
  store: Store;
  ledger: SyncLedger;
  /** The session queues, where the media jobs of the saved messages go. */
  queues: SessionQueues;
  logger?: Logger;
}

/**
 * Upserts one chat's staged messages, then counts the chat in the sync's progress and drops the
 * staged batch (one atomic call). Each step is idempotent, so a retry after a crash anywhere stores
 * nothing twice and counts the chat once. A chat whose fetch failed for good is counted as failed;
 * one whose batch Redis lost is fetched again (lost-batch.refetch.ts).
 * Returns the sync's count after this chat when this call counted it (for the finalize job's
 * percentage), without a read of its own.
 */
export async function runSaveChat(
  job: Job,
  data: SaveChatJob,
  { store, ledger, queues, logger }: SaveChatDeps,
  token?: string,
): Promise<SaveChatResult & { recorded?: ChatRecorded }> {
  const { sessionId, syncId, chatId } = data;
  // The batch's key follows from the chat, so it is read alongside the fetch's result.
  const [children, expected] = await Promise.all([job.getChildrenValues(), ledger.staged(syncId, chatId)]);
  const latest = latestFetch(children, data.refetches);
  // Parsed, not trusted: a fetch job of another version or a corrupted value fails here, clearly.
  const fetched = latest === undefined ? undefined : parseJobResult('session', 'fetch-messages', latest.value);
  if (!latest) await awaitFetch(job, token);
  if (!latest || !fetched) {
    const failures = Object.values(await job.getIgnoredChildrenFailures());
    // Neither a result nor a failure, and nothing pending: not a fetch that failed, so the chat is
    // not counted as failed (its fetch may yet complete); the save is tried again.
    if (failures.length === 0) throw new Error(`chat ${chatId}: its fetch left neither a result nor a failure`);
    const reason = failures[0];
    const recorded = await ledger.recordChat({ sessionId, syncId, chatId, messages: 0, failed: true, error: `fetch failed: ${reason}` });
    return { messages: 0, failed: true, recorded };
  }

  const { batch } = fetched.stagingKey === expected.key ? expected : await ledger.staged(syncId, chatId, fetched.stagingKey);
  if (batch === null) {
    // Already saved and cleaned up by an earlier attempt that died before completing.
    if (await ledger.isChatCounted(syncId, chatId)) {
      await ledger.unstage(syncId, chatId);
      return { messages: fetched.count, failed: false };
    }
    // Lost by Redis (a failover, a restart): the phone still has them.
    if (token) await refetchLostBatch(job, token, data, latest.key, { queues, logger });
    throw new Error(`staged messages of chat ${chatId} are gone, ${data.refetches ?? 0} refetches made`);
  }
  const messages = JSON.parse(batch) as Message[];
  await store.upsertMessages(sessionId, chatId, messages);
  // After the store has them (the runner's job reads the message), before the chat counts as saved:
  // a save that dies in between is retried and adds them again (one job per message id).
  const withFiles = pendingMediaOf(messages).map((m) => ({ chatId, messageId: m.id }));
  await addMediaJobs(queues.get(sessionId), sessionId, withFiles, fetched.catchUpAfter ? 'catch-up' : 'history');
  if (fetched.catchUpAfter) await ledger.closeGap(sessionId, chatId, fetched.catchUpAfter);
  // Frees the chat's place in the sync's back-pressure window along with its batch.
  const recorded = await ledger.recordChat({ sessionId, syncId, chatId, messages: messages.length, failed: false }, { stagingKey: fetched.stagingKey });
  return { messages: messages.length, failed: false, recorded };
}
