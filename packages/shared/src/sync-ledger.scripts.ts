import { APPEND_EVENT_LUA_FN } from './event-log.scripts';
import { SNAPSHOT_LUA_FN, snapshotField as f } from './sync-snapshot.codec';

/**
 * The Lua of a sync's life, in the order a sync lives it (request → begin → stage → record → ready).
 * Registered in script.registry.ts, called only by SyncLedger. Each decides in Redis, atomically,
 * what a retried job, a lost reply or a concurrent request must not get wrong; progress is written,
 * logged and announced in one script, so the order of log entries is the order of increments and
 * `currentChat` reaches clients in order (invariant 3), and the hash is written before the event
 * leaves (invariant 2). The announced `sync_chats` is the hash read back through `wa_snapshot`,
 * generated from the `SyncSnapshot` schema (sync-snapshot.codec.ts); the fields moved here are named
 * through `f`, checked against it.
 */

/**
 * Requests: a request joins the running sync only if that sync covers it (all chats, or a superset
 * of the asked chats, with at least the asked `limitPerChat`); otherwise it is merged into the one
 * queued request of the session, which starts when the running sync ends. A narrow request can
 * never take the place of a full one.
 */
const COVERAGE_LUA = `
local function covers(a, r)
  -- A sync asked for on ready or reconnect runs as a catch-up once the session has synced: it
  -- fetches only what moved, so it never stands in for a manual (full) re-sync.
  if r.reason == 'manual' and a.reason ~= 'manual' then return false end
  if (tonumber(a.limitPerChat) or 0) < (tonumber(r.limitPerChat) or 0) then return false end
  if type(a.chatIds) ~= 'table' then return true end
  if type(r.chatIds) ~= 'table' then return false end
  local set = {}
  for _, c in ipairs(a.chatIds) do set[c] = true end
  for _, c in ipairs(r.chatIds) do if not set[c] then return false end end
  return true
end
-- The union of two requests, under a's id; a reason other than 'manual' (ready, reconnect) wins.
local function merge(a, r)
  local m = { sessionId = a.sessionId, syncId = a.syncId, reason = a.reason,
    limitPerChat = math.max(tonumber(a.limitPerChat) or 0, tonumber(r.limitPerChat) or 0) }
  if a.reason == 'manual' then m.reason = r.reason end
  if type(a.chatIds) == 'table' and type(r.chatIds) == 'table' then
    local seen, ids = {}, {}
    for _, c in ipairs(a.chatIds) do if not seen[c] then seen[c] = true; ids[#ids + 1] = c end end
    for _, c in ipairs(r.chatIds) do if not seen[c] then seen[c] = true; ids[#ids + 1] = c end end
    m.chatIds = ids
  end
  return m
end
local function start(req, prefix, suffix, ttl)
  local json = cjson.encode(req)
  redis.call('SET', KEYS[1], req.syncId, 'EX', ttl)
  redis.call('SET', prefix .. req.syncId .. suffix, json, 'EX', ttl)
  return json
end
`;

/**
 * KEYS: active-sync, pending-sync. ARGV: request JSON (with a fresh syncId), request-key prefix,
 * request-key suffix, ttl. Returns { 'started', requestJson } | { 'coalesced', syncId } |
 * { 'queued', syncId }. A queued request waiting when nothing runs is started with this one.
 */
export const REQUEST_SYNC_LUA = `${COVERAGE_LUA}
local req = cjson.decode(ARGV[1])
local ttl = tonumber(ARGV[4])
local running = redis.call('GET', KEYS[1])
local pending = redis.call('GET', KEYS[2])
if not running then
  if pending then
    req = merge(cjson.decode(pending), req)
    redis.call('DEL', KEYS[2])
  end
  return { 'started', start(req, ARGV[2], ARGV[3], ttl) }
end
local active = redis.call('GET', ARGV[2] .. running .. ARGV[3])
if active and covers(cjson.decode(active), req) then return { 'coalesced', running } end
if pending then
  local p = cjson.decode(pending)
  if covers(p, req) then return { 'queued', p.syncId } end
  req = merge(p, req)
end
redis.call('SET', KEYS[2], cjson.encode(req), 'EX', ttl)
return { 'queued', req.syncId }
`;

/**
 * KEYS: active-sync, pending-sync. ARGV: request-key prefix, suffix, ttl. When no sync runs,
 * makes the queued request the running one and returns its JSON; otherwise returns false.
 */
export const START_QUEUED_SYNC_LUA = `${COVERAGE_LUA}
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local pending = redis.call('GET', KEYS[2])
if not pending then return false end
redis.call('DEL', KEYS[2])
return start(cjson.decode(pending), ARGV[1], ARGV[2], tonumber(ARGV[3]))
`;

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
 * KEYS: staging key, staged set, fetch stats. ARGV: ttl s, now ms, chatId, calls, messages. Sent
 * right behind the batch's own SET on the same connection, so Redis runs it after that SET: the
 * chat is counted as staged only when its batch is there (EXISTS), and ZADD, not INCR, counts a
 * retried fetch once. The batch itself stays out of Lua: Redis copies a script's arguments into
 * Lua strings and back into its own for `redis.call`, about 5 µs per KB, so a 33 KB batch cost
 * 175 µs of Redis inside a script against 3 µs as a plain SET.
 */
export const STAGE_LUA = `
redis.call('HINCRBY', KEYS[3], 'calls', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'messages', ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
`;

/**
 * KEYS: staged set, the sync's progress. ARGV: stale before (ms), the asking fetch's chat id. Drops
 * stale entries, returns how many are left; -1 when the sync has no progress record (Redis lost it:
 * no save will free a place); 0 when the chat itself is still staged: its fetch is running again
 * (its completion was lost with a worker or in a failover), its place is counted already and its
 * save waits for it, so waiting for room could only wait for itself (up to STAGED_STALE_MS).
 */
export const STAGED_COUNT_LUA = `
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if ARGV[2] and ARGV[2] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
return redis.call('ZCARD', KEYS[1])
`;

/** KEYS: fetch stats. ARGV: calls, messages. */
export const COUNT_FETCHES_LUA = `
redis.call('HINCRBY', KEYS[1], 'calls', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'messages', ARGV[2])
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

/**
 * Logs and announces a sync's `session_ready` unless it already was, and records its log id
 * beside the sync: a retried finalize gets the first id back instead of a second event.
 * KEYS: marker, log. ARGV: ttl, maxLen, channel, sessionId, dataJson.
 */
export const SESSION_READY_ONCE_LUA = `${APPEND_EVENT_LUA_FN}
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local id = wa_append(KEYS[2], ARGV[2], ARGV[3], ARGV[4], 'session_ready', ARGV[5])
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[1]))
return id
`;

/** KEYS: gaps hash. ARGV: chatId, after. Deletes the field only if it still holds this gap. */
export const CLOSE_GAP_LUA = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;
