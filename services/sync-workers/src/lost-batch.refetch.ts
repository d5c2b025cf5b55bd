import { type Job, WaitingChildrenError } from 'bullmq';
import { FetchMessagesJob, JobProducer, type SaveChatJob, SyncJobId } from '@wa-sync/shared/contracts';
import type { Logger, SessionQueues } from '@wa-sync/shared/runtime';

/**
 * A chat whose staged batch is gone is fetched again this many times at most. Redis loses
 * acknowledged writes when a primary dies before its replica has them (Sentinel failover), or
 * everything when it restarts empty. A fetch taken before a failover can stage its batch on the old
 * primary (lost) and then complete on the new one, where its lock is still valid: the completion
 * survives, the batch does not.
 */
export const MAX_REFETCHES = 2;

/**
 * The save's fetch result: the newest fetch's, once a refetch was added (the first fetch's value
 * stays among the children). `undefined` when that fetch failed for good.
 */
export function latestFetch(children: Record<string, unknown>, refetches = 0): { key: string; value: unknown } | undefined {
  const entries = Object.entries(children);
  const found = refetches === 0 ? entries[0] : entries.find(([key]) => key.endsWith(`-again${refetches}`));
  return found && { key: found[0], value: found[1] };
}

/**
 * Adds the chat's fetch once more as a child of this save and parks the save until it completes
 * (BullMQ's step pattern: no attempt is spent). `childKey` is BullMQ's key of the fetch that named
 * the lost batch (`<prefix>:<queue>:<jobId>`; job ids hold no `:`). Returns when no refetch is left
 * or the fetch's payload is gone with it: the save then fails as before, clearly.
 */
export async function refetchLostBatch(
  job: Job,
  token: string,
  data: SaveChatJob,
  childKey: string,
  { queues, logger }: { queues: SessionQueues; logger?: Logger },
): Promise<void> {
  const n = (data.refetches ?? 0) + 1;
  if (n > MAX_REFETCHES || !job.id) return;
  const queue = queues.get(data.sessionId);
  const fetchId = childKey.slice(childKey.lastIndexOf(':') + 1);
  const fetch = FetchMessagesJob.safeParse((await queue.getJob(fetchId))?.data);
  if (!fetch.success) return;
  await new JobProducer('session', queue).add('fetch-messages', fetch.data, {
    jobId: SyncJobId.refetch(fetchId, n),
    parent: { id: job.id, queue: job.queueQualifiedName },
    ignoreDependencyOnFailure: true,
  });
  logger?.warn({ sessionId: data.sessionId, syncId: data.syncId, chatId: data.chatId, refetch: n }, 'staged batch gone: fetching the chat again');
  await job.updateData({ ...data, refetches: n });
  if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
  // The refetch finished already (it cannot wait for the phone that fast, but BullMQ allows it):
  // a plain retry reads its batch.
  throw new Error(`chat ${data.chatId} fetched again; its save runs again`);
}

/**
 * A save running while its fetch (or refetch) has not finished: parked again until it has. BullMQ
 * only lets a save run once its fetch is done, so this is a state a lossy Sentinel failover leaves
 * (the fetch's completion lost, the save already taken), or a save run again before its refetch
 * finished. Returns when nothing is pending: the fetch failed for good (or its result is gone).
 */
export async function awaitFetch(job: Job, token: string | undefined): Promise<void> {
  if (token && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
}
