import type { AnyBulkWriteOperation, Filter } from 'mongodb';
import { isGroupChatId, type Message, type Page } from '../domain.schemas';
import { assertLimit, encodeMessageCursor, parseMessageBound, toEpochMs, toPage } from './cursor.codec';
import { bulkUpsert, retryOnDuplicate, toMessage, type MessageDoc, type MongoCollections } from './mongo.schema';
import type { ChatHistory, MessagePageQuery, MessageStore, RecentHistoryQuery, UpsertResult } from './store.interface';
import { checkBatch, compareIds, messageExtra, type MessageExtra } from './store.input';

// recentHistory reads one index range per active chat; this many at a time.
const HISTORY_CONCURRENCY = 8;

/** Messages on MongoDB: bulk upserts, live acks/edits/deletes, pages, recent history. */
export class MongoMessages implements MessageStore {
  constructor(private readonly c: MongoCollections) {}

  async upsertMessages(sessionId: string, chatId: string, messages: Message[]): Promise<UpsertResult> {
    const ts = checkBatch(chatId, messages);
    if (messages.length === 0) return { inserted: 0, existing: 0 };
    const extras = messages.map((m) => {
      const json = messageExtra(m);
      return json === null ? null : (JSON.parse(json) as MessageExtra);
    });
    const ops: AnyBulkWriteOperation<MessageDoc>[] = messages.map((m, i) => ({
      updateOne: {
        filter: { sessionId, chatId, id: m.id },
        update: {
          $setOnInsert: {
            fromMe: m.fromMe,
            author: m.author,
            body: m.revoked ? '' : m.body,
            type: m.type,
            timestamp: new Date(ts[i]),
            hasMedia: m.hasMedia,
            editedAt: m.editedAt ? new Date(toEpochMs(m.editedAt, `message ${m.id} editedAt`)) : null,
            revoked: Boolean(m.revoked),
            ...(m.media ? { media: m.media } : {}),
            ...(extras[i] ? { extra: extras[i] } : {}),
            ...(m.reactions ? { reactions: m.reactions } : {}),
          },
          $max: { ack: m.ack },
        },
        upsert: true,
      },
    }));
    const inserted = await bulkUpsert(this.c.messages, ops);
    // A message stored before its media was known gets the descriptor once; the media job owns it after.
    const withMedia = messages.filter((m) => m.media);
    if (withMedia.length > 0 && inserted < messages.length) {
      await this.c.messages.bulkWrite(
        withMedia.map((m) => ({ updateOne: { filter: { sessionId, chatId, id: m.id, media: null }, update: { $set: { media: m.media } } } })),
        { ordered: false },
      );
    }
    // Conversation fields and reactions of messages stored before they existed: filled once.
    if (inserted < messages.length) {
      const fills: AnyBulkWriteOperation<MessageDoc>[] = [];
      messages.forEach((m, i) => {
        if (extras[i]) fills.push({ updateOne: { filter: { sessionId, chatId, id: m.id, extra: null }, update: { $set: { extra: extras[i] } } } });
        if (m.reactions) fills.push({ updateOne: { filter: { sessionId, chatId, id: m.id, reactions: null }, update: { $set: { reactions: m.reactions } } } });
      });
      if (fills.length > 0) await this.c.messages.bulkWrite(fills, { ordered: false });
    }
    // Edits and deletes carried by the batch, applied with the same rules as the live events.
    for (const m of messages) {
      if (m.revoked) await this.revokeMessage(sessionId, chatId, m.id);
      else if (m.editedAt) await this.editMessage(sessionId, chatId, m.id, m.body, m.editedAt);
    }
    // A count, not an $inc: stored messages only grow, so $max of concurrent counts converges on
    // the truth even when two workers finish in either order, and a re-run repairs a lost update.
    const count = await this.c.messages.countDocuments({ sessionId, chatId });
    await retryOnDuplicate(() =>
      this.c.chats.updateOne(
        { sessionId, id: chatId },
        {
          $setOnInsert: { name: chatId, isGroup: isGroupChatId(chatId), unreadCount: 0 },
          $max: { lastMessageAt: new Date(ts.reduce((a, b) => Math.max(a, b))), messageCount: count },
        },
        { upsert: true },
      ),
    );
    return { inserted, existing: messages.length - inserted };
  }

