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
  const base: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: redisRetryDelay };
  if (target.url !== undefined) return new IORedis(target.url, { ...base, ...options });
  return new IORedis({ ...base, ...target.options, ...options });
}

/** Reconnect attempts: 100 ms, 200 ms… capped at 2 s, forever (a process waits for Redis, never exits). */
export function redisRetryDelay(attempt: number): number {
  return Math.min(attempt * 100, 2_000);
}
