import type { AnyBulkWriteOperation, Filter } from 'mongodb';
import type { Chat, ChatInput, Page } from '../domain.schemas';
import { assertLimit, decodeChatCursor, encodeChatCursor, toEpochMs, toPage } from './cursor.codec';
import { bulkUpsert, toChat, type ChatDoc, type MessageDoc, type MongoCollections } from './mongo.schema';
import type { ChatPageQuery, ChatStore, ChatSyncState } from './store.interface';

/** Chats on MongoDB: metadata upserts, the activity-ordered list, catch-up states. */
export class MongoChats implements ChatStore {
  constructor(private readonly c: MongoCollections) {}

  async upsertChats(sessionId: string, chats: ChatInput[]): Promise<void> {
    if (chats.length === 0) return;
    const ops: AnyBulkWriteOperation<ChatDoc>[] = chats.map((c) => {
      const last = c.lastMessageAt === null ? null : new Date(toEpochMs(c.lastMessageAt, `chat ${c.id} lastMessageAt`));
      return {
        updateOne: {
          filter: { sessionId, id: c.id },
          // messageCount is ours; lastMessageAt only moves forward ($max on insert just sets it).
          update: {
            $set: { name: c.name, isGroup: c.isGroup, unreadCount: c.unreadCount, ...(c.participants ? { participants: c.participants } : {}) },
            ...(last
              ? { $max: { lastMessageAt: last }, $setOnInsert: { messageCount: 0 } }
              : { $setOnInsert: { messageCount: 0, lastMessageAt: null } }),
          },
          upsert: true,
        },
      };
    });
    await bulkUpsert(this.c.chats, ops);
  }

  async listChats(sessionId: string, query: ChatPageQuery): Promise<Page<Chat>> {
    assertLimit(query.limit);
    const filter: Filter<ChatDoc> = { sessionId };
    if (query.cursor !== undefined) {
      const after = decodeChatCursor(query.cursor);
      if (after.t === null) Object.assign(filter, { lastMessageAt: null, id: { $gt: after.id } });
      else {
        const t = new Date(after.t);
        // `$lt` on a Date only matches Dates, so chats without activity (null, sorted last) are listed explicitly.
        filter.$or = [{ lastMessageAt: { $lt: t } }, { lastMessageAt: t, id: { $gt: after.id } }, { lastMessageAt: null }];
      }
    }
    const docs = await this.c.chats
      .find(filter, { projection: { participants: 0 } })
      .sort({ lastMessageAt: -1, id: 1 })
      .limit(query.limit + 1)
      .toArray();
    return toPage(docs, query.limit, toChat, (d) =>
      encodeChatCursor({ t: d.lastMessageAt ? d.lastMessageAt.getTime() : null, id: d.id }),
    );
  }

  async getChat(sessionId: string, chatId: string): Promise<Chat | null> {
    const doc = await this.c.chats.findOne({ sessionId, id: chatId });
    return doc ? toChat(doc) : null;
  }

  async chatSyncStates(sessionId: string, before?: string): Promise<ChatSyncState[]> {
    const match: Filter<MessageDoc> = { sessionId };
    if (before !== undefined) match.timestamp = { $lt: new Date(toEpochMs(before, 'before')) };
    const [chats, newest] = await Promise.all([
      this.c.chats.find({ sessionId }).project<ChatDoc>({ _id: 0, id: 1, lastMessageAt: 1, messageCount: 1 }).toArray(),
      // Sorted like messages_by_time, so $first reads one index entry per chat.
      this.c.messages
        .aggregate<{ _id: string; newest: Date }>([
          { $match: match },
          { $sort: { sessionId: 1, chatId: 1, timestamp: -1 } },
          { $group: { _id: '$chatId', newest: { $first: '$timestamp' } } },
        ])
        .toArray(),
    ]);
    const byChat = new Map(newest.map((n) => [n._id, n.newest]));
    return chats.map((c) => ({
      id: c.id,
      lastMessageAt: c.lastMessageAt ? c.lastMessageAt.toISOString() : null,
      messageCount: c.messageCount,
      newestMessageAt: byChat.get(c.id)?.toISOString() ?? null,
    }));
  }
}
