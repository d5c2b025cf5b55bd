/**
 * Sync requests are decided in Redis, atomically, so a narrow request can never take the place of a
 * full one: a request joins the running sync only if that sync covers it (all chats, or a superset
 * of the asked chats, with at least the asked `limitPerChat`); otherwise it is merged into the one
 * queued request of the session, which starts when the running sync ends.
 */
const COVERAGE_LUA = `
local function covers(a, r)
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