  async listMessages(sessionId: string, chatId: string, query: MessagePageQuery): Promise<Page<Message>> {
    assertLimit(query.limit);
    const filter: Filter<MessageDoc> = { sessionId, chatId };
    if (query.before !== undefined) {
      const bound = parseMessageBound(query.before);
      const t = new Date(bound.t);
      if (bound.id === null) filter.timestamp = { $lt: t };
      else filter.$or = [{ timestamp: { $lt: t } }, { timestamp: t, id: { $lt: bound.id } }];
    }
    const docs = await this.c.messages
      .find(filter)
      .sort({ timestamp: -1, id: -1 })
      .limit(query.limit + 1)
      .toArray();
    return toPage(docs, query.limit, toMessage, (d) => encodeMessageCursor({ t: d.timestamp.getTime(), id: d.id }));
  }

  async updateMessageAck(sessionId: string, chatId: string, messageId: string, ack: number): Promise<boolean> {
    const res = await this.c.messages.updateOne(
      { sessionId, chatId, id: messageId, ack: { $lt: ack } },
      { $set: { ack } },
    );
    return res.modifiedCount === 1;
  }

  async editMessage(sessionId: string, chatId: string, messageId: string, body: string, editedAt: string): Promise<boolean> {
    const at = new Date(toEpochMs(editedAt, `message ${messageId} editedAt`));
    const res = await this.c.messages.updateOne(
      {
        sessionId,
        chatId,
        id: messageId,
        revoked: { $ne: true },
        $or: [{ editedAt: null }, { editedAt: { $exists: false } }, { editedAt: { $lt: at } }],
      },
      { $set: { body, editedAt: at } },
    );
    return res.modifiedCount === 1;
  }

  async revokeMessage(sessionId: string, chatId: string, messageId: string): Promise<boolean> {
    const res = await this.c.messages.updateOne(
      { sessionId, chatId, id: messageId, revoked: { $ne: true } },
      { $set: { revoked: true, body: '' } },
    );
    return res.modifiedCount === 1;
  }

  async recentHistory(sessionId: string, query: RecentHistoryQuery): Promise<ChatHistory[]> {
    assertLimit(query.limitPerChat, 'limitPerChat');
    if (!(query.days > 0)) throw new RangeError(`days must be positive, got ${query.days}`);
    const since = new Date(Date.now() - query.days * 86_400_000);
    // lastMessageAt is never older than a chat's newest stored message: a safe first filter.
    const active = await this.c.chats
      .find({ sessionId, lastMessageAt: { $gte: since } })
      .project<{ id: string; lastMessageAt: Date }>({ _id: 0, id: 1, lastMessageAt: 1 })
      .toArray();
    const histories: ChatHistory[] = [];
    for (let i = 0; i < active.length; i += HISTORY_CONCURRENCY) {
      const slice = active.slice(i, i + HISTORY_CONCURRENCY);
      const read = await Promise.all(
        slice.map(async (chat) => ({
          chatId: chat.id,
          lastMessageAt: chat.lastMessageAt.toISOString(),
          messages: (
            await this.c.messages
              .find({ sessionId, chatId: chat.id, timestamp: { $gte: since } })
              .sort({ timestamp: -1, id: -1 })
              .limit(query.limitPerChat)
              .toArray()
          ).map(toMessage),
        })),
      );
      histories.push(...read.filter((h) => h.messages.length > 0));
    }
    return histories.sort(
      (a, b) => Date.parse(b.messages[0].timestamp) - Date.parse(a.messages[0].timestamp) || compareIds(a.chatId, b.chatId),
    );
  }
}
