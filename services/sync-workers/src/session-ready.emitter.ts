import { FINISHED_SYNC_TTL_S, Keys, type SessionEvents, SessionEventSchemas } from '@wa-sync/shared/contracts';
import { APPEND_EVENT_LUA_FN, type Redis } from '@wa-sync/shared/runtime';

/**
 * Logs and announces a sync's `session_ready` unless it already was, and records its log id
 * beside the sync, in one script: a retried finalize gets the first id back instead of a second
 * event. KEYS: marker, log. ARGV: ttl, maxLen, channel, sessionId, dataJson.
 */
const EMIT_ONCE_LUA = `${APPEND_EVENT_LUA_FN}
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local id = wa_append(KEYS[2], ARGV[2], ARGV[3], ARGV[4], 'session_ready', ARGV[5])
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[1]))
return id
`;

type EmitRedis = Redis & { waSessionReady(marker: string, log: string, ...argv: (string | number)[]): Promise<string> };

/** Returns the log id of the sync's one `session_ready`, appending it on the first call only. */
export async function emitSessionReadyOnce(redis: Redis, data: SessionEvents['session_ready'], logMaxLen: number): Promise<string> {
  if (!('waSessionReady' in redis)) redis.defineCommand('waSessionReady', { numberOfKeys: 2, lua: EMIT_ONCE_LUA });
  const parsed = SessionEventSchemas.session_ready.parse(data);
  return (redis as EmitRedis).waSessionReady(
    Keys.sessionReady(parsed.syncId),
    Keys.eventLog(parsed.sessionId),
    FINISHED_SYNC_TTL_S,
    logMaxLen,
    Keys.eventsChannel,
    parsed.sessionId,
    JSON.stringify(parsed),
  );
}
