import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url.parser';

export type { Redis };

/**
 * A Redis connection for BullMQ and wa-sync's own keys. Workers need `maxRetriesPerRequest: null`
 * (blocking commands must wait out a reconnect instead of failing the job). A `redis+sentinel://`
 * URL gives Sentinel options, which `duplicate()` (BullMQ's blocking and QueueEvents connections) keeps.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const target = parseRedisUrl(url);
  const base: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };
  if (target.url !== undefined) return new IORedis(target.url, { ...base, ...options });
  return new IORedis({ ...base, ...target.options, ...options });
}
