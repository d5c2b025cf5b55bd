import type { Result } from 'ioredis';
import { APPEND_EVENT_LUA } from './event-log.scripts';
import type { Redis } from './redis.client';
import {
  BEGIN_SYNC_LUA,
  CLOSE_GAP_LUA,
  COUNT_FETCHES_LUA,
  RECORD_CHAT_LUA,
  REQUEST_SYNC_LUA,
  SESSION_READY_ONCE_LUA,
  STAGE_LUA,
  STAGED_COUNT_LUA,
  START_QUEUED_SYNC_LUA,
} from './sync-ledger.scripts';

/**
 * Every Lua command wa-sync runs, in one place (BullMQ `src/classes/scripts.ts`, trigger.dev
 * `redis-worker/src/queue.ts`). A command's name carries a version, `name:version`: bump it when the
 * script's keys, arguments or reply change, so a connection never runs one version under the other's
 * name. Owners call `script(redis, 'x')(…)` (or `useScripts(redis, …)` once, then `redis[Script.x](…)`),
 * typed by the `RedisCommander` augmentation below; nothing else defines a command. A connection
 * defines only what it runs: ioredis copies every defined command into each MULTI it builds.
 */
export const Script = {
  /** KEYS: key. ARGV: value. Deletes the key only while it still holds the value (a lock, a lease, the active sync). */
  compareAndDelete: 'waCompareAndDelete:1',
  /** KEYS: log. ARGV: maxLen, channel, sessionId, event, dataJson. Returns the entry id (event-log.scripts.ts). */
  appendEvent: 'waAppendEvent:1',
  /** KEYS: lease, lease token counter. ARGV: runnerId, ms. Returns the new fencing token, or null when held. */
  leaseAcquire: 'waLeaseAcquire:1',
  /** KEYS: lease. ARGV: value, ms. Extends the lease only while it is still exactly ours. */
  leaseRenew: 'waLeaseRenew:1',
  /** KEYS: leases. ARGV: ms, then each lease's value. Renews every lease still ours; returns 1/0 per lease. */
  leaseRenewMany: 'waLeaseRenewMany:1',
  // The sync ledger's (sync-ledger.scripts.ts, where each one's keys and arguments are described).
  requestSync: 'waRequestSync:2',
  startQueuedSync: 'waStartQueuedSync:1',
  beginSync: 'waBeginSync:1',
  stage: 'waStage:1',
  stagedCount: 'waStagedCount:2',
  countFetches: 'waCountFetches:1',
  recordChat: 'waRecordChat:1',
  sessionReadyOnce: 'waSessionReadyOnce:1',
  closeGap: 'waCloseGap:1',
  /**
   * KEYS: a session queue's wait, active, prioritized, delayed, paused, marker, events (BullMQ's
   * keys). ARGV: '1' to delete the marker and the events stream when empty. Returns 1 when the queue
   * is empty (session-queue.idle.ts).
   */
  sessionQueueEmpty: 'waSessionQueueEmpty:2',
  /**
   * KEYS: the same six keys for each of several session queues. Returns 1/0 per queue: it has work
   * (a job waiting, active, prioritized, delayed or paused, or a marker).
   */
  sessionQueuesWithWork: 'waSessionQueuesWithWork:1',
} as const;
export type ScriptName = keyof typeof Script;

const COMPARE_AND_DELETE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Takes the lease only when nobody holds it; the value carries a fresh fencing token. */
const LEASE_ACQUIRE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '#' .. token, 'PX', ARGV[2])
return token`;

const LEASE_RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** One round trip for all of a runner's leases, so renewals never queue behind its other work. */
const LEASE_RENEW_MANY_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then out[i] = redis.call('PEXPIRE', key, ARGV[1]) else out[i] = 0 end
end
return out`;

/** Jobs of a session queue a worker must act on, from KEYS[i..i+4]: wait, active, prioritized, delayed, paused. */
const QUEUE_JOBS_LUA_FN = `
local function wa_queue_jobs(i)
  return redis.call('LLEN', KEYS[i]) + redis.call('LLEN', KEYS[i + 1]) + redis.call('ZCARD', KEYS[i + 2])
    + redis.call('ZCARD', KEYS[i + 3]) + redis.call('LLEN', KEYS[i + 4])
end
`;

const SESSION_QUEUE_EMPTY_LUA = `${QUEUE_JOBS_LUA_FN}
if wa_queue_jobs(1) > 0 then return 0 end
if ARGV[1] == '1' then redis.call('DEL', KEYS[6], KEYS[7]) end
return 1`;

const SESSION_QUEUES_WITH_WORK_LUA = `${QUEUE_JOBS_LUA_FN}
local out = {}
for i = 1, #KEYS, 6 do
  out[#out + 1] = (wa_queue_jobs(i) + redis.call('EXISTS', KEYS[i + 5]) > 0) and 1 or 0
end
return out`;

