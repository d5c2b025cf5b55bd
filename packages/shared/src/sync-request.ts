import type { SyncReason } from './domain';
import { newSyncId } from './ids';
import { jobOptions } from './jobs';
import { ACTIVE_SYNC_TTL_S, Keys } from './keys';
import type { Redis } from './redis';
import type { SessionQueues } from './session-queues';

export interface SyncRequest {
  sessionId: string;
  reason: SyncReason;
  limitPerChat: number;
  chatIds?: string[];
  /** When the client became ready (a catch-up reaches back past messages stored live since). */
  readyAt?: string;
}

/**
 * Starts a sync of the session unless one is running, in which case the caller gets the running
 * sync's id (`coalesced`). The session runner picks the `sync-start` job up from the session queue.
 */
export async function requestSync(
  redis: Redis,
  queues: SessionQueues,
  request: SyncRequest,
): Promise<{ syncId: string; coalesced: boolean }> {
  const active = Keys.activeSync(request.sessionId);
  for (let attempt = 0; attempt < 3; attempt++) {
    const syncId = newSyncId();
    if (await redis.set(active, syncId, 'EX', ACTIVE_SYNC_TTL_S, 'NX')) {
      try {
        await queues.get(request.sessionId).add(
          'sync-start',
          { ...request, syncId },
          { jobId: syncId, ...jobOptions('session', 'sync-start') },
        );
      } catch (err) {
        await redis.del(active);
        throw err;
      }
      return { syncId, coalesced: false };
    }
    const running = await redis.get(active);
    if (running) return { syncId: running, coalesced: true };
    // The running sync ended between SET and GET: try again.
  }
  throw new Error(`could not start a sync of session ${request.sessionId}`);
}
