import type { Job } from 'bullmq';
import { type Message, type SaveChatJob, type SaveChatResult, Keys, parseJobResult } from '@wa-sync/shared/contracts';
import { type Store } from '@wa-sync/shared/store';
import { type ChatRecorded, type Redis, type SyncProgress, CatchUpGaps } from '@wa-sync/shared/runtime';

export interface SaveChatDeps {
  store: Store;
  redis: Redis;
  progress: SyncProgress;
}

/**
 * Upserts one chat's staged messages, then counts the chat in the sync's progress and drops the
 * staging key (one atomic call). Each step is idempotent, so a retry after a crash anywhere stores
 * nothing twice and counts the chat once. A chat whose fetch failed for good is counted as failed.
 * Returns the sync's count after this chat when this call counted it (for the finalize job's
 * percentage), without a read of its own.
 */
export async function runSaveChat(
  job: Job,
  data: SaveChatJob,
  deps: SaveChatDeps,
): Promise<SaveChatResult & { recorded?: ChatRecorded }> {
  const { sessionId, syncId, chatId } = data;
  // The staging key follows from the chat, so the batch is read alongside the fetch's result.
  const expectedKey = Keys.staging(syncId, chatId);
  const [children, stagedRaw] = await Promise.all([job.getChildrenValues(), deps.redis.get(expectedKey)]);
  const value = Object.values(children)[0];
  // Parsed, not trusted: a fetch job of another version or a corrupted value fails here, clearly.
  const fetched = value === undefined ? undefined : parseJobResult('session', 'fetch-messages', value);
  if (!fetched) {
    const failures = Object.values(await job.getIgnoredChildrenFailures());
    const reason = failures[0] ?? 'no result';
    const recorded = await deps.progress.recordChat({ sessionId, syncId, chatId, messages: 0, failed: true, error: `fetch failed: ${reason}` });
    return { messages: 0, failed: true, recorded };
  }

  const raw = fetched.stagingKey === expectedKey ? stagedRaw : await deps.redis.get(fetched.stagingKey);
  if (raw === null) {
    // Already saved and cleaned up by an earlier attempt that died before completing.
    if (await deps.progress.isChatCounted(syncId, chatId)) {
      await deps.redis.zrem(Keys.stagedChats(syncId), chatId);
      return { messages: fetched.count, failed: false };
    }
    throw new Error(`staged messages of chat ${chatId} are gone (expired?)`);
  }
  const messages = JSON.parse(raw) as Message[];
  await deps.store.upsertMessages(sessionId, chatId, messages);
  if (fetched.catchUpAfter) await new CatchUpGaps(deps.redis).close(sessionId, chatId, fetched.catchUpAfter);
  // Frees the chat's place in the sync's back-pressure window along with its batch.
  const recorded = await deps.progress.recordChat(
    { sessionId, syncId, chatId, messages: messages.length, failed: false },
    { stagingKey: fetched.stagingKey },
  );
  return { messages: messages.length, failed: false, recorded };
}
