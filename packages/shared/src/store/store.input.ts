import type { Message, Reaction } from '../domain.schemas';
import type { ReactionChange, ReactionsSeen } from './store.interface';
import { toEpochMs } from './cursor.codec';
import { StoredSessionWebhooks, type SessionWebhook } from '../webhook.schemas';

/**
 * Checks a batch before anything is written, so a bad message fails the whole batch cleanly.
 * Returns each message's timestamp in epoch ms.
 */
export function checkBatch(chatId: string, messages: Message[]): number[] {
  return messages.map((m) => {
    // Stored under the chat it was fetched for; a mismatch is a caller bug that would file it twice.
    if (m.chatId !== chatId) throw new Error(`message ${m.id} belongs to chat ${m.chatId}, not ${chatId}`);
    return toEpochMs(m.timestamp, `message ${m.id} timestamp`);
  });
}

const native = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const isWellFormed = (text: string): boolean => (native ? native.call(text) : !LONE_SURROGATE_TEST.test(text));
const LONE_SURROGATE_TEST = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as a UTF-8 store can keep it: a lone UTF-16 surrogate becomes U+FFFD. BSON does this by
 * itself; better-sqlite3 would write invalid UTF-8 that reads back as three U+FFFD.
 */
export function wellFormed<T extends string | null>(text: T): T {
  // The check first: it is a scan without allocation, and almost every text passes it.
  if (text === null || isWellFormed(text)) return text;
  return text.replace(LONE_SURROGATE, '\uFFFD') as T;
}

/** Byte order of UTF-8: how SQLite (BINARY collation) and MongoDB compare ids. */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Stored webhooks are re-checked on read: a row edited by hand cannot hand the workers a bad URL. */
export function parseWebhooks(raw: string): SessionWebhook[] {
  try {
    const parsed = StoredSessionWebhooks.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** The conversation fields a message keeps beside its columns (DESIGN "Full conversations"). */
const EXTRA_KEYS = ['senderName', 'quoted', 'mentions', 'isForwarded', 'location', 'vcards', 'poll'] as const;
export type MessageExtra = Partial<Pick<Message, (typeof EXTRA_KEYS)[number]>>;

/** The message's conversation fields as one JSON object; null when it carries none (absent stays absent). */
export function messageExtra(m: Message): string | null {
  let out: Record<string, unknown> | null = null;
  for (const key of EXTRA_KEYS) {
    const v = m[key];
    if (v !== undefined) (out ??= {})[key] = v;
  }
  // JSON.stringify escapes lone surrogates, so the text is valid UTF-8 for any store.
  return out ? JSON.stringify(out) : null;
}

/**
 * One sender's reaction replaced or removed in a list; null when the list would not change.
 * WhatsApp keeps one reaction per sender.
 */
export function applyReaction(current: readonly Reaction[], change: ReactionChange): Reaction[] | null {
  const mine = current.find((r) => r.senderId === change.senderId);
  if (!change.emoji && !mine) return null;
  if (change.emoji && mine && mine.emoji === change.emoji) return null;
  const next = current.filter((r) => r.senderId !== change.senderId);
  if (change.emoji) next.push({ emoji: change.emoji, senderId: change.senderId, timestamp: change.timestamp });
  return next;
}

/** Two reaction lists say the same (one per sender, so sender and emoji decide; order and time do not). */
export function sameReactions(a: readonly Reaction[], b: readonly Reaction[]): boolean {
  if (a.length !== b.length) return false;
  const mine = new Map(a.map((r) => [r.senderId, r.emoji]));
  return b.every((r) => mine.get(r.senderId) === r.emoji);
}

/**
 * What replaceReactions writes: each seen message whose stored reactions (`stored(id)`: the list,
 * null when stored without any, undefined when not stored) differ from the seen ones.
 */
export function reactionChanges(seen: readonly ReactionsSeen[], stored: (id: string) => Reaction[] | null | undefined): ReactionsSeen[] {
  const out: ReactionsSeen[] = [];
  for (const s of new Map(seen.map((x) => [x.id, x])).values()) {
    const now = stored(s.id);
    if (now !== undefined && !sameReactions(now ?? [], s.reactions)) out.push({ id: s.id, reactions: s.reactions });
  }
  return out;
}