/** numberOfKeys undefined: the caller passes the key count first (a variable number of keys). */
const DEFINITIONS: Record<ScriptName, { numberOfKeys?: number; lua: string }> = {
  compareAndDelete: { numberOfKeys: 1, lua: COMPARE_AND_DELETE_LUA },
  appendEvent: { numberOfKeys: 1, lua: APPEND_EVENT_LUA },
  leaseAcquire: { numberOfKeys: 2, lua: LEASE_ACQUIRE_LUA },
  leaseRenew: { numberOfKeys: 1, lua: LEASE_RENEW_LUA },
  leaseRenewMany: { lua: LEASE_RENEW_MANY_LUA },
  requestSync: { numberOfKeys: 2, lua: REQUEST_SYNC_LUA },
  startQueuedSync: { numberOfKeys: 2, lua: START_QUEUED_SYNC_LUA },
  beginSync: { numberOfKeys: 4, lua: BEGIN_SYNC_LUA },
  stage: { numberOfKeys: 3, lua: STAGE_LUA },
  stagedCount: { numberOfKeys: 2, lua: STAGED_COUNT_LUA },
  countFetches: { numberOfKeys: 1, lua: COUNT_FETCHES_LUA },
  recordChat: { numberOfKeys: 6, lua: RECORD_CHAT_LUA },
  sessionReadyOnce: { numberOfKeys: 2, lua: SESSION_READY_ONCE_LUA },
  closeGap: { numberOfKeys: 1, lua: CLOSE_GAP_LUA },
  sessionQueueEmpty: { numberOfKeys: 7, lua: SESSION_QUEUE_EMPTY_LUA },
  sessionQueuesWithWork: { lua: SESSION_QUEUES_WITH_WORK_LUA },
};

type Arg = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    [Script.compareAndDelete](key: string, value: string): Result<number, Context>;
    [Script.appendEvent](log: string, maxLen: number, channel: string, sessionId: string, event: string, dataJson: string): Result<string, Context>;
    [Script.leaseAcquire](lease: string, tokens: string, runnerId: string, ms: number): Result<number | null, Context>;
    [Script.leaseRenew](lease: string, value: string, ms: number): Result<number, Context>;
    [Script.leaseRenewMany](numberOfKeys: number, ...keysThenArgv: Arg[]): Result<number[], Context>;
    [Script.requestSync](active: string, pending: string, ...argv: Arg[]): Result<[string, string], Context>;
    [Script.startQueuedSync](active: string, pending: string, ...argv: Arg[]): Result<string | null, Context>;
    [Script.beginSync](progress: string, lastSync: string, active: string, log: string, ...argv: Arg[]): Result<number, Context>;
    [Script.stage](staging: string, staged: string, stats: string, ttlS: number, nowMs: number, chatId: string, calls: number, messages: number): Result<0 | 1, Context>;
    [Script.stagedCount](staged: string, progress: string, staleBeforeMs: number, chatId: string): Result<number, Context>;
    [Script.countFetches](stats: string, calls: number, messages: number): Result<number, Context>;
    [Script.recordChat](
      progress: string,
      finished: string,
      active: string,
      log: string,
      staging: string,
      staged: string,
      ...argv: Arg[]
    ): Result<[number, number, number], Context>;
    [Script.sessionReadyOnce](marker: string, log: string, ...argv: Arg[]): Result<string, Context>;
    [Script.closeGap](gaps: string, chatId: string, after: string): Result<number, Context>;
    [Script.sessionQueueEmpty](
      wait: string,
      active: string,
      prioritized: string,
      delayed: string,
      paused: string,
      marker: string,
      events: string,
      clearMarker: '0' | '1',
    ): Result<0 | 1, Context>;
    [Script.sessionQueuesWithWork](numberOfKeys: number, ...keys: string[]): Result<number[], Context>;
  }
}

/** Commands already defined, per connection (a duplicated connection defines its own). */
const defined = new WeakMap<Redis, Set<ScriptName>>();

/** Defines the named commands on the connection, each once; returns it for chaining. */
export function useScripts(redis: Redis, ...names: ScriptName[]): Redis {
  let done = defined.get(redis);
  if (!done) defined.set(redis, (done = new Set()));
  for (const name of names) {
    if (done.has(name)) continue;
    redis.defineCommand(Script[name], DEFINITIONS[name]);
    done.add(name);
  }
  return redis;
}

/** The named command on the connection, defined there on first use. */
export function script<N extends ScriptName>(redis: Redis, name: N): Redis[(typeof Script)[N]] {
  useScripts(redis, name);
  const command: Redis[(typeof Script)[N]] = redis[Script[name]];
  // `bind` widens to the union of every command; the bound one is this command, as typed above.
  return command.bind(redis) as Redis[(typeof Script)[N]];
}
