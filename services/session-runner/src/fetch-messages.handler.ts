import {
  type FetchMessagesJob,
  type FetchMessagesResult,
  type Message,
  Keys,
  STAGED_STALE_MS,
  STAGING_TTL_S,
} from '@wa-sync/shared/contracts';
import { type Redis, SyncGoneError } from '@wa-sync/shared/runtime';
import type { WhatsAppClient } from './engine/engine.interface';
import { stagingRedis } from './staging.scripts';

/** A catch-up's pages grow by this factor: 50, 200, 800, 3,200, … up to its max. */
export const CATCHUP_PAGE_GROWTH = 4;

/**
 * What a fetch needs of the session's client. The session worker passes one that takes a phone slot
 * per call ({@link FetchPacer}) and looks the client up only then: it may have been rebuilt meanwhile.
 */
export type PhoneLine = Pick<WhatsAppClient, 'fetchMessages'>;

/**
 * Fetches a chat's messages and stages them in Redis for its save job. Only a pointer and a count
 * go back through BullMQ: return values travel in every `completed` event.
 *
 * With `maxStaged`, the batch is staged only once the sync's back-pressure window has room
 * ({@link waitForStagingRoom}). The wait runs alongside the phone call, not before it: its round
 * trip (and any wait) overlaps the fetch, and Redis stays bounded all the same, since a batch
 * waiting for room sits in this process, one per fetch slot.
 */
export async function runFetchMessages(
  client: PhoneLine,
  data: FetchMessagesJob,
  redis: Redis,
  { maxStaged }: { maxStaged?: number } = {},
): Promise<FetchMessagesResult> {
  const stats = { calls: 0, messages: 0 };
  const r = stagingRedis(redis);
  const statsKey = Keys.fetchStats(data.sessionId);
  const stop = new AbortController();
  const room = maxStaged === undefined ? undefined : waitForStagingRoom(redis, data.syncId, maxStaged, stop.signal);
  // Handled from the start: a Redis error during the phone call is thrown by `await room` after
  // it, not left unhandled (which would end the process) meanwhile.
  room?.catch(() => {});
  let messages: Message[];
  try {
    messages = data.catchUp ? await fetchBack(client, data.chatId, data.limit, data.catchUp, stats) : await fetchCounted(client, data.chatId, data.limit, stats);
    await room;
  } catch (err) {
    stop.abort(); // nothing to stage: the wait's outcome no longer matters
    // The calls that did reach the phone still count.
    if (stats.calls > 0) await r.waCountFetches(statsKey, stats.calls, stats.messages);
    throw err;
  }
  const stagingKey = Keys.staging(data.syncId, data.chatId);
  // The batch, then (sent with it, run after it) the chat's place in the back-pressure window and
  // the phone calls: one round trip, and the script counts the chat only if the batch is there.
  const [, counted] = await Promise.all([
    redis.set(stagingKey, JSON.stringify(messages), 'EX', STAGING_TTL_S),
    r.waStage(stagingKey, Keys.stagedChats(data.syncId), statsKey, STAGING_TTL_S, Date.now(), data.chatId, stats.calls, stats.messages),
  ]);
  if (counted !== 1) throw new Error(`the staged batch of chat ${data.chatId} was gone before it was counted`);
  return { stagingKey, count: messages.length, ...(data.catchUp ? { catchUpAfter: data.catchUp.after } : {}) };
}

/** How often a fetch held back by {@link waitForStagingRoom} looks again. */
export const STAGING_POLL_MS = 15;

/**
 * Back-pressure: waits while `maxStaged` or more chats of the sync are staged and not yet saved,
 * so Redis holds a bounded window of the account, not whatever the runner fetched ahead of the
 * saves. Concurrent fetches may all pass at the same count, so the bound is `maxStaged` plus the
 * fetch concurrency. Stale entries (a save that died before removing its chat) are dropped here,
 * so the wait always ends within STAGED_STALE_MS (or at once when `signal` aborts). A sync whose
 * progress record is gone (Redis lost its data) throws SyncGoneError at once. Returns the ms waited.
 */
export async function waitForStagingRoom(redis: Redis, syncId: string, maxStaged: number, signal?: AbortSignal): Promise<number> {
  const key = Keys.stagedChats(syncId);
  const started = Date.now();
  for (;;) {
    const count = await stagingRedis(redis).waStagedCount(key, Keys.syncProgress(syncId), Date.now() - STAGED_STALE_MS);
    // The sync is gone with Redis's data: waiting would hold a slot of the session's worker until
    // the stale entries expire, ahead of the sync that replaces it.
    if (count === -1) throw new SyncGoneError(syncId);
    if (count < maxStaged || signal?.aborted) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, STAGING_POLL_MS));
  }
}

/**
 * Catch-up of one chat: WhatsApp Web only returns a chat's newest N messages, so the limit grows
 * until the page reaches past the newest stored message (a message strictly older than `after`:
 * then every message at `after`'s second is in it too), the chat has no more, or `max` is
 * reached. Only messages from `after` on are staged: Redis holds what is new, not whole pages.
 */
async function fetchBack(
  client: PhoneLine,
  chatId: string,
  firstPage: number,
  { after, max }: { after: string; max: number },
  stats: FetchStats,
): Promise<Message[]> {
  const afterMs = Date.parse(after);
  let limit = Math.min(firstPage, max);
  for (;;) {
    const page = await fetchCounted(client, chatId, limit, stats);
    const reached = page.length < limit || page.some((m) => Date.parse(m.timestamp) < afterMs);
    if (reached || limit >= max) return page.filter((m) => Date.parse(m.timestamp) >= afterMs);
    limit = Math.min(max, limit * CATCHUP_PAGE_GROWTH);
  }
}

type FetchStats = { calls: number; messages: number };

/** One call to the phone, counted per session so tests and operators can see what a sync cost. */
async function fetchCounted(client: PhoneLine, chatId: string, limit: number, stats: FetchStats): Promise<Message[]> {
  const page = await client.fetchMessages(chatId, { limit });
  stats.calls += 1;
  stats.messages += page.length;
  return page;
}
