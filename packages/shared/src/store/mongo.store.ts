import { MongoClient, type AnyBulkWriteOperation, type Collection, type Db, type Filter } from 'mongodb';
import {
  type Chat,
  type ChatInput,
  type Message,
  type Page,
  type Session,
  type SessionStatus,
  type SyncReason,
  type SyncRun,
  isGroupChatId,
} from '../domain.schemas';
import {
  assertLimit,
  decodeChatCursor,
  encodeChatCursor,
  encodeMessageCursor,
  parseMessageBound,
  toEpochMs,
  toPage,
} from './cursor.codec';
import {
  INDEXES,
  bulkUpsert,
  dbNameFromUrl,
  retryOnDuplicate,
  toChat,
  toMessage,
  toSyncRun,
  type ChatDoc,
  type MessageDoc,
  type SessionDoc,
  type SyncRunDoc,
} from './mongo.schema';
import type {
  ChatHistory,
  ChatPageQuery,
  ChatSyncState,
  SyncRunStart,
  MessagePageQuery,
  RecentHistoryQuery,
  Store,
  UpsertResult,
} from './store.interface';
import { checkBatch, compareIds } from './store.input';
import { SessionWebhooks, type SessionWebhook } from '../webhook.schemas';

export interface MongoStoreOptions {
  /** Overrides the database named in the URL (tests use one database per run). */
  dbName?: string;
}

// recentHistory reads one index range per active chat; this many at a time.
const HISTORY_CONCURRENCY = 8;

