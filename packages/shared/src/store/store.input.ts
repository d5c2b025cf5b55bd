import type { Message } from '../domain.schemas';
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
