import { isGroupChatId, type Message, type Page } from '../domain.schemas';
import { assertLimit, encodeMessageCursor, parseMessageBound, toEpochMs, toIso, toPage } from './cursor.codec';
import { isBusy, type SqliteConnection } from './sqlite.connection';
import { toMessage } from './sqlite.rows';
import type { MessageRow, Statements } from './sqlite.statements';
import { StoreBusyError, type ChatHistory, type MessagePageQuery, type MessageStore, type RecentHistoryQuery, type UpsertResult } from './store.interface';
import { checkBatch, compareIds, messageExtra, wellFormed } from './store.input';

/** A batch waiting for the next group commit, and its caller. */
interface PendingBatch {
  sessionId: string;
  chatId: string;
  messages: Message[];
  ts: number[];
  resolve(result: UpsertResult): void;
  reject(err: unknown): void;
}

interface Upserts {
  one(sessionId: string, chatId: string, messages: Message[], ts: number[]): UpsertResult;
  group(batches: PendingBatch[]): UpsertResult[];
}

/** One chat's batch, inside the caller's transaction. */
function upsertBatch(s: Statements, sessionId: string, chatId: string, messages: Message[], ts: number[]): UpsertResult {
  let inserted = 0;
  let newest = -Infinity;
  // A plain loop and positional parameters: this runs once per message of every sync.
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (ts[i] > newest) newest = ts[i];
    const editedAt = m.editedAt ? toEpochMs(m.editedAt, `message ${m.id} editedAt`) : null;
    const extra = messageExtra(m);
    const reactions = m.reactions ? JSON.stringify(m.reactions) : null;
    const { changes } = s.insertMessage.run(
      sessionId,
      chatId,
      m.id,
      m.fromMe ? 1 : 0,
      wellFormed(m.author),
      m.revoked ? '' : wellFormed(m.body),
      wellFormed(m.type),
      ts[i],
      m.ack,
      m.hasMedia ? 1 : 0,
      editedAt,
      m.revoked ? 1 : 0,
      m.media ? JSON.stringify(m.media) : null,
      extra,
      reactions,
    );
    if (changes === 1) {
      inserted += 1;
      continue;
    }
    const row = { sessionId, chatId, id: m.id, ack: m.ack };
    s.raiseAck.run(row);
    if (m.media) s.fillMedia.run({ sessionId, chatId, id: m.id, media: JSON.stringify(m.media) });
    if (extra !== null || reactions !== null) s.fillExtra.run({ sessionId, chatId, id: m.id, extra, reactions });
    if (m.revoked) s.revokeMessage.run(row);
    else if (editedAt !== null) s.editMessage.run({ sessionId, chatId, id: m.id, body: wellFormed(m.body), editedAt });
  }
  if (inserted === 0 ? s.getChat.get({ sessionId, chatId }) === undefined : s.bumpChat.run({ sessionId, chatId, inserted }).changes === 0) {
    s.touchChat.run({ sessionId, chatId, isGroup: isGroupChatId(chatId) ? 1 : 0, newest });
  } else s.advanceChat.run({ sessionId, chatId, newest });
  return { inserted, existing: messages.length - inserted };
}

/** Messages on SQLite: group-committed batch upserts, live acks/edits/deletes, pages, recent history. */
export class SqliteMessages implements MessageStore {
  private upserts: Upserts | null = null;
  /** Batches of the current turn of the event loop, committed together (see upsertMessages). */
  private pending: PendingBatch[] = [];

  constructor(private readonly c: SqliteConnection) {}

  /** After the connection's init(): the upsert transactions. */
  prepare(): void {
    const { db, s } = this.c;
    const one = db.transaction((sessionId: string, chatId: string, messages: Message[], ts: number[]) =>
      upsertBatch(s, sessionId, chatId, messages, ts),
    );
    const group = db.transaction((batches: PendingBatch[]) => batches.map((b) => upsertBatch(s, b.sessionId, b.chatId, b.messages, b.ts)));
    // IMMEDIATE: a deferred transaction that reads first and then writes can fail with SQLITE_BUSY
    // without waiting when another process committed in between.
    this.upserts = { one: (...args) => one.immediate(...args), group: (batches) => group.immediate(batches) };
  }

  /** Commits the batches still waiting (before close). */
  async flush(): Promise<void> {
    if (this.pending.length > 0 && this.upserts) await this.commitPending();
    this.upserts = null;
  }

