import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  type Chat,
  type ChatInput,
  type Message,
  type Page,
  type Session,
  type SessionStatus,
  type SyncKind,
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
  toIso,
  toIsoOrNull,
  toPage,
} from './cursor.codec';
import { applyPragmas, migrate } from './sqlite.schema';
import {
  prepareStatements,
  type ChatRow,
  type MessageRow,
  type SessionRow,
  type Statements,
  type SyncRunRow,
} from './sqlite.statements';
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
import { StoreBusyError } from './store.interface';
import { checkBatch, compareIds, wellFormed } from './store.input';
import { SessionWebhooks, type SessionWebhook } from '../webhook.schemas';

type UpsertBatch = (sessionId: string, chatId: string, messages: Message[], ts: number[]) => UpsertResult;

/** A batch waiting for the next group commit, and its caller. */
interface PendingBatch {
  sessionId: string;
  chatId: string;
  messages: Message[];
  ts: number[];
  resolve(result: UpsertResult): void;
  reject(err: unknown): void;
}

type Prepared = { s: Statements; upsertBatch: UpsertBatch; upsertGroup(batches: PendingBatch[]): UpsertResult[] };

export interface SqliteStoreOptions {
  /**
   * How long a statement waits for another process's lock before SQLITE_BUSY. better-sqlite3 waits
   * synchronously: the whole event loop stalls meanwhile. With `lockWaitMs`, keep it tiny.
   */
  busyTimeoutMs?: number;
  /**
   * When set, a write that finds the lock taken is retried asynchronously (backoff 5 ms → 200 ms)
   * until this deadline, then fails with StoreBusyError: the event loop never waits on the lock.
   * `busyTimeoutMs` defaults to 0 then (migrations at init still wait up to 10 s).
   */
  lockWaitMs?: number;
}

