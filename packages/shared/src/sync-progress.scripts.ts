import { APPEND_EVENT_LUA_FN } from './event-log.scripts';

/**
 * Progress is updated, logged and announced in one Lua script: Redis runs it atomically, so the
 * order of log entries is the order of increments and `currentChat` reaches clients in order
 * (invariant 3), and the hash is written before the event leaves (invariant 2). The event data
 * built here is validated against `SessionEventSchemas.sync_chats` by every reader.
 */

/** KEYS: progress, lastSync, active-sync, log. ARGV: sessionId, syncId, nChats, channel, startedAt, kind, maxLen. */
export const BEGIN_SYNC_LUA = `${APPEND_EVENT_LUA_FN}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[3])
local done = n == 0
if done and redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
redis.call('HSET', KEYS[1], 'sessionId', ARGV[1], 'syncId', ARGV[2], 'kind', ARGV[6], 'nChats', n, 'currentChat', 0,
  'messagesSynced', 0, 'totalMessagesSynced', 0, 'chatsFailed', 0, 'done', done and 1 or 0, 'startedAt', ARGV[5])
redis.call('SET', KEYS[2], ARGV[2])
local data = { sessionId = ARGV[1], syncId = ARGV[2], kind = ARGV[6], nChats = n, currentChat = 0, messagesSynced = 0,
  totalMessagesSynced = 0, chatsFailed = 0, done = done }
wa_append(KEYS[4], ARGV[7], ARGV[4], ARGV[1], 'sync_chats', cjson.encode(data))
return 1
`;

/**
 * KEYS: progress, finished set, active-sync, log, staging key, staged set. ARGV: chatId, messages,
 * failed (0|1), channel, errorMessage, activeTtl, maxLen, release (0|1). With release, the chat's
 * staged batch and its place in the back-pressure window go in the same call (one round trip per
 * saved chat less). Returns { status, currentChat, nChats }: status -1 when the sync has no
 * progress record, 0 when the chat was already counted (a retried job), 1 when counted now.
 */
export const RECORD_CHAT_LUA = `${APPEND_EVENT_LUA_FN}
if redis.call('EXISTS', KEYS[1]) == 0 then return { -1, 0, 0 } end
if ARGV[8] == '1' then
  redis.call('DEL', KEYS[5])
  redis.call('ZREM', KEYS[6], ARGV[1])
end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  local c = redis.call('HMGET', KEYS[1], 'currentChat', 'nChats')
  return { 0, tonumber(c[1]) or 0, tonumber(c[2]) or 0 }
end
local failed = tonumber(ARGV[3])
local m = tonumber(ARGV[2])
local cur = redis.call('HINCRBY', KEYS[1], 'currentChat', 1)
local total = redis.call('HINCRBY', KEYS[1], 'totalMessagesSynced', m)
local nFailed = redis.call('HINCRBY', KEYS[1], 'chatsFailed', failed)
local h = redis.call('HMGET', KEYS[1], 'sessionId', 'syncId', 'nChats', 'kind')
local n = tonumber(h[3])
local done = cur >= n
redis.call('HSET', KEYS[1], 'chatId', ARGV[1], 'messagesSynced', m, 'done', done and 1 or 0)
-- The coalescing key goes with the last chat, so a sync requested right after \`done\` starts anew.
if redis.call('GET', KEYS[3]) == h[2] then
  if done then redis.call('DEL', KEYS[3]) else redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6])) end
end
if failed == 1 then
  wa_append(KEYS[4], ARGV[7], ARGV[4], h[1], 'sync_error',
    cjson.encode({ sessionId = h[1], syncId = h[2], chatId = ARGV[1], message = ARGV[5] }))
end
local data = { sessionId = h[1], syncId = h[2], kind = h[4] or 'full', nChats = n, currentChat = cur, chatId = ARGV[1],
  messagesSynced = m, totalMessagesSynced = total, chatsFailed = nFailed, done = done }
wa_append(KEYS[4], ARGV[7], ARGV[4], h[1], 'sync_chats', cjson.encode(data))
return { 1, cur, n }
`;

/** KEYS: active-sync. ARGV: syncId. Clears the coalescing key only if it still names this sync. */
export const CLEAR_ACTIVE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
