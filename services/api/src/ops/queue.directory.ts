import { BULL_PREFIX, type InspectQueue, QueueName, SESSION_QUEUE_PREFIX } from '@wa-sync/shared/contracts';
import { type Logger, openInspectQueue, type Redis } from '@wa-sync/shared/runtime';

/** BullMQ's default key prefix (wa-sync never sets another). */
const FIXED: string[] = Object.values(QueueName);
/** `bull:wa-session-<id>:meta`, the hash BullMQ writes when a queue gets its first job. */
const META_KEY = new RegExp(`^${BULL_PREFIX}:(${SESSION_QUEUE_PREFIX}[A-Za-z0-9_-]{1,64}):meta$`);

/**
 * Every queue of the product, for Bull Board and /metrics: the fixed ones of `QueueName`, and the
 * per-session queues as they exist in Redis. Session queues are found by a SCAN for their `meta`
 * key rather than from the store's sessions: Redis is where the jobs are, so a queue shows up even
 * if its session row is gone, and one that was obliterated drops off. A SCAN walks the keyspace,
 * so it runs at most once per `refreshMs`, only when someone looks (a board request, a scrape),
 * and one at a time; if Redis is down the last list is kept.
 */
export class QueueDirectory {
  private readonly fixedQueues: InspectQueue[];
  private readonly sessionQueues = new Map<string, InspectQueue>();
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly refreshMs: number,
    private readonly logger: Logger,
  ) {
    this.fixedQueues = FIXED.map((name) => this.open(name));
  }

  fixed(): InspectQueue[] {
    return [...this.fixedQueues];
  }

  /** The fixed queues, then the session queues by name; rediscovered when the list is stale. */
  async list(): Promise<InspectQueue[]> {
    if (Date.now() - this.refreshedAt >= this.refreshMs) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = null));
      await this.refreshing;
    }
    return [...this.fixedQueues, ...[...this.sessionQueues.values()].sort((a, b) => a.name.localeCompare(b.name))];
  }

  async close(): Promise<void> {
    await Promise.all([...this.fixedQueues, ...this.sessionQueues.values()].map((q) => q.close()));
    this.sessionQueues.clear();
  }

  private async refresh(): Promise<void> {
    // Stamped first: while Redis is down, requests do not each retry the SCAN.
    this.refreshedAt = Date.now();
    let names: Set<string>;
    try {
      names = await this.scanSessionQueues();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not list session queues; keeping the last list');
      return;
    }
    for (const name of names) {
      if (!this.sessionQueues.has(name)) this.sessionQueues.set(name, this.open(name));
    }
    for (const [name, queue] of this.sessionQueues) {
      if (names.has(name)) continue;
      this.sessionQueues.delete(name);
      await queue.close().catch(() => undefined);
    }
  }

  private open(name: string): InspectQueue {
    const queue = openInspectQueue(name, { connection: this.redis });
    // Connection errors are the readiness probe's to report; without a listener BullMQ prints each one.
    queue.on('error', (err) => this.logger.debug({ queue: name, err: err.message }, 'queue connection error'));
    return queue;
  }

  private async scanSessionQueues(): Promise<Set<string>> {
    const names = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${BULL_PREFIX}:${SESSION_QUEUE_PREFIX}*:meta`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const name = META_KEY.exec(key)?.[1];
        if (name) names.add(name);
      }
    } while (cursor !== '0');
    return names;
  }
}
