import { APPEND_EVENT_LUA_FN } from './event-log.scripts';
import { SNAPSHOT_LUA_FN, snapshotField as f } from './sync-snapshot.codec';

/**
 * Progress is updated, logged and announced in one Lua script: Redis runs it atomically, so the
 * order of log entries is the order of increments and `currentChat` reaches clients in order
 * (invariant 3), and the hash is written before the event leaves (invariant 2). The announced
 * `sync_chats` is the hash read back through `wa_snapshot`, generated from the `SyncSnapshot`
 * schema (sync-snapshot.codec.ts); the fields moved here are named through `f`, checked against it.
 */

/**
 * KEYS: progress, lastSync, active-sync, log. ARGV: sessionId, syncId, channel, startedAt, maxLen,
 * then the first snapshot as hash field/value pairs (`snapshotToHash`).
 */
export const BEGIN_SYNC_LUA = `${APPEND_EVENT_LUA_FN}${SNAPSHOT_LUA_FN}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'startedAt', ARGV[4], unpack(ARGV, 6))
local snap = wa_snapshot(KEYS[1])
-- A sync with no chat is done at once: it holds no coalescing key.
if snap.done and redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
redis.call('SET', KEYS[2], ARGV[2])
wa_append(KEYS[4], ARGV[5], ARGV[3], ARGV[1], 'sync_chats', cjson.encode(snap))
return 1
`;

/**
 * KEYS: progress, finished set, active-sync, log, staging key, staged set. ARGV: chatId, messages,
 * failed (0|1), channel, errorMessage, activeTtl, maxLen, release (0|1). With release, the chat's
 * staged batch and its place in the back-pressure window go in the same call (one round trip per
 * saved chat less). Returns { status, currentChat, nChats }: status -1 when the sync has no
 * progress record, 0 when the chat was already counted (a retried job), 1 when counted now.
 */
export const RECORD_CHAT_LUA = `${APPEND_EVENT_LUA_FN}${SNAPSHOT_LUA_FN}
-- Released first, even for a sync Redis lost: its batch must not linger, nor its place in the
-- window hold back the fetches of the sync that replaces it.
if ARGV[8] == '1' then
  redis.call('DEL', KEYS[5])
  redis.call('ZREM', KEYS[6], ARGV[1])
end
if redis.call('EXISTS', KEYS[1]) == 0 then return { -1, 0, 0 } end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  local c = redis.call('HMGET', KEYS[1], '${f('currentChat')}', '${f('nChats')}')
  return { 0, tonumber(c[1]) or 0, tonumber(c[2]) or 0 }
end
local failed = tonumber(ARGV[3])
local m = tonumber(ARGV[2])
local cur = redis.call('HINCRBY', KEYS[1], '${f('currentChat')}', 1)
redis.call('HINCRBY', KEYS[1], '${f('totalMessagesSynced')}', m)
redis.call('HINCRBY', KEYS[1], '${f('chatsFailed')}', failed)
-- A sync begun by a version without kinds was a full one.
redis.call('HSETNX', KEYS[1], '${f('kind')}', 'full')
redis.call('HSET', KEYS[1], '${f('chatId')}', ARGV[1], '${f('messagesSynced')}', m)
local snap = wa_snapshot(KEYS[1])
snap.done = cur >= snap.nChats
redis.call('HSET', KEYS[1], '${f('done')}', snap.done and 1 or 0)
-- The coalescing key goes with the last chat, so a sync requested right after \`done\` starts anew.
if redis.call('GET', KEYS[3]) == snap.syncId then
  if snap.done then redis.call('DEL', KEYS[3]) else redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6])) end
end
if failed == 1 then
  wa_append(KEYS[4], ARGV[7], ARGV[4], snap.sessionId, 'sync_error',
    cjson.encode({ sessionId = snap.sessionId, syncId = snap.syncId, chatId = ARGV[1], message = ARGV[5] }))
end
wa_append(KEYS[4], ARGV[7], ARGV[4], snap.sessionId, 'sync_chats', cjson.encode(snap))
return { 1, cur, snap.nChats }
`;

/** KEYS: active-sync. ARGV: syncId. Clears the coalescing key only if it still names this sync. */
export const CLEAR_ACTIVE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
