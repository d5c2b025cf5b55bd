import type { FetchMessagesJob, FetchMessagesResult, Message } from '@wa-sync/shared/contracts';
import type { FetchStats, SyncLedger } from '@wa-sync/shared/runtime';
import type { ReactionsSeen } from '@wa-sync/shared/store';
import type { FetchOptions, WhatsAppClient } from './engine/engine.interface';
import { type MediaRule, settleLeftOutMedia } from './media.policy';

/** A catch-up's pages grow by this factor: 50, 200, 800, 3,200, … up to its max. */
export const CATCHUP_PAGE_GROWTH = 4;

/**
 * What a fetch needs of the session's client. The session worker passes one that takes a phone slot
 * per call ({@link FetchPacer}) and looks the client up only then: it may have been rebuilt meanwhile.
 */
export type PhoneLine = Pick<WhatsAppClient, 'fetchMessages'>;

/** What a catch-up or a manual re-sync read of the reactions on a chat's page (stored messages among them). */
export type ReactionsSeenSink = (chatId: string, seen: ReactionsSeen[]) => void;

/**
 * Fetches a chat's messages and stages them in Redis for its save job. Only a pointer and a count
 * go back through BullMQ: return values travel in every `completed` event.
 *
 * With `media`, files that rule leaves out are marked `skipped` before staging.
 *
 * A catch-up reads the reactions of every message on its last page, a manual re-sync
 * (`readReactions`) those of its page, and hands them to `reactionsSeen` as soon as the page is
 * in, before any wait: a reaction sent or removed on an older message while no runner listened
 * never comes as an event.
 *
 * With `maxStaged`, the batch is staged only once the sync's back-pressure window has room
 * ({@link SyncLedger.waitForRoom}). The wait runs alongside the phone call, not before it: its round
 * trip (and any wait) overlaps the fetch, and Redis stays bounded all the same, since a batch
 * waiting for room sits in this process, one per fetch slot.
 */
export async function runFetchMessages(
  client: PhoneLine,
  data: FetchMessagesJob,
  ledger: SyncLedger,
  { maxStaged, media, reactionsSeen }: { maxStaged?: number; media?: MediaRule; reactionsSeen?: ReactionsSeenSink } = {},
): Promise<FetchMessagesResult> {
  const { sessionId, syncId, chatId } = data;
  const stats: FetchStats = { calls: 0, messages: 0 };
  const stop = new AbortController();
  const room = maxStaged === undefined ? undefined : ledger.waitForRoom(syncId, maxStaged, stop.signal, chatId);
  // Handled from the start: a Redis error during the phone call is thrown by `await room` after
  // it, not left unhandled (which would end the process) meanwhile.
  room?.catch(() => {});
  let messages: Message[];
  try {
    if (data.catchUp) {
      messages = await fetchBack(client, chatId, data.limit, data.catchUp, stats, reactionsSeen);
    } else {
      const seen = data.readReactions ? reactionsSeen : undefined;
      messages = await fetchCounted(client, chatId, { limit: data.limit, reactionState: seen !== undefined }, stats);
      reportReactions(seen, chatId, messages);
    }
    await room;
  } catch (err) {
    stop.abort(); // nothing to stage: the wait's outcome no longer matters
    // The calls that did reach the phone still count.
    if (stats.calls > 0) await ledger.countFetches(sessionId, stats);
    throw err;
  }
  // Media the runner's rule leaves out is stored `skipped`: no download job is added for it.
  if (media) messages = settleLeftOutMedia(messages, data.catchUp ? 'catch-up' : 'history', media);
  const stagingKey = await ledger.stage(sessionId, syncId, chatId, JSON.stringify(messages), stats);
  return { stagingKey, count: messages.length, ...(data.catchUp ? { catchUpAfter: data.catchUp.after } : {}) };
}

/**
 * Catch-up of one chat: WhatsApp Web only returns a chat's newest N messages, so the limit grows
 * until the page reaches past the newest stored message (a message strictly older than `after`:
 * then every message at `after`'s second is in it too), the chat has no more, or `max` is
 * reached. Only messages from `after` on are staged: Redis holds what is new, not whole pages.
 * The last page's reactions go to `seen` first (stored messages are compared there, not re-staged).
 */
async function fetchBack(
  client: PhoneLine,
  chatId: string,
  firstPage: number,
  { after, max }: { after: string; max: number },
  stats: FetchStats,
  seen?: ReactionsSeenSink,
): Promise<Message[]> {
  const afterMs = Date.parse(after);
  let limit = Math.min(firstPage, max);
  for (;;) {
    const page = await fetchCounted(client, chatId, { limit, reactionState: seen !== undefined }, stats);
    const reached = page.length < limit || page.some((m) => Date.parse(m.timestamp) < afterMs);
    if (!reached && limit < max) {
      limit = Math.min(max, limit * CATCHUP_PAGE_GROWTH);
      continue;
    }
    reportReactions(seen, chatId, page);
    return page.filter((m) => Date.parse(m.timestamp) >= afterMs);
  }
}

/**
 * Hands the reactions read on a page to `seen`, then leaves the `[]`s out: they only said "none"
 * to the comparison, and a stored message without reactions has no such field.
 */
function reportReactions(seen: ReactionsSeenSink | undefined, chatId: string, page: Message[]): void {
  if (!seen) return;
  const read = page.filter((m) => m.reactions !== undefined).map((m) => ({ id: m.id, reactions: m.reactions! }));
  if (read.length > 0) seen(chatId, read);
  for (const m of page) if (m.reactions?.length === 0) delete m.reactions;
}

/** One call to the phone, counted per session so tests and operators can see what a sync cost. */
async function fetchCounted(client: PhoneLine, chatId: string, options: FetchOptions, stats: FetchStats): Promise<Message[]> {
  const page = await client.fetchMessages(chatId, options);
  stats.calls += 1;
  stats.messages += page.length;
  return page;
}
