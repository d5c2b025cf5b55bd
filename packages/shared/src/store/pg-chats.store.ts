import type { Chat, ChatInput, Page } from '../domain.schemas';
import { assertLimit, decodeChatCursor, encodeChatCursor, toEpochMs, toIsoOrNull, toPage } from './cursor.codec';
import type { PgConnection } from './pg.connection';
import { CHAT_COLUMNS, toChat, type ChatRow } from './pg.rows';
import { encodeText, toJsonb } from './pg.text';
import type { ChatPageQuery, ChatStore, ChatSyncState } from './store.interface';

const CHAT_ORDER = 'ORDER BY last_message_at DESC NULLS LAST, id ASC LIMIT $2';

/** Chats on PostgreSQL: metadata upserts, the activity-ordered list, catch-up states. */
export class PgChats implements ChatStore {
  constructor(private readonly c: PgConnection) {}

  async upsertChats(sessionId: string, chats: ChatInput[]): Promise<void> {
    if (chats.length === 0) return;
    // A chat named twice: the last entry's metadata, the latest activity, as row-by-row upserts would.
    const byId = new Map<string, { chat: ChatInput; last: number | null }>();
    for (const c of chats) {
      const t = c.lastMessageAt === null ? null : toEpochMs(c.lastMessageAt, `chat ${c.id} lastMessageAt`);
      const seen = byId.get(c.id)?.last ?? null;
      byId.set(c.id, { chat: c, last: seen === null || (t !== null && t > seen) ? t : seen });
    }
    const rows = [...byId.values()].sort((a, b) => (a.chat.id < b.chat.id ? -1 : 1)); // one lock order for every writer
    const list = rows.map((r) => r.chat);
    const last = rows.map((r) => r.last);
    // Metadata from the engine wins, except messageCount (ours) and lastMessageAt (only forward;
    // GREATEST ignores NULL).
    await this.c.query(
      `INSERT INTO chats (session_id, id, name, is_group, unread_count, last_message_at, message_count, participants)
       SELECT $1, t.id, t.name, t.is_group, t.unread_count, t.last_message_at, 0, t.participants
       FROM unnest($2::text[], $3::text[], $4::bool[], $5::int4[], $6::int8[], $7::jsonb[]) AS t(id, name, is_group, unread_count, last_message_at, participants)
       ON CONFLICT (session_id, id) DO UPDATE SET name = excluded.name, is_group = excluded.is_group,
         unread_count = excluded.unread_count, last_message_at = GREATEST(chats.last_message_at, excluded.last_message_at),
         participants = COALESCE(excluded.participants, chats.participants)`,
      [sessionId, list.map((c) => c.id), list.map((c) => encodeText(c.name)), list.map((c) => c.isGroup), list.map((c) => c.unreadCount), last,
        list.map((c) => toJsonb(c.participants))],
    );
  }

  async listChats(sessionId: string, query: ChatPageQuery): Promise<Page<Chat>> {
    assertLimit(query.limit);
    const base = `SELECT ${CHAT_COLUMNS} FROM chats WHERE session_id = $1`;
    let res;
    if (query.cursor === undefined) res = await this.c.query<ChatRow>(`${base} ${CHAT_ORDER}`, [sessionId, query.limit + 1]);
    else {
      const after = decodeChatCursor(query.cursor);
      res =
        after.t === null
          ? await this.c.query<ChatRow>(`${base} AND last_message_at IS NULL AND id > $3 ${CHAT_ORDER}`, [sessionId, query.limit + 1, after.id])
          : await this.c.query<ChatRow>(
              `${base} AND (last_message_at < $3 OR (last_message_at = $3 AND id > $4) OR last_message_at IS NULL) ${CHAT_ORDER}`,
              [sessionId, query.limit + 1, after.t, after.id],
            );
    }
    return toPage(res.rows, query.limit, toChat, (r) => encodeChatCursor({ t: r.last_message_at, id: r.id }));
  }

  async getChat(sessionId: string, chatId: string): Promise<Chat | null> {
    const { rows } = await this.c.query<ChatRow>(`SELECT ${CHAT_COLUMNS}, participants FROM chats WHERE session_id = $1 AND id = $2`, [sessionId, chatId]);
    return rows.length ? toChat(rows[0]) : null;
  }

  async chatSyncStates(sessionId: string, before?: string): Promise<ChatSyncState[]> {
    const bound = before === undefined ? Number.MAX_SAFE_INTEGER : toEpochMs(before, 'before');
    // Per chat: one index entry of messages_by_time (the newest stored before the bound).
    const { rows } = await this.c.query<{ id: string; last_message_at: number | null; message_count: number; newest: number | null }>(
      `SELECT c.id, c.last_message_at, c.message_count,
        (SELECT m.ts FROM messages m WHERE m.session_id = c.session_id AND m.chat_id = c.id AND m.ts < $2
          ORDER BY m.ts DESC LIMIT 1) AS newest
       FROM chats c WHERE c.session_id = $1`,
      [sessionId, bound],
    );
    return rows.map((r) => ({
      id: r.id,
      lastMessageAt: toIsoOrNull(r.last_message_at),
      messageCount: r.message_count,
      newestMessageAt: toIsoOrNull(r.newest),
    }));
  }
}
