import type { Chat, ChatInput, Page } from '../domain.schemas';
import { assertLimit, decodeChatCursor, encodeChatCursor, toEpochMs, toIsoOrNull, toPage } from './cursor.codec';
import type { SqliteConnection } from './sqlite.connection';
import { toChat } from './sqlite.rows';
import type { ChatRow } from './sqlite.statements';
import type { ChatPageQuery, ChatStore, ChatSyncState } from './store.interface';
import { wellFormed } from './store.input';

/** Chats on SQLite: metadata upserts, the activity-ordered list, catch-up states. */
export class SqliteChats implements ChatStore {
  constructor(private readonly c: SqliteConnection) {}

  async upsertChats(sessionId: string, chats: ChatInput[]): Promise<void> {
    if (chats.length === 0) return;
    const rows = chats.map((c) => ({
      sessionId,
      id: c.id,
      name: wellFormed(c.name),
      isGroup: c.isGroup ? 1 : 0,
      unreadCount: c.unreadCount,
      lastMessageAt: c.lastMessageAt === null ? null : toEpochMs(c.lastMessageAt, `chat ${c.id} lastMessageAt`),
      participants: c.participants ? JSON.stringify(c.participants) : null,
    }));
    const { db, s } = this.c;
    await this.c.write(() => db.transaction(() => rows.forEach((row) => s.upsertChat.run(row))).immediate());
  }

  async listChats(sessionId: string, query: ChatPageQuery): Promise<Page<Chat>> {
    assertLimit(query.limit);
    const s = this.c.s;
    const params = { sessionId, limit: query.limit + 1 };
    let rows: ChatRow[];
    if (query.cursor === undefined) rows = s.listChats.all(params);
    else {
      const after = decodeChatCursor(query.cursor);
      rows =
        after.t === null
          ? s.listChatsAfterNull.all({ ...params, id: after.id })
          : s.listChatsAfter.all({ ...params, t: after.t, id: after.id });
    }
    return toPage(rows, query.limit, toChat, (r) => encodeChatCursor({ t: r.last_message_at, id: r.id }));
  }

  async getChat(sessionId: string, chatId: string): Promise<Chat | null> {
    const row = this.c.s.getChat.get({ sessionId, chatId });
    return row ? toChat(row) : null;
  }

  async chatSyncStates(sessionId: string, before?: string): Promise<ChatSyncState[]> {
    const bound = before === undefined ? Number.MAX_SAFE_INTEGER : toEpochMs(before, 'before');
    return this.c.s.chatSyncStates.all({ sessionId, before: bound }).map((r) => ({
      id: r.id,
      lastMessageAt: toIsoOrNull(r.last_message_at),
      messageCount: r.message_count,
      newestMessageAt: toIsoOrNull(r.newest),
    }));
  }
}