  /**
   * Group commit: batches that arrive in the same turn of the event loop (concurrent save jobs)
   * share one transaction, committed at the end of the turn; each caller's promise settles after
   * that commit. A commit costs about as much as a hundred rows (WAL frames of the same index
   * pages, checkpoints), so fewer commits is most of the gain. If the shared transaction fails,
   * nothing of it was written and each batch is retried in a transaction of its own, so one bad
   * batch fails only its own caller.
   */
  async upsertMessages(sessionId: string, chatId: string, messages: Message[]): Promise<UpsertResult> {
    const ts = checkBatch(chatId, messages);
    if (messages.length === 0) return { inserted: 0, existing: 0 };
    void this.ready; // throws now, not in the commit, when the store is not open
    return new Promise<UpsertResult>((resolve, reject) => {
      if (this.pending.push({ sessionId, chatId, messages, ts, resolve, reject }) === 1) setImmediate(() => void this.commitPending());
    });
  }

  private async commitPending(): Promise<void> {
    const batches = this.pending;
    this.pending = [];
    if (batches.length > 1) {
      try {
        const results = await this.c.write(() => this.ready.group(batches));
        batches.forEach((b, i) => b.resolve(results[i]));
        return;
      } catch (err) {
        // The lock is another process's: each batch alone would wait for it again.
        if (err instanceof StoreBusyError || isBusy(err)) {
          for (const b of batches) b.reject(err);
          return;
        }
        // Rolled back as a whole: each batch alone below, with its own outcome.
      }
    }
    for (const b of batches) {
      try {
        b.resolve(await this.c.write(() => this.ready.one(b.sessionId, b.chatId, b.messages, b.ts)));
      } catch (err) {
        b.reject(err);
      }
    }
  }

  async listMessages(sessionId: string, chatId: string, query: MessagePageQuery): Promise<Page<Message>> {
    assertLimit(query.limit);
    const s = this.c.s;
    const params = { sessionId, chatId, limit: query.limit + 1 };
    let rows: MessageRow[];
    if (query.before === undefined) rows = s.listMessages.all(params);
    else {
      const bound = parseMessageBound(query.before);
      rows =
        bound.id === null
          ? s.listMessagesBefore.all({ ...params, t: bound.t })
          : s.listMessagesAfter.all({ ...params, t: bound.t, id: bound.id });
    }
    return toPage(rows, query.limit, toMessage, (r) => encodeMessageCursor({ t: r.ts, id: r.id }));
  }

  async updateMessageAck(sessionId: string, chatId: string, messageId: string, ack: number): Promise<boolean> {
    return (await this.c.write(() => this.c.s.raiseAck.run({ sessionId, chatId, id: messageId, ack }))).changes === 1;
  }

  async editMessage(sessionId: string, chatId: string, messageId: string, body: string, editedAt: string): Promise<boolean> {
    const at = toEpochMs(editedAt, `message ${messageId} editedAt`);
    const params = { sessionId, chatId, id: messageId, body: wellFormed(body), editedAt: at };
    return (await this.c.write(() => this.c.s.editMessage.run(params))).changes === 1;
  }

  async revokeMessage(sessionId: string, chatId: string, messageId: string): Promise<boolean> {
    return (await this.c.write(() => this.c.s.revokeMessage.run({ sessionId, chatId, id: messageId }))).changes === 1;
  }

  async recentHistory(sessionId: string, query: RecentHistoryQuery): Promise<ChatHistory[]> {
    assertLimit(query.limitPerChat, 'limitPerChat');
    if (!(query.days > 0)) throw new RangeError(`days must be positive, got ${query.days}`);
    const since = Date.now() - query.days * 86_400_000;
    const { db, s } = this.c;
    // Chats first: lastMessageAt is never older than a chat's newest stored message, so this
    // narrows the scan to active chats and each chat then reads its own index range.
    const read = db.transaction(() =>
      s.activeChats.all({ sessionId, since }).map((chat) => ({
        chatId: chat.id,
        lastMessageAt: toIso(chat.last_message_at),
        rows: s.recentMessages.all({ sessionId, chatId: chat.id, since, limit: query.limitPerChat }),
      })),
    );
    return read()
      .filter((h) => h.rows.length > 0)
      .sort((a, b) => b.rows[0].ts - a.rows[0].ts || compareIds(a.chatId, b.chatId))
      .map((h) => ({ chatId: h.chatId, lastMessageAt: h.lastMessageAt, messages: h.rows.map(toMessage) }));
  }

  private get ready(): Upserts {
    if (!this.upserts) throw new Error('SqliteStore: call init() first (or the store is closed)');
    return this.upserts;
  }
}
