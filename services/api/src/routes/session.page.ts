import type { Page, Session } from '@wa-sync/shared/contracts';
import { InvalidCursorError } from '@wa-sync/shared/store';

/** A session's place in the list's order (creation time, then id), opaque to clients. */
function cursorOf(s: Session): string {
  return Buffer.from(JSON.stringify([s.createdAt, s.sessionId])).toString('base64url');
}

function parseCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return value as [string, string];
  } catch {
    // falls through to the 400
  }
  throw new InvalidCursorError('cursor');
}

/**
 * One page of the store's session list (creation order). The cursor names the last session of
 * the previous page, so sessions created or removed meanwhile neither repeat nor shift the pages.
 */
export function pageSessions(sessions: Session[], query: { limit: number; cursor?: string }): Page<Session> {
  const all = [...sessions].sort((a, b) => (a.createdAt === b.createdAt ? (a.sessionId < b.sessionId ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));
  let from = 0;
  if (query.cursor) {
    const [createdAt, sessionId] = parseCursor(query.cursor);
    const after = all.findIndex((s) => s.createdAt > createdAt || (s.createdAt === createdAt && s.sessionId > sessionId));
    from = after === -1 ? all.length : after;
  }
  const items = all.slice(from, from + query.limit);
  const more = from + query.limit < all.length;
  return { items, nextCursor: more && items.length ? cursorOf(items[items.length - 1]) : null };
}