/**
 * Store on MongoDB. Writes are idempotent upserts keyed by unique indexes, so several sync
 * workers can write the same chat at once. No multi-document transactions (they would need a
 * replica set): a message batch and its chat counters are separate writes, and re-running the
 * batch repairs the counters.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  private readonly client: MongoClient;
  private readonly db: Db;
  private readonly sessions: Collection<SessionDoc>;
  private readonly chats: Collection<ChatDoc>;
  private readonly messages: Collection<MessageDoc>;
  private readonly syncRuns: Collection<SyncRunDoc>;

  constructor(url: string, options: MongoStoreOptions = {}) {
    // Driver defaults on purpose: a connection pool per client, retryable reads and writes on.
    this.client = new MongoClient(url);
    this.db = this.client.db(options.dbName ?? dbNameFromUrl(url));
    this.sessions = this.db.collection<SessionDoc>('sessions');
    this.chats = this.db.collection<ChatDoc>('chats');
    this.messages = this.db.collection<MessageDoc>('messages');
    this.syncRuns = this.db.collection<SyncRunDoc>('sync_runs');
  }

  async init(): Promise<void> {
    await this.client.connect();
    await Promise.all([
      this.sessions.createIndexes(INDEXES.sessions),
      this.chats.createIndexes(INDEXES.chats),
      this.messages.createIndexes(INDEXES.messages),
      this.syncRuns.createIndexes(INDEXES.sync_runs),
    ]);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async ensureSession(sessionId: string): Promise<{ session: Session; created: boolean }> {
    const now = new Date();
    const res = await retryOnDuplicate(() =>
      this.sessions.updateOne(
        { sessionId },
        { $setOnInsert: { status: 'starting', statusDetail: null, createdAt: now, updatedAt: now } },
        { upsert: true },
      ),
    );
    return { session: (await this.getSession(sessionId))!, created: res.upsertedCount === 1 };
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const doc = await this.sessions.findOne({ sessionId });
    return doc ? this.toSession(doc) : null;
  }

  async listSessions(): Promise<Session[]> {
    const docs = await this.sessions.find({}).sort({ createdAt: 1, sessionId: 1 }).toArray();
    return Promise.all(docs.map((doc) => this.toSession(doc)));
  }

  async setSessionStatus(sessionId: string, status: SessionStatus, detail?: string | null): Promise<void> {
    const now = new Date();
    await retryOnDuplicate(() =>
      this.sessions.updateOne(
        { sessionId },
        { $set: { status, statusDetail: detail ?? null, updatedAt: now }, $setOnInsert: { createdAt: now } },
        { upsert: true },
      ),
    );
  }

  async markFirstReady(sessionId: string, at: string): Promise<string> {
    const when = new Date(toEpochMs(at, 'first ready time'));
    const now = new Date();
    // Pipeline update: keeps an existing firstReadyAt, creates the session if it is unknown.
    await retryOnDuplicate(() =>
      this.sessions.updateOne(
        { sessionId },
        [
          {
            $set: {
              firstReadyAt: { $ifNull: ['$firstReadyAt', when] },
              status: { $ifNull: ['$status', 'starting'] },
              statusDetail: { $ifNull: ['$statusDetail', null] },
              createdAt: { $ifNull: ['$createdAt', now] },
              updatedAt: { $ifNull: ['$updatedAt', now] },
            },
          },
        ],
        { upsert: true },
      ),
    );
    const doc = await this.sessions.findOne({ sessionId }, { projection: { firstReadyAt: 1 } });
    return (doc?.firstReadyAt ?? when).toISOString();
  }

  async setSessionWebhooks(sessionId: string, webhooks: SessionWebhook[]): Promise<void> {
    await this.sessions.updateOne({ sessionId }, { $set: { webhooks } });
  }

  async getSessionWebhooks(sessionId: string): Promise<SessionWebhook[]> {
    const doc = await this.sessions.findOne({ sessionId }, { projection: { webhooks: 1 } });
    const parsed = SessionWebhooks.safeParse(doc?.webhooks ?? []);
    return parsed.success ? parsed.data : [];
  }

  async upsertChats(sessionId: string, chats: ChatInput[]): Promise<void> {
    if (chats.length === 0) return;
    const ops: AnyBulkWriteOperation<ChatDoc>[] = chats.map((c) => {
      const last = c.lastMessageAt === null ? null : new Date(toEpochMs(c.lastMessageAt, `chat ${c.id} lastMessageAt`));
      return {
        updateOne: {
          filter: { sessionId, id: c.id },
          // messageCount is ours; lastMessageAt only moves forward ($max on insert just sets it).
          update: {
            $set: { name: c.name, isGroup: c.isGroup, unreadCount: c.unreadCount },
            ...(last
              ? { $max: { lastMessageAt: last }, $setOnInsert: { messageCount: 0 } }
              : { $setOnInsert: { messageCount: 0, lastMessageAt: null } }),
          },
          upsert: true,
        },
      };
    });
    await bulkUpsert(this.chats, ops);
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
    const docs = await this.chats
      .find(filter)
      .sort({ lastMessageAt: -1, id: 1 })
      .limit(query.limit + 1)
      .toArray();
    return toPage(docs, query.limit, toChat, (d) =>
      encodeChatCursor({ t: d.lastMessageAt ? d.lastMessageAt.getTime() : null, id: d.id }),
    );
  }

  async getChat(sessionId: string, chatId: string): Promise<Chat | null> {
    const doc = await this.chats.findOne({ sessionId, id: chatId });
    return doc ? toChat(doc) : null;
  }

  async upsertMessages(sessionId: string, chatId: string, messages: Message[]): Promise<UpsertResult> {
    const ts = checkBatch(chatId, messages);
    if (messages.length === 0) return { inserted: 0, existing: 0 };
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
          },
          $max: { ack: m.ack },
        },
        upsert: true,
      },
    }));
    const inserted = await bulkUpsert(this.messages, ops);
    // Edits and deletes carried by the batch, applied with the same rules as the live events.
    for (const m of messages) {
      if (m.revoked) await this.revokeMessage(sessionId, chatId, m.id);
      else if (m.editedAt) await this.editMessage(sessionId, chatId, m.id, m.body, m.editedAt);
    }
    // A count, not an $inc: stored messages only grow, so $max of concurrent counts converges on
    // the truth even when two workers finish in either order, and a re-run repairs a lost update.
    const count = await this.messages.countDocuments({ sessionId, chatId });
    await retryOnDuplicate(() =>
      this.chats.updateOne(
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
    const docs = await this.messages
      .find(filter)
      .sort({ timestamp: -1, id: -1 })
      .limit(query.limit + 1)
      .toArray();
    return toPage(docs, query.limit, toMessage, (d) => encodeMessageCursor({ t: d.timestamp.getTime(), id: d.id }));
  }

  async updateMessageAck(sessionId: string, chatId: string, messageId: string, ack: number): Promise<boolean> {
    const res = await this.messages.updateOne(
      { sessionId, chatId, id: messageId, ack: { $lt: ack } },
      { $set: { ack } },
    );
    return res.modifiedCount === 1;
  }

  async editMessage(sessionId: string, chatId: string, messageId: string, body: string, editedAt: string): Promise<boolean> {
    const at = new Date(toEpochMs(editedAt, `message ${messageId} editedAt`));
    const res = await this.messages.updateOne(
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
    const res = await this.messages.updateOne(
      { sessionId, chatId, id: messageId, revoked: { $ne: true } },
      { $set: { revoked: true, body: '' } },
    );
    return res.modifiedCount === 1;
  }

  async chatSyncStates(sessionId: string, before?: string): Promise<ChatSyncState[]> {
    const match: Filter<MessageDoc> = { sessionId };
    if (before !== undefined) match.timestamp = { $lt: new Date(toEpochMs(before, 'before')) };
    const [chats, newest] = await Promise.all([
      this.chats.find({ sessionId }).project<ChatDoc>({ _id: 0, id: 1, lastMessageAt: 1, messageCount: 1 }).toArray(),
      // Sorted like messages_by_time, so $first reads one index entry per chat.
      this.messages
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

  async recentHistory(sessionId: string, query: RecentHistoryQuery): Promise<ChatHistory[]> {
    assertLimit(query.limitPerChat, 'limitPerChat');
    if (!(query.days > 0)) throw new RangeError(`days must be positive, got ${query.days}`);
    const since = new Date(Date.now() - query.days * 86_400_000);
    // lastMessageAt is never older than a chat's newest stored message: a safe first filter.
    const active = await this.chats
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
            await this.messages
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

  async startSyncRun(run: SyncRunStart): Promise<void> {
    // A retried job starting the same sync keeps the first record.
    const { syncId, ...rest } = run;
    const doc = { ...rest, kind: run.kind ?? 'full', startedAt: new Date(), finishedAt: null, chatsFailed: 0, totalMessages: 0 };
    await retryOnDuplicate(() => this.syncRuns.updateOne({ syncId }, { $setOnInsert: doc }, { upsert: true }));
  }

  async finishSyncRun(
    syncId: string,
    result: { nChats: number; chatsFailed: number; totalMessages: number },
  ): Promise<void> {
    // Pipeline update: a retried finalize keeps the first finish time and takes the latest figures.
    const res = await this.syncRuns.updateOne({ syncId }, [
      {
        $set: {
          finishedAt: { $ifNull: ['$finishedAt', new Date()] },
          nChats: { $literal: result.nChats },
          chatsFailed: { $literal: result.chatsFailed },
          totalMessages: { $literal: result.totalMessages },
        },
      },
    ]);
    if (res.matchedCount === 0) throw new Error(`sync run ${syncId} was never started`);
  }

  async getSyncRun(syncId: string): Promise<SyncRun | null> {
    const doc = await this.syncRuns.findOne({ syncId });
    return doc ? toSyncRun(doc) : null;
  }

  async getLastSyncRun(sessionId: string): Promise<SyncRun | null> {
    const doc = await this.syncRuns.findOne({ sessionId }, { sort: { startedAt: -1, _id: -1 } });
    return doc ? toSyncRun(doc) : null;
  }

  async openSyncRuns(sessionId: string): Promise<SyncRun[]> {
    const docs = await this.syncRuns.find({ sessionId, finishedAt: null }, { sort: { startedAt: 1, _id: 1 } }).toArray();
    return docs.map(toSyncRun);
  }

  private async toSession(doc: SessionDoc): Promise<Session> {
    const last = await this.syncRuns.findOne(
      { sessionId: doc.sessionId, finishedAt: { $ne: null } },
      { sort: { finishedAt: -1, _id: -1 } },
    );
    return {
      sessionId: doc.sessionId,
      status: doc.status,
      statusDetail: doc.statusDetail ?? null,
      createdAt: doc.createdAt.toISOString(),
      updatedAt: doc.updatedAt.toISOString(),
      lastSync: last ? toSyncRun(last) : null,
    };
  }
}
