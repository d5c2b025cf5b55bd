import type { Page } from '../domain.schemas';
import { InvalidCursorError } from './store.interface';

/**
 * Opaque page cursors shared by every store: base64url of the sort key of the last item of a page.
 * A cursor only has to survive a round trip through a client, so it is validated by re-encoding:
 * anything the store would not have produced is rejected.
 */

/** Sort key of a chat page: lastMessageAt (epoch ms, null sorts last) then id. */
export interface ChatKey {
  t: number | null;
  id: string;
}

/** Sort key of a message page: timestamp (epoch ms) then id, both descending. */
export interface MessageKey {
  t: number;
  id: string;
}

/** `before` of a message page: a cursor (strictly after that message) or a time (strictly older). */
export type MessageBound = { t: number; id: string } | { t: number; id: null };

// Tags keep a chat cursor from being accepted as a message cursor and leave room for a v2.
const CHAT_TAG = 'c1';
const MESSAGE_TAG = 'm1';
const CONTACT_TAG = 'k1';
// Ids are short; anything near this is not ours.
const MAX_CURSOR_LENGTH = 4096;

export function encodeChatCursor(key: ChatKey): string {
  return encode([CHAT_TAG, key.t, key.id]);
}

export function encodeMessageCursor(key: MessageKey): string {
  return encode([MESSAGE_TAG, key.t, key.id]);
}

/** Contacts are paged by id alone. */
export function encodeContactCursor(id: string): string {
  return encode([CONTACT_TAG, 0, id]);
}

export function decodeContactCursor(cursor: string): string {
  const [, zero, id] = decode(cursor, CONTACT_TAG);
  if (zero !== 0 || typeof id !== 'string' || id === '') throw new InvalidCursorError(quote(cursor));
  return id;
}

export function decodeChatCursor(cursor: string): ChatKey {
  const parts = decode(cursor, CHAT_TAG);
  const [, t, id] = parts;
  if (!(t === null || isEpochMs(t)) || typeof id !== 'string' || id === '') throw new InvalidCursorError(quote(cursor));
  return { t, id };
}

export function decodeMessageCursor(cursor: string): MessageKey {
  const [, t, id] = decode(cursor, MESSAGE_TAG);
  if (!isEpochMs(t) || typeof id !== 'string' || id === '') throw new InvalidCursorError(quote(cursor));
  return { t, id };
}

// Date-only, or date-time with optional seconds, fraction and zone.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Reads `listMessages`' `before`: one of our cursors, or an ISO-8601 time. A date-time without a
 * zone is read as UTC so the answer does not depend on the server's time zone.
 */
export function parseMessageBound(before: string): MessageBound {
  const iso = ISO_8601.exec(before);
  if (iso) {
    const hasTime = before.length > 10;
    const t = Date.parse(hasTime && !iso[1] ? `${before.replace(' ', 'T')}Z` : before.replace(' ', 'T'));
    if (Number.isNaN(t)) throw new InvalidCursorError(quote(before));
    return { t, id: null };
  }
  return decodeMessageCursor(before);
}

/** ISO-8601 → epoch ms; a time that does not parse is a caller bug, not data to store. */
export function toEpochMs(iso: string, what: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new TypeError(`${what} is not an ISO-8601 time: ${quote(iso)}`);
  return t;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function toIsoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : toIso(ms);
}

/** `rows` was read with `limit + 1`: the extra row only tells that another page exists. */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(map), nextCursor: more ? cursorOf(items[items.length - 1]) : null };
}

/** Page sizes are validated by the API (1–500); the store refuses nonsense instead of guessing. */
export function assertLimit(limit: number, what = 'limit'): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${what} must be a positive integer, got ${limit}`);
}

function encode(parts: unknown[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

function decode(cursor: string, tag: string): unknown[] {
  if (typeof cursor !== 'string' || cursor === '' || cursor.length > MAX_CURSOR_LENGTH) {
    throw new InvalidCursorError(quote(String(cursor)));
  }
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(quote(cursor));
  }
  // Buffer decoding skips characters it does not know: insist on the exact text we would produce.
  if (!Array.isArray(parts) || parts.length !== 3 || parts[0] !== tag || encode(parts) !== cursor) {
    throw new InvalidCursorError(quote(cursor));
  }
  return parts;
}

function isEpochMs(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && Math.abs(t) <= 8.64e15;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
