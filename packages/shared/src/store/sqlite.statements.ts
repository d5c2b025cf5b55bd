import type Database from 'better-sqlite3';

/** Row shapes as SQLite returns them (times in epoch ms, booleans as 0/1). */
export interface SessionRow {
  session_id: string;
  status: string;
  status_detail: string | null;
  created_at: number;
  updated_at: number;
  first_ready_at: number | null;
}

export interface ChatRow {
  id: string;
  name: string;
  is_group: number;
  unread_count: number;
  last_message_at: number | null;
  message_count: number;
  /** JSON GroupParticipant[], read by getChat only. */
  participants?: string | null;
}

export interface MessageRow {
  id: string;
  chat_id: string;
  from_me: number;
  author: string | null;
  body: string;
  type: string;
  ts: number;
  ack: number;
  has_media: number;
  edited_at: number | null;
  revoked: number;
  /** JSON MediaDescriptor; null for a message without media. */
  media: string | null;
  /** JSON of the conversation fields it came with (store.input messageExtra); null when none. */
  extra: string | null;
  /** JSON Reaction[]; null when never known. */
  reactions: string | null;
}

export interface SyncRunRow {
  sync_id: string;
  session_id: string;
  reason: string;
  kind: string;
  started_at: number;
  finished_at: number | null;
  n_chats: number;
  chats_failed: number;
  total_messages: number;
}

const CHAT_COLUMNS = 'id, name, is_group, unread_count, last_message_at, message_count';
export const MESSAGE_COLUMNS = 'id, chat_id, from_me, author, body, type, ts, ack, has_media, edited_at, revoked, media, extra, reactions';
const CHAT_ORDER = 'ORDER BY last_message_at DESC, id ASC LIMIT @limit';
const MESSAGE_ORDER = 'ORDER BY ts DESC, id DESC LIMIT @limit';
// MAX() of two values where NULL means "unknown", not "smallest": scalar MAX() returns NULL on any NULL.
const maxNullable = (a: string, b: string) => `MAX(COALESCE(${a}, ${b}), COALESCE(${b}, ${a}))`;

/** A prepared statement taking one object of named parameters (`@name`). */
export interface Stmt<Row = unknown> {
  run(params: Record<string, unknown>): { changes: number };
  get(params: Record<string, unknown>): Row | undefined;
  all(params: Record<string, unknown>): Row[];
}

/** insertMessage's positional parameters, in column order. */
export type InsertMessageParams = [string, string, string, number, string | null, string, string, number, number, number, number | null, number, string | null, string | null, string | null];

/** Immutable fields are written once: a known id is left alone here and only its ack moves. */
function prepareInsertMessage(db: Database.Database): { run(...params: InsertMessageParams): { changes: number } } {
  // Positional parameters: the per-message hot path, where a named-parameter object costs as much
  // as the SQL itself (docs/benchmarks.md). Order: session, chat, id, fromMe, author, body, type,
  // ts, ack, hasMedia, editedAt, revoked, media, extra, reactions.
  return db.prepare<InsertMessageParams>(
    `INSERT INTO messages (session_id, chat_id, id, from_me, author, body, type, ts, ack, has_media, edited_at, revoked, media, extra, reactions)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (session_id, chat_id, id) DO NOTHING`);
}

