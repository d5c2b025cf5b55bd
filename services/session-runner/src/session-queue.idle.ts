// What the idle-worker watch asks Redis about a session's queue, in BullMQ 6's own keys. Every job
// add writes the queue's `marker` key (a zset the worker's BZPOPMIN waits on: member "0" when a job
// is waiting or prioritized, "1" scored with the next delayed job's time), and so does a parent whose
// children completed. So once a closed worker's empty queue has its marker cleared, the marker
// reappearing is exactly "work arrived", whichever process added it.
import { BULL_PREFIX, sessionQueueName } from '@wa-sync/shared/contracts';
import { type Redis, script } from '@wa-sync/shared/runtime';

function key(sessionId: string, part: string): string {
  return `${BULL_PREFIX}:${sessionQueueName(sessionId)}:${part}`;
}

/**
 * True when the session's queue is empty. With clearMarker, atomically clears its marker too: run
 * after the worker closed, so no add can slip between the look and the clear.
 */
export async function closeIfQueueEmpty(redis: Redis, sessionId: string, opts: { clearMarker: boolean }): Promise<boolean> {
  const k = (part: string) => key(sessionId, part);
  // Empty = nothing waiting, active, prioritized, delayed or paused (script.registry.ts).
  const r = await script(redis, 'sessionQueueEmpty')(k('wait'), k('active'), k('prioritized'), k('delayed'), k('paused'), k('marker'), opts.clearMarker ? '1' : '0');
  return r === 1;
}

/** Which of these sessions' queues have a marker: one pipelined round trip for all idle sessions. */
export async function queuesWithWork(redis: Redis, sessionIds: string[]): Promise<string[]> {
  const pipe = redis.pipeline();
  for (const id of sessionIds) pipe.exists(key(id, 'marker'));
  const replies = (await pipe.exec()) ?? [];
  return sessionIds.filter((_, i) => {
    const [err, n] = replies[i] ?? [];
    // A failed look counts as work: the worker opens and BullMQ itself finds out.
    return err !== null || n === 1;
  });
}
