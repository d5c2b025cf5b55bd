import { Keys } from './redis.keys';
import type { Redis } from './redis.client';

/** KEYS: gaps hash. ARGV: chatId, after. Deletes the field only if it still holds this gap. */
const CLOSE_GAP_LUA = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;

type GapsRedis = Redis & { waCloseGap(key: string, chatId: string, after: string): Promise<number> };

/**
 * Catch-ups in flight, per chat: "messages after `after` may be missing". A catch-up opens a gap
 * for each chat it pages back and the chat's save closes it. A gap left open (the fetch failed for
 * good, the runner died) is where the next catch-up starts, even if live messages were stored
 * after it meanwhile and moved the chat's newest stored message past the gap.
 */
export class CatchUpGaps {
  private readonly redis: GapsRedis;

  constructor(redis: Redis) {
    if (!('waCloseGap' in redis)) redis.defineCommand('waCloseGap', { numberOfKeys: 1, lua: CLOSE_GAP_LUA });
    this.redis = redis as GapsRedis;
  }

  /** Open gaps of the session: chat id → ISO time from which messages may be missing. */
  async open(sessionId: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(Keys.catchUpGaps(sessionId))));
  }

  async mark(sessionId: string, gaps: Array<{ chatId: string; after: string }>): Promise<void> {
    if (gaps.length === 0) return;
    await this.redis.hset(Keys.catchUpGaps(sessionId), Object.fromEntries(gaps.map((g) => [g.chatId, g.after])));
  }

  /** The chat's messages from `after` on are stored; a newer gap (a later catch-up) stays. */
  async close(sessionId: string, chatId: string, after: string): Promise<void> {
    await this.redis.waCloseGap(Keys.catchUpGaps(sessionId), chatId, after);
  }
}