const INIT_BUSY_TIMEOUT_MS = 10_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Store on one SQLite file (better-sqlite3, synchronous under the hood). Safe to open from several
 * processes at once: WAL, busy_timeout, and every write transaction takes the lock up front.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private prepared: Prepared | null = null;
  /** Batches of the current turn of the event loop, committed together (see upsertMessages). */
  private pending: PendingBatch[] = [];

  /** `path` is a file (its directory is created) or `:memory:`. */
  constructor(
    readonly path: string,
    private readonly options: SqliteStoreOptions = {},
  ) {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(resolve(path)), { recursive: true });
    this.db = new Database(path);
    applyPragmas(this.db, options.lockWaitMs === undefined ? (options.busyTimeoutMs ?? INIT_BUSY_TIMEOUT_MS) : INIT_BUSY_TIMEOUT_MS);
  }

  async init(): Promise<void> {
    migrate(this.db);
    if (this.options.lockWaitMs !== undefined) this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.options.busyTimeoutMs ?? 0))}`);
    const s = prepareStatements(this.db);
    const upsert = (sessionId: string, chatId: string, messages: Message[], ts: number[]): UpsertResult => {
      let inserted = 0;
      let newest = -Infinity;
      // A plain loop and positional parameters: this runs once per message of every sync.
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        if (ts[i] > newest) newest = ts[i];
        const editedAt = m.editedAt ? toEpochMs(m.editedAt, `message ${m.id} editedAt`) : null;
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
        );
        if (changes === 1) {
          inserted += 1;
          continue;
        }
        const row = { sessionId, chatId, id: m.id, ack: m.ack };
        s.raiseAck.run(row);
        if (m.revoked) s.revokeMessage.run(row);
        else if (editedAt !== null) s.editMessage.run({ sessionId, chatId, id: m.id, body: wellFormed(m.body), editedAt });
      }
      if (inserted === 0 ? s.getChat.get({ sessionId, chatId }) === undefined : s.bumpChat.run({ sessionId, chatId, inserted }).changes === 0) {
        s.touchChat.run({ sessionId, chatId, isGroup: isGroupChatId(chatId) ? 1 : 0, newest });
      } else s.advanceChat.run({ sessionId, chatId, newest });
      return { inserted, existing: messages.length - inserted };
    };
    const one = this.db.transaction(upsert);
    const group = this.db.transaction((batches: PendingBatch[]) => batches.map((b) => upsert(b.sessionId, b.chatId, b.messages, b.ts)));
    // IMMEDIATE: a deferred transaction that reads first and then writes can fail with SQLITE_BUSY
    // without waiting when another process committed in between.
    this.prepared = { s, upsertBatch: (...args) => one.immediate(...args), upsertGroup: (batches) => group.immediate(batches) };
  }

  async close(): Promise<void> {
    if (this.pending.length > 0 && this.prepared) await this.commitPending();
    this.prepared = null;
    if (this.db.open) this.db.close();
  }

  async ping(): Promise<void> {
    this.s.ping.get({});
  }

  async ensureSession(sessionId: string): Promise<{ session: Session; created: boolean }> {
    const { changes } = await this.write(() => this.s.insertSession.run({ sessionId, now: Date.now() }));
    return { session: (await this.getSession(sessionId))!, created: changes === 1 };
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const row = this.s.getSession.get({ sessionId });
    return row ? this.toSession(row) : null;
  }

  async listSessions(): Promise<Session[]> {
    return this.s.listSessions.all({}).map((row) => this.toSession(row));
  }

  async setSessionStatus(sessionId: string, status: SessionStatus, detail?: string | null): Promise<void> {
    await this.write(() => this.s.setSessionStatus.run({ sessionId, status, detail: wellFormed(detail ?? null), now: Date.now() }));
  }

  async markFirstReady(sessionId: string, at: string): Promise<string> {
    const ms = toEpochMs(at, 'first ready time');
    await this.write(() => this.s.markFirstReady.run({ sessionId, at: ms, now: Date.now() }));
    return toIso(this.s.getSession.get({ sessionId })!.first_ready_at ?? ms);
  }

  async setSessionWebhooks(sessionId: string, webhooks: SessionWebhook[]): Promise<void> {
    await this.write(() => this.s.setSessionWebhooks.run({ sessionId, webhooks: webhooks.length ? JSON.stringify(webhooks) : null }));
  }

  async getSessionWebhooks(sessionId: string): Promise<SessionWebhook[]> {
    const raw = this.s.getSessionWebhooks.get({ sessionId })?.webhooks;
    return raw ? parseWebhooks(raw) : [];
  }

  async upsertChats(sessionId: string, chats: ChatInput[]): Promise<void> {
    if (chats.length === 0) return;
    const rows = chats.map((c) => ({
      sessionId,
      id: c.id,
      name: wellFormed(c.name),
      isGroup: c.isGroup ? 1 : 0,
      unreadCount: c.unreadCount,
      lastMessageAt: c.lastMessageAt === null ? null : toEpochMs(c.lastMessageAt, `chat ${c.id} lastMessageAt`),
    }));
    await this.write(() => this.db.transaction(() => rows.forEach((row) => this.s.upsertChat.run(row))).immediate());
  }

  async listChats(sessionId: string, query: ChatPageQuery): Promise<Page<Chat>> {
    assertLimit(query.limit);
    const params = { sessionId, limit: query.limit + 1 };
    let rows: ChatRow[];
    if (query.cursor === undefined) rows = this.s.listChats.all(params);
    else {
      const after = decodeChatCursor(query.cursor);
      rows =
        after.t === null
          ? this.s.listChatsAfterNull.all({ ...params, id: after.id })
          : this.s.listChatsAfter.all({ ...params, t: after.t, id: after.id });
    }
    return toPage(rows, query.limit, toChat, (r) => encodeChatCursor({ t: r.last_message_at, id: r.id }));
  }

  async getChat(sessionId: string, chatId: string): Promise<Chat | null> {
    const row = this.s.getChat.get({ sessionId, chatId });
    return row ? toChat(row) : null;
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
        const results = await this.write(() => this.ready.upsertGroup(batches));
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
        b.resolve(await this.write(() => this.ready.upsertBatch(b.sessionId, b.chatId, b.messages, b.ts)));
      } catch (err) {
        b.reject(err);
      }
    }
  }

  async listMessages(sessionId: string, chatId: string, query: MessagePageQuery): Promise<Page<Message>> {
    assertLimit(query.limit);
    const params = { sessionId, chatId, limit: query.limit + 1 };
    let rows: MessageRow[];
    if (query.before === undefined) rows = this.s.listMessages.all(params);
    else {
      const bound = parseMessageBound(query.before);
      rows =
        bound.id === null
          ? this.s.listMessagesBefore.all({ ...params, t: bound.t })
          : this.s.listMessagesAfter.all({ ...params, t: bound.t, id: bound.id });
    }
    return toPage(rows, query.limit, toMessage, (r) => encodeMessageCursor({ t: r.ts, id: r.id }));
  }

  async updateMessageAck(sessionId: string, chatId: string, messageId: string, ack: number): Promise<boolean> {
    return (await this.write(() => this.s.raiseAck.run({ sessionId, chatId, id: messageId, ack }))).changes === 1;
  }

  async editMessage(sessionId: string, chatId: string, messageId: string, body: string, editedAt: string): Promise<boolean> {
    const at = toEpochMs(editedAt, `message ${messageId} editedAt`);
    return (await this.write(() => this.s.editMessage.run({ sessionId, chatId, id: messageId, body: wellFormed(body), editedAt: at }))).changes === 1;
  }

  async revokeMessage(sessionId: string, chatId: string, messageId: string): Promise<boolean> {
    return (await this.write(() => this.s.revokeMessage.run({ sessionId, chatId, id: messageId }))).changes === 1;
  }

  async chatSyncStates(sessionId: string, before?: string): Promise<ChatSyncState[]> {
    const bound = before === undefined ? Number.MAX_SAFE_INTEGER : toEpochMs(before, 'before');
    return this.s.chatSyncStates.all({ sessionId, before: bound }).map((r) => ({
      id: r.id,
      lastMessageAt: toIsoOrNull(r.last_message_at),
      messageCount: r.message_count,
      newestMessageAt: toIsoOrNull(r.newest),
    }));
  }

  async recentHistory(sessionId: string, query: RecentHistoryQuery): Promise<ChatHistory[]> {
    assertLimit(query.limitPerChat, 'limitPerChat');
    if (!(query.days > 0)) throw new RangeError(`days must be positive, got ${query.days}`);
    const since = Date.now() - query.days * 86_400_000;
    // Chats first: lastMessageAt is never older than a chat's newest stored message, so this
    // narrows the scan to active chats and each chat then reads its own index range.
    const read = this.db.transaction(() =>
      this.s.activeChats.all({ sessionId, since }).map((chat) => ({
        chatId: chat.id,
        lastMessageAt: toIso(chat.last_message_at),
        rows: this.s.recentMessages.all({ sessionId, chatId: chat.id, since, limit: query.limitPerChat }),
      })),
    );
    return read()
      .filter((h) => h.rows.length > 0)
      .sort((a, b) => b.rows[0].ts - a.rows[0].ts || compareIds(a.chatId, b.chatId))
      .map((h) => ({ chatId: h.chatId, lastMessageAt: h.lastMessageAt, messages: h.rows.map(toMessage) }));
  }

  async startSyncRun(run: SyncRunStart): Promise<void> {
    await this.write(() => this.s.startSyncRun.run({ ...run, kind: run.kind ?? 'full', now: Date.now() }));
  }

  async finishSyncRun(
    syncId: string,
    result: { nChats: number; chatsFailed: number; totalMessages: number },
  ): Promise<void> {
    const { changes } = await this.write(() => this.s.finishSyncRun.run({ syncId, ...result, now: Date.now() }));
    if (changes === 0) throw new Error(`sync run ${syncId} was never started`);
  }

  async getSyncRun(syncId: string): Promise<SyncRun | null> {
    const row = this.s.getSyncRun.get({ syncId });
    return row ? toSyncRun(row) : null;
  }

  async getLastSyncRun(sessionId: string): Promise<SyncRun | null> {
    const row = this.s.lastSyncRun.get({ sessionId });
    return row ? toSyncRun(row) : null;
  }

  async openSyncRuns(sessionId: string): Promise<SyncRun[]> {
    return this.s.openSyncRuns.all({ sessionId }).map(toSyncRun);
  }

  /**
   * Runs a write; with `lockWaitMs`, SQLITE_BUSY is retried after an async pause (the event loop
   * keeps serving) until the deadline, then StoreBusyError. A busy write changed nothing, so a
   * retry never doubles it.
   */
  private async write<T>(fn: () => T): Promise<T> {
    const deadlineMs = this.options.lockWaitMs;
    if (deadlineMs === undefined) return fn();
    const started = Date.now();
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw err;
        const waited = Date.now() - started;
        if (waited + delay > deadlineMs) throw new StoreBusyError(waited);
        await sleep(delay);
      }
    }
  }

  private get ready(): Prepared {
    if (!this.prepared) throw new Error('SqliteStore: call init() first (or the store is closed)');
    return this.prepared;
  }

  private get s(): Statements {
    return this.ready.s;
  }

  private toSession(row: SessionRow): Session {
    const last = this.s.lastFinishedSyncRun.get({ sessionId: row.session_id });
    return {
      sessionId: row.session_id,
      status: row.status as SessionStatus,
      statusDetail: row.status_detail,
      createdAt: toIso(row.created_at),
      updatedAt: toIso(row.updated_at),
      lastSync: last ? toSyncRun(last) : null,
    };
  }
}

function toChat(row: ChatRow): Chat {
  return {
    id: row.id,
    name: row.name,
    isGroup: row.is_group === 1,
    unreadCount: row.unread_count,
    lastMessageAt: toIsoOrNull(row.last_message_at),
    messageCount: row.message_count,
  };
}

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    chatId: row.chat_id,
    fromMe: row.from_me === 1,
    author: row.author,
    body: row.body,
    type: row.type,
    timestamp: toIso(row.ts),
    ack: row.ack,
    hasMedia: row.has_media === 1,
    // Only when set, so a message never edited or deleted keeps the documented shape.
    ...(row.edited_at !== null ? { editedAt: toIso(row.edited_at) } : {}),
    ...(row.revoked === 1 ? { revoked: true } : {}),
  };
}

function toSyncRun(row: SyncRunRow): SyncRun {
  return {
    syncId: row.sync_id,
    sessionId: row.session_id,
    reason: row.reason as SyncReason,
    kind: row.kind as SyncKind,
    startedAt: toIso(row.started_at),
    finishedAt: toIsoOrNull(row.finished_at),
    nChats: row.n_chats,
    chatsFailed: row.chats_failed,
    totalMessages: row.total_messages,
    done: row.finished_at !== null,
  };
}

/** Stored webhooks are re-checked on read: a row edited by hand cannot hand the workers a bad URL. */
function parseWebhooks(raw: string): SessionWebhook[] {
  try {
    const parsed = SessionWebhooks.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
