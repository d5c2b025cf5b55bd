import type { CatalogQueueOf } from './job.producer';
import { isRedisConnectionError } from './process.health';
import { openCatalogQueue } from './catalog.queue';
import type { Logger } from './logger.factory';
import type { Redis } from './redis.client';
import { sessionQueueName } from './queue.names';

/** Per-session queues, opened on first use and shared by everything in the process. */
export class SessionQueues {
  private readonly queues = new Map<string, CatalogQueueOf<'session'>>();

  constructor(
    private readonly connection: Redis,
    /** Where connection errors go (BullMQ prints them to the console when a queue has no listener). */
    private readonly logger?: Logger,
  ) {}

  get(sessionId: string): CatalogQueueOf<'session'> {
    let queue = this.queues.get(sessionId);
    if (!queue) {
      queue = openCatalogQueue('session', sessionQueueName(sessionId), { connection: this.connection });
      if (this.logger) queue.on('error', (err) => !isRedisConnectionError(err) && this.logger?.warn({ sessionId, err: err.message }, 'session queue error'));
      this.queues.set(sessionId, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
