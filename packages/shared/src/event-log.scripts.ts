/**
 * Appends one session event to the session's log (a Redis Stream) and only then publishes it,
 * both in one script: the log order is the announce order, and nothing is announced that a
 * reconnecting client could not replay. The envelope is built by concatenation, not cjson, so
 * the event's own JSON (empty arrays included) travels unchanged.
 *
 * `wa_append(logKey, maxLen, channel, sessionId, event, dataJson)` returns the entry id.
 */
export const APPEND_EVENT_LUA_FN = `
local function wa_append(logKey, maxLen, channel, sessionId, event, dataJson)
  local entry = '{"v":1,"sessionId":' .. cjson.encode(sessionId) .. ',"event":' .. cjson.encode(event) .. ',"data":' .. dataJson
  local id = redis.call('XADD', logKey, 'MAXLEN', '~', maxLen, '*', 'e', entry .. '}')
  redis.call('PUBLISH', channel, entry .. ',"id":"' .. id .. '"}')
  return id
end
`;

/** KEYS: log. ARGV: maxLen, channel, sessionId, event, dataJson. */
export const APPEND_EVENT_LUA = `${APPEND_EVENT_LUA_FN}
return wa_append(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`;
