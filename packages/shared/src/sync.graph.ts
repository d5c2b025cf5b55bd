import { QueueKeys } from 'bullmq';
import type { FetchMessagesJob } from './job.catalog';
import { type CatalogFlowJob, flowJob } from './job.producer';
import { BULL_PREFIX, QueueName, sessionQueueName } from './queue.names';

/**
 * A sync's job graph, the contract between the runner that adds it and the workers that run it:
 * finalize ← per chat (save ← fetch), plus a gate while a big graph goes in by steps. Job ids are
 * fixed (by the sync, and by the chat's place in the plan), so a retried sync-start adds nothing
 * twice and anyone can find a sync's jobs without asking Redis.
 */
export const SyncJobId = {
  finalize: (syncId: string) => `finalize-${syncId}`,
  gate: (syncId: string) => `gate-${syncId}`,
  save: (syncId: string, place: number) => `save-${syncId}-${place}`,
  fetch: (syncId: string, place: number) => `fetch-${syncId}-${place}`,
  /** The chat's fetch once more (`n` from 1), when Redis lost the batch the first one staged. */
  refetch: (fetchId: string, n: number) => `${fetchId.replace(/-again\d+$/, '')}-again${n}`,
} as const;

/** BullMQ's name for a queue in parent references and children's value keys (`<prefix>:<queue>`). */
const qualified = (queue: string): string => new QueueKeys(BULL_PREFIX).getQueueQualifiedName(queue);

/**
 * The sync's finalize job as a parent of jobs added later (`opts.parent`): BullMQ names a parent's
 * queue by its qualified name (`<prefix>:<queue>`), so it comes from BullMQ's own QueueKeys.
 */
export function finalizeParent(syncId: string): { id: string; queue: string } {
  return { id: SyncJobId.finalize(syncId), queue: qualified(QueueName.syncFinalize) };
}

/**
 * The key under which the finalize job's `getChildrenValues()` holds the result of the save at
 * `place` (BullMQ keys a child's value by its queue's qualified name and its id).
 */
export function saveResultKey(syncId: string, place: number): string {
  return `${qualified(QueueName.chatSave)}:${SyncJobId.save(syncId, place)}`;
}

/**
 * A sync of more chats than this adds its graph in steps: finalize, a gate and this many chats
 * first (their fetches start at once), then `GRAPH_STEP_CHATS` at a time, then the gate opens.
 * BullMQ builds every job of an add in memory, nothing runs until it is in Redis, and Redis runs
 * one add's MULTI whole: small steps let the first fetches start early and keep each MULTI short,
 * so the fetch workers' own calls to Redis are not queued behind it. Measured at 50 ms fetches,
 * 200 chats: 16 then 50 at a time was 2–5 % faster than 50 then 500.
 */
export const GRAPH_FIRST_CHATS = 16;
export const GRAPH_STEP_CHATS = 50;
/** A gate sync-start never opened (it failed for good) opens by itself after this. */
export const GRAPH_GATE_DELAY_MS = 10 * 60_000;

/**
 * BullMQ priority of every save. BullMQ puts a parent whose children are done at the head of its
 * queue's wait list (RPUSH, where workers take from), so saves without a priority ran newest-ready
 * first: with a backlog in the shared save queue, the sessions whose fetches finished early waited
 * until the others' stopped coming (one session saved its first chat after another had finished
 * its whole sync). Prioritized jobs of one priority run in the order they became ready (BullMQ's
 * priority counter), so every session's saves take their turn.
 */
export const SAVE_JOB_PRIORITY = 1;

/** One chat to fetch, and how. */
export type PlannedChat = Pick<FetchMessagesJob, 'chatId' | 'limit' | 'catchUp' | 'readReactions'>;

/** Where a graph goes: BullMQ's FlowProducer (`CatalogFlow`) or the runner's threaded writer. */
export interface SyncGraphFlow {
  add(root: CatalogFlowJob): Promise<unknown>;
  addBulk(roots: CatalogFlowJob[]): Promise<unknown>;
  promote(queueName: string, jobId: string): Promise<boolean>;
}

/** The save ← fetch pair of the chat at `place`; under `parent` when added after the root. */
function chatJobs(sessionId: string, syncId: string, { chatId, limit, catchUp, readReactions }: PlannedChat, place: number, parent?: { id: string; queue: string }): CatalogFlowJob {
  return flowJob(QueueName.chatSave, 'save-chat', {
    queueName: QueueName.chatSave,
    data: { sessionId, syncId, chatId },
    // A failed chat must not stall the finalize job: it is counted in chatsFailed instead.
    opts: { jobId: SyncJobId.save(syncId, place), priority: SAVE_JOB_PRIORITY, ignoreDependencyOnFailure: true, ...(parent ? { parent } : {}) },
    children: [
      flowJob('session', 'fetch-messages', {
        queueName: sessionQueueName(sessionId),
        data: { sessionId, syncId, chatId, limit, ...(catchUp ? { catchUp } : {}), ...(readReactions ? { readReactions } : {}) },
        opts: { jobId: SyncJobId.fetch(syncId, place), ignoreDependencyOnFailure: true },
      }),
    ],
  });
}

/**
 * Adds the sync's graph. A big one goes in steps behind a gate (see GRAPH_FIRST_CHATS): finalize
 * cannot run between two steps even if every chat added so far is done.
 */
export async function addSyncGraph(flow: SyncGraphFlow, sessionId: string, syncId: string, planned: PlannedChat[]): Promise<void> {
  const stepped = planned.length > GRAPH_FIRST_CHATS;
  const gate = flowJob(QueueName.syncFinalize, 'graph-complete', {
    queueName: QueueName.syncFinalize,
    data: { sessionId, syncId },
    opts: { jobId: SyncJobId.gate(syncId), delay: GRAPH_GATE_DELAY_MS },
  });
  const first = stepped ? planned.slice(0, GRAPH_FIRST_CHATS) : planned;
  await flow.add(
    flowJob(QueueName.syncFinalize, 'finalize-sync', {
      queueName: QueueName.syncFinalize,
      data: { sessionId, syncId, chatIds: planned.map((p) => p.chatId) },
      opts: { jobId: SyncJobId.finalize(syncId) },
      children: [...(stepped ? [gate] : []), ...first.map((p, i) => chatJobs(sessionId, syncId, p, i))],
    }),
  );
  if (!stepped) return;
  const parent = finalizeParent(syncId);
  for (let start = GRAPH_FIRST_CHATS; start < planned.length; start += GRAPH_STEP_CHATS) {
    await flow.addBulk(planned.slice(start, start + GRAPH_STEP_CHATS).map((p, j) => chatJobs(sessionId, syncId, p, start + j, parent)));
  }
  await flow.promote(QueueName.syncFinalize, SyncJobId.gate(syncId));
}