/** Every statement the store runs, prepared once per connection. */
export function prepareStatements(db: Database.Database) {
  const p = <Row = unknown>(sql: string): Stmt<Row> => db.prepare<[Record<string, unknown>], Row>(sql);
  return {
    ping: p('SELECT 1'),
    insertSession: p(`INSERT INTO sessions (session_id, status, status_detail, created_at, updated_at)
      VALUES (@sessionId, 'starting', NULL, @now, @now) ON CONFLICT (session_id) DO NOTHING`),
    setSessionStatus: p(`INSERT INTO sessions (session_id, status, status_detail, created_at, updated_at)
      VALUES (@sessionId, @status, @detail, @now, @now)
      ON CONFLICT (session_id) DO UPDATE SET status = excluded.status, status_detail = excluded.status_detail,
        updated_at = excluded.updated_at`),
    getSession: p<SessionRow>('SELECT * FROM sessions WHERE session_id = @sessionId'),
    listSessions: p<SessionRow>('SELECT * FROM sessions ORDER BY created_at, session_id'),
    // The first instant wins: a later ready (restart, reconnect) keeps it.
    markFirstReady: p(`INSERT INTO sessions (session_id, status, status_detail, created_at, updated_at, first_ready_at)
      VALUES (@sessionId, 'starting', NULL, @now, @now, @at)
      ON CONFLICT (session_id) DO UPDATE SET first_ready_at = COALESCE(sessions.first_ready_at, excluded.first_ready_at)`),
    setSessionWebhooks: p('UPDATE sessions SET webhooks = @webhooks WHERE session_id = @sessionId'),
    getSessionWebhooks: p<{ webhooks: string | null }>('SELECT webhooks FROM sessions WHERE session_id = @sessionId'),

    // Metadata from the engine wins, except messageCount (ours) and lastMessageAt (only forward).
    upsertChat: p(`INSERT INTO chats (session_id, id, name, is_group, unread_count, last_message_at, message_count, participants)
      VALUES (@sessionId, @id, @name, @isGroup, @unreadCount, @lastMessageAt, 0, @participants)
      ON CONFLICT (session_id, id) DO UPDATE SET name = excluded.name, is_group = excluded.is_group,
        unread_count = excluded.unread_count, participants = COALESCE(excluded.participants, chats.participants),
        last_message_at = ${maxNullable('chats.last_message_at', 'excluded.last_message_at')}`),
    // After a message batch on a known chat: count what it inserted (the count stays exact: every
    // message row is inserted by a batch that ends here), move lastMessageAt forward. No recount:
    // COUNT(*) would read the chat's whole key range on every batch.
    bumpChat: p(`UPDATE chats SET message_count = message_count + @inserted
      WHERE session_id = @sessionId AND id = @chatId`),
    // Separate, and only when it moves: an UPDATE that names last_message_at rewrites the chat's
    // chats_by_activity entry even when the value stays (one more dirty page per batch).
    advanceChat: p(`UPDATE chats SET last_message_at = @newest
      WHERE session_id = @sessionId AND id = @chatId AND (last_message_at IS NULL OR last_message_at < @newest)`),
    // After a batch on a chat without a row yet: create it with a full count.
    touchChat: p(`INSERT INTO chats (session_id, id, name, is_group, unread_count, last_message_at, message_count)
      VALUES (@sessionId, @chatId, @chatId, @isGroup, 0, @newest,
        (SELECT COUNT(*) FROM messages WHERE session_id = @sessionId AND chat_id = @chatId))
      ON CONFLICT (session_id, id) DO UPDATE SET message_count = excluded.message_count,
        last_message_at = ${maxNullable('chats.last_message_at', 'excluded.last_message_at')}`),
    getChat: p<ChatRow>(`SELECT ${CHAT_COLUMNS}, participants FROM chats WHERE session_id = @sessionId AND id = @chatId`),
    listChats: p<ChatRow>(`SELECT ${CHAT_COLUMNS} FROM chats WHERE session_id = @sessionId ${CHAT_ORDER}`),
    listChatsAfter: p<ChatRow>(`SELECT ${CHAT_COLUMNS} FROM chats WHERE session_id = @sessionId
      AND (last_message_at < @t OR (last_message_at = @t AND id > @id) OR last_message_at IS NULL) ${CHAT_ORDER}`),
    listChatsAfterNull: p<ChatRow>(`SELECT ${CHAT_COLUMNS} FROM chats WHERE session_id = @sessionId
      AND last_message_at IS NULL AND id > @id ${CHAT_ORDER}`),
    // Per chat: what the store holds, read by a catch-up before it touches anything.
    chatSyncStates: p<{ id: string; last_message_at: number | null; message_count: number; newest: number | null }>(
      `SELECT c.id, c.last_message_at, c.message_count,
        (SELECT MAX(m.ts) FROM messages m WHERE m.session_id = c.session_id AND m.chat_id = c.id AND m.ts < @before) AS newest
      FROM chats c WHERE c.session_id = @sessionId`),
    activeChats: p<{ id: string; last_message_at: number }>(`SELECT id, last_message_at FROM chats
      WHERE session_id = @sessionId AND last_message_at >= @since`),

    insertMessage: prepareInsertMessage(db),
    // Only a newer edit replaces the text, and never that of a deleted message.
    editMessage: p(`UPDATE messages SET body = @body, edited_at = @editedAt
      WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id AND revoked = 0
        AND (edited_at IS NULL OR edited_at < @editedAt)`),
    // Deleted for everyone is final: the id stays, the text goes.
    revokeMessage: p(`UPDATE messages SET revoked = 1, body = ''
      WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id AND revoked = 0`),
    // A message stored before its media was known gets the descriptor once; the media job owns it after.
    fillMedia: p(`UPDATE messages SET media = @media
      WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id AND media IS NULL`),
    // Conversation fields and reactions of a message stored without them (before they existed): once.
    fillExtra: p(`UPDATE messages SET extra = COALESCE(extra, @extra), reactions = COALESCE(reactions, @reactions)
      WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id
        AND ((extra IS NULL AND @extra IS NOT NULL) OR (reactions IS NULL AND @reactions IS NOT NULL))`),
    raiseAck: p(`UPDATE messages SET ack = @ack
      WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id AND ack < @ack`),
    listMessages: p<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE session_id = @sessionId AND chat_id = @chatId ${MESSAGE_ORDER}`),
    listMessagesAfter: p<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE session_id = @sessionId AND chat_id = @chatId AND (ts, id) < (@t, @id) ${MESSAGE_ORDER}`),
    listMessagesBefore: p<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE session_id = @sessionId AND chat_id = @chatId AND ts < @t ${MESSAGE_ORDER}`),
    recentMessages: p<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE session_id = @sessionId AND chat_id = @chatId AND ts >= @since ${MESSAGE_ORDER}`),

    startSyncRun: p(`INSERT INTO sync_runs (sync_id, session_id, reason, kind, started_at, finished_at, n_chats)
      VALUES (@syncId, @sessionId, @reason, @kind, @now, NULL, @nChats) ON CONFLICT (sync_id) DO NOTHING`),
    // A retried finalize keeps the first finish time and takes the latest figures.
    finishSyncRun: p(`UPDATE sync_runs SET finished_at = COALESCE(finished_at, @now), n_chats = @nChats,
      chats_failed = @chatsFailed, total_messages = @totalMessages WHERE sync_id = @syncId`),
    getSyncRun: p<SyncRunRow>('SELECT * FROM sync_runs WHERE sync_id = @syncId'),
    lastSyncRun: p<SyncRunRow>(`SELECT * FROM sync_runs WHERE session_id = @sessionId
      ORDER BY started_at DESC, rowid DESC LIMIT 1`),
    openSyncRuns: p<SyncRunRow>(`SELECT * FROM sync_runs WHERE session_id = @sessionId AND finished_at IS NULL
      ORDER BY started_at, rowid`),
    lastFinishedSyncRun: p<SyncRunRow>(`SELECT * FROM sync_runs
      WHERE session_id = @sessionId AND finished_at IS NOT NULL ORDER BY finished_at DESC, rowid DESC LIMIT 1`),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
