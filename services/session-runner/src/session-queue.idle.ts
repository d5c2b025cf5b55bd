// What the idle-worker watch asks Redis about a session's queue, in BullMQ 6's own keys. Every job
// add writes the queue's `marker` key (a zset the worker's BZPOPMIN waits on: member "0" when a job
// is waiting or prioritized, "1" scored with the next delayed job's time), and so does a parent whose
// children completed. A closed worker's queue is looked at whole, not only for its marker: a failover
// that loses the primary's newest writes can leave a job waiting whose marker a worker had consumed,
// or a job active (its completion lost) that only an open worker's stalled check brings back.
import { BULL_PREFIX, JobRetention, sessionQueueName } from '@wa-sync/shared/contracts';
import { type Redis, type SessionQueues, type SyncLedger, script } from '@wa-sync/shared/runtime';
import type { SweepFinishedJobs } from './idle-workers.watch';

function key(sessionId: string, part: string): string {
  return `${BULL_PREFIX}:${sessionQueueName(sessionId)}:${part}`;
}

/**
 * True when the session's queue is empty. With clearMarker, atomically clears its marker too: run
 * after the worker closed, so no add can slip between the look and the clear. Its events stream
 * goes with it: nothing reads a session queue's events (catalog.queue.ts), and an idle session
 * would otherwise keep the stream's last node (up to 100 entries, ~4.6 KiB) for good.
 */
export async function closeIfQueueEmpty(redis: Redis, sessionId: string, opts: { clearMarker: boolean }): Promise<boolean> {
  const k = (part: string) => key(sessionId, part);
  // Empty = nothing waiting, active, prioritized, delayed or paused (script.registry.ts).
  const r = await script(redis, 'sessionQueueEmpty')(k('wait'), k('active'), k('prioritized'), k('delayed'), k('paused'), k('marker'), k('events'), opts.clearMarker ? '1' : '0');
  return r === 1;
}

/** Queues looked at per script call: one call stays short however many sessions are idle. */
const WITH_WORK_BATCH = 500;
const PARTS = ['wait', 'active', 'prioritized', 'delayed', 'paused', 'marker'];

/** Which of these sessions' queues have work (script.registry.ts): one round trip per 500 sessions. */
export async function queuesWithWork(redis: Redis, sessionIds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < sessionIds.length; i += WITH_WORK_BATCH) {
    const batch = sessionIds.slice(i, i + WITH_WORK_BATCH);
    const keys = batch.flatMap((id) => PARTS.map((part) => key(id, part)));
    const replies = await script(redis, 'sessionQueuesWithWork')(keys.length, ...keys);
    out.push(...batch.filter((_, j) => replies[j] === 1));
  }
  return out;
}

/**
 * Sweeps an idle session queue's finished jobs past their retention (BullMQ applies its own
 * removeOnComplete only when another job of the queue finishes). Not while the session's newest
 * sync is unfinished: a save still to run reads its fetch's record to fetch the chat again if Redis
 * lost the staged batch. At most `JobRetention.completedCount` of each kind per call.
 */
export function finishedJobsSweeper(queues: SessionQueues, ledger: SyncLedger): SweepFinishedJobs {
  return async (sessionId, keep) => {
    const sync = await ledger.getForSession(sessionId);
    if (sync && !sync.done) return true;
    const queue = queues.get(sessionId);
    const limit = JobRetention.completedCount;
    const completed = await queue.clean(keep.completedMs, limit, 'completed');
    const failed = await queue.clean(keep.failedMs, limit, 'failed');
    return completed.length < limit && failed.length < limit;
  };
}
