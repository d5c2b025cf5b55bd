import IORedis, { type Redis, type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * A Redis connection for BullMQ and wa-sync's own keys. Workers need `maxRetriesPerRequest: null`
 * (blocking commands must wait out a reconnect instead of failing the job).
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}
