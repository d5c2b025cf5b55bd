import type { Redis } from '@wa-sync/shared/runtime';

/**
 * The fetch's Redis writes as Lua scripts: atomic like MULTI, but one command each. On the
 * runner's connection BullMQ has defined dozens of scripts, and ioredis copies every one of them
 * into each `multi()` it builds: two MULTIs per fetched chat were a tenth of the runner's CPU.
 */

/**
 * KEYS: staging key, staged set, fetch stats. ARGV: batch JSON, ttl s, now ms, chatId, calls,
 * messages. A chat is never counted as staged without its batch, or staged uncounted; ZADD, not
 * INCR, so a retried fetch counts its chat once.
 */
const STAGE_LUA = `
redis.call('HINCRBY', KEYS[3], 'calls', ARGV[5])
redis.call('HINCRBY', KEYS[3], 'messages', ARGV[6])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
`;

/** KEYS: staged set. ARGV: stale before (ms). Drops stale entries, returns how many are left. */
const STAGED_COUNT_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
`;

/** KEYS: fetch stats. ARGV: calls, messages. */
const COUNT_FETCHES_LUA = `
redis.call('HINCRBY', KEYS[1], 'calls', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'messages', ARGV[2])
return 1
`;

export type StagingRedis = Redis & {
  waStage(staging: string, staged: string, stats: string, json: string, ttlS: number, nowMs: number, chatId: string, calls: number, messages: number): Promise<number>;
  waStagedCount(staged: string, staleBeforeMs: number): Promise<number>;
  waCountFetches(stats: string, calls: number, messages: number): Promise<number>;
};

/** The connection with the staging scripts defined (once per connection). */
export function stagingRedis(redis: Redis): StagingRedis {
  if (!('waStage' in redis)) {
    redis.defineCommand('waStage', { numberOfKeys: 3, lua: STAGE_LUA });
    redis.defineCommand('waStagedCount', { numberOfKeys: 1, lua: STAGED_COUNT_LUA });
    redis.defineCommand('waCountFetches', { numberOfKeys: 1, lua: COUNT_FETCHES_LUA });
  }
  return redis as StagingRedis;
}
