import { RETIRED_QUEUE_NAMES } from '@wa-sync/shared/contracts';
import { type Logger, openInspectQueue, type Redis } from '@wa-sync/shared/runtime';

/**
 * Removes queues wa-sync no longer uses (`session-synced`: jobs nobody consumed), so they do not
 * sit in Redis forever after an upgrade. Cheap when they are gone: one EXISTS per name.
 */
export async function removeRetiredQueues(redis: Redis, logger: Logger): Promise<void> {
  for (const name of RETIRED_QUEUE_NAMES) {
    if ((await redis.exists(`bull:${name}:meta`, `bull:${name}:id`)) === 0) continue;
    const queue = openInspectQueue(name, { connection: redis });
    try {
      const counts = await queue.getJobCounts();
      await queue.obliterate({ force: true });
      logger.info({ queue: name, counts }, 'removed a retired queue and its jobs');
    } finally {
      await queue.close();
    }
  }
}
