import { isGroupChatId, type Message, type Page } from '../domain.schemas';
import { assertLimit, encodeMessageCursor, parseMessageBound, toEpochMs, toIso, toPage } from './cursor.codec';
import type { PgConnection } from './pg.connection';
import { MESSAGE_COLUMNS, extraOf, toMessage, type MessageRow } from './pg.rows';
import { encodeText, toJsonb } from './pg.text';
import type { ChatHistory, MessagePageQuery, MessageStore, RecentHistoryQuery, UpsertResult } from './store.interface';
import { checkBatch, compareIds } from './store.input';

/**
 * Rows per INSERT. The batch travels as one array per column (unnest), so the statement has 16
 * parameters whatever its size and never nears the protocol's 65,535; chunks only bound the size
 * of one statement. A batch past this is written in several statements of one transaction.
 */
export const PG_UPSERT_CHUNK = 5_000;

/**
 * One statement per chunk: insert what is new; for what exists, raise ack, apply a newer edit or
 * a delete (revoked is final, a deleted message keeps no text), fill a missing media descriptor; count what was new (xmax = 0
 * marks a row this statement inserted) and move the chat's counters by that in the same
 * statement. The conflict update has a WHERE: an unchanged message is not rewritten.
 */
const UPSERT_SQL = `
WITH input AS (
  SELECT * FROM unnest($3::text[], $4::bool[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int4[], $10::bool[],
    $11::int8[], $12::bool[], $13::jsonb[], $16::jsonb[]) AS t(id, from_me, author, body, type, ts, ack, has_media, edited_at, revoked, extra, media)
), ins AS (
  INSERT INTO messages AS m (session_id, chat_id, id, from_me, author, body, type, ts, ack, has_media, edited_at, revoked, extra, media)
  SELECT $1, $2, id, from_me, author, CASE WHEN revoked THEN '' ELSE body END, type, ts, ack, has_media, edited_at, revoked, extra, media
  FROM input
  ON CONFLICT (session_id, chat_id, id) DO UPDATE SET
    ack = GREATEST(m.ack, excluded.ack),
    revoked = m.revoked OR excluded.revoked,
    body = CASE WHEN m.revoked OR excluded.revoked THEN ''
      WHEN excluded.edited_at > COALESCE(m.edited_at, excluded.edited_at - 1) THEN excluded.body ELSE m.body END,
    edited_at = CASE WHEN NOT (m.revoked OR excluded.revoked) AND excluded.edited_at > COALESCE(m.edited_at, excluded.edited_at - 1)
      THEN excluded.edited_at ELSE m.edited_at END,
    -- A message stored before its media was known gets the descriptor once; the media job owns it after.
    media = COALESCE(m.media, excluded.media),
    -- The other fields fill what a message stored before them lacks, key by key, and are kept
    -- after (the stored keys win): a re-fetch never drops a live reaction.
    extra = CASE WHEN excluded.extra IS NULL THEN m.extra WHEN m.extra IS NULL THEN excluded.extra ELSE excluded.extra || m.extra END
  WHERE excluded.ack > m.ack OR (excluded.revoked AND NOT m.revoked) OR (m.media IS NULL AND excluded.media IS NOT NULL)
    OR (excluded.extra IS NOT NULL AND (m.extra IS NULL OR NOT m.extra ?& ARRAY(SELECT jsonb_object_keys(excluded.extra))))
    OR (NOT m.revoked AND excluded.edited_at > COALESCE(m.edited_at, excluded.edited_at - 1))
  RETURNING xmax = 0 AS fresh
), n AS (
  SELECT count(*) FILTER (WHERE fresh)::int AS inserted FROM ins
), chat AS (
  INSERT INTO chats AS c (session_id, id, name, is_group, unread_count, last_message_at, message_count)
  SELECT $1, $2, $2, $14, 0, $15, inserted FROM n
  ON CONFLICT (session_id, id) DO UPDATE SET message_count = c.message_count + excluded.message_count,
    last_message_at = GREATEST(c.last_message_at, excluded.last_message_at)
  WHERE excluded.message_count > 0 OR c.last_message_at IS NULL OR c.last_message_at < excluded.last_message_at
)
SELECT inserted FROM n`;

/**
 * A message repeated in one batch, folded as if upserted in turn: the first copy's fields, the
 * later copy's where the first has none (media, extra fields), highest ack, newest edit, revoked
 * if any is.
 */
function fold(a: Message, b: Message): Message {
  const bNewer = b.editedAt && (!a.editedAt || Date.parse(b.editedAt) > Date.parse(a.editedAt));
  return {
    ...b,
    ...a,
    ack: Math.max(a.ack, b.ack),
    ...(bNewer ? { body: b.body, editedAt: b.editedAt } : {}),
    ...(a.revoked || b.revoked ? { revoked: true } : {}),
  };
}

/** Messages on PostgreSQL: set-based batch upserts, live acks/edits/deletes, pages, recent history. */
export class PgMessages implements MessageStore {
  constructor(private readonly c: PgConnection) {}

  async upsertMessages(sessionId: string, chatId: string, messages: Message[]): Promise<UpsertResult> {
    checkBatch(chatId, messages);
    if (messages.length === 0) return { inserted: 0, existing: 0 };
    const byId = new Map<string, Message>();
    for (const m of messages) {
      const seen = byId.get(m.id);
      byId.set(m.id, seen ? fold(seen, m) : m);
    }
    // Rows locked in one order by every writer: two batches that overlap never deadlock.
    const rows = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const chunks: Message[][] = [];
    for (let i = 0; i < rows.length; i += PG_UPSERT_CHUNK) chunks.push(rows.slice(i, i + PG_UPSERT_CHUNK));
    const params = chunks.map((chunk) => this.params(sessionId, chatId, chunk));
    let inserted = 0;
    if (params.length === 1) inserted = (await this.c.query<{ inserted: number }>(UPSERT_SQL, params[0])).rows[0].inserted;
    else {
      inserted = await this.c.transaction(async (client) => {
        let n = 0;
        for (const p of params) n += (await client.query<{ inserted: number }>(UPSERT_SQL, p)).rows[0].inserted;
        return n;
      });
    }
    return { inserted, existing: messages.length - inserted };
  }

  private params(sessionId: string, chatId: string, chunk: Message[]): unknown[] {
    const n = chunk.length;
    const cols = { id: new Array<string>(n), fromMe: new Array<boolean>(n), author: new Array<string | null>(n), body: new Array<string>(n),
      type: new Array<string>(n), ts: new Array<number>(n), ack: new Array<number>(n), hasMedia: new Array<boolean>(n),
      editedAt: new Array<number | null>(n), revoked: new Array<boolean>(n), extra: new Array<string | null>(n),
      media: new Array<string | null>(n) };
    let newest = -Infinity;
    for (let i = 0; i < n; i++) {
      const m = chunk[i];
      const ts = Date.parse(m.timestamp); // checked by checkBatch
      if (ts > newest) newest = ts;
      cols.id[i] = m.id;
      cols.fromMe[i] = m.fromMe;
      cols.author[i] = encodeText(m.author);
      cols.body[i] = encodeText(m.body);
      cols.type[i] = encodeText(m.type);
      cols.ts[i] = ts;
      cols.ack[i] = m.ack;
      cols.hasMedia[i] = m.hasMedia;
      cols.editedAt[i] = m.editedAt ? toEpochMs(m.editedAt, `message ${m.id} editedAt`) : null;
      cols.revoked[i] = Boolean(m.revoked);
      cols.extra[i] = toJsonb(extraOf(m));
      cols.media[i] = toJsonb(m.media);
    }
    return [sessionId, chatId, cols.id, cols.fromMe, cols.author, cols.body, cols.type, cols.ts, cols.ack, cols.hasMedia,
      cols.editedAt, cols.revoked, cols.extra, isGroupChatId(chatId), newest, cols.media];
  }

  async listMessages(sessionId: string, chatId: string, query: MessagePageQuery): Promise<Page<Message>> {
    assertLimit(query.limit);
    const base = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND chat_id = $2`;
    const order = 'ORDER BY ts DESC, id DESC LIMIT $3';
    const params: unknown[] = [sessionId, chatId, query.limit + 1];
    let sql = `${base} ${order}`;
    if (query.before !== undefined) {
      const bound = parseMessageBound(query.before);
      if (bound.id === null) sql = `${base} AND ts < $4 ${order}`;
      else sql = `${base} AND (ts, id) < ($4, $5) ${order}`;
      params.push(bound.t, ...(bound.id === null ? [] : [bound.id]));
    }
    const { rows } = await this.c.query<MessageRow>(sql, params);
    return toPage(rows, query.limit, toMessage, (r) => encodeMessageCursor({ t: r.ts, id: r.id }));
  }

  async updateMessageAck(sessionId: string, chatId: string, messageId: string, ack: number): Promise<boolean> {
    const { rowCount } = await this.c.query(
      'UPDATE messages SET ack = $4 WHERE session_id = $1 AND chat_id = $2 AND id = $3 AND ack < $4',
      [sessionId, chatId, messageId, ack],
    );
    return rowCount === 1;
  }

  async editMessage(sessionId: string, chatId: string, messageId: string, body: string, editedAt: string): Promise<boolean> {
    const at = toEpochMs(editedAt, `message ${messageId} editedAt`);
    // Only a newer edit replaces the text, and never that of a deleted message.
    const { rowCount } = await this.c.query(
      `UPDATE messages SET body = $4, edited_at = $5 WHERE session_id = $1 AND chat_id = $2 AND id = $3
        AND NOT revoked AND (edited_at IS NULL OR edited_at < $5)`,
      [sessionId, chatId, messageId, encodeText(body), at],
    );
    return rowCount === 1;
  }

  async revokeMessage(sessionId: string, chatId: string, messageId: string): Promise<boolean> {
    const { rowCount } = await this.c.query(
      `UPDATE messages SET revoked = true, body = '' WHERE session_id = $1 AND chat_id = $2 AND id = $3 AND NOT revoked`,
      [sessionId, chatId, messageId],
    );
    return rowCount === 1;
  }

  async recentHistory(sessionId: string, query: RecentHistoryQuery): Promise<ChatHistory[]> {
    assertLimit(query.limitPerChat, 'limitPerChat');
    if (!(query.days > 0)) throw new RangeError(`days must be positive, got ${query.days}`);
    const since = Date.now() - query.days * 86_400_000;
    // Active chats first (lastMessageAt is never older than a chat's newest stored message), then
    // each chat's own index range, in one statement.
    const { rows } = await this.c.query<MessageRow & { chat_last: number }>(
      `SELECT c.last_message_at AS chat_last, m.* FROM chats c
       CROSS JOIN LATERAL (SELECT ${MESSAGE_COLUMNS} FROM messages
         WHERE session_id = c.session_id AND chat_id = c.id AND ts >= $2 ORDER BY ts DESC, id DESC LIMIT $3) m
       WHERE c.session_id = $1 AND c.last_message_at >= $2 ORDER BY c.id, m.ts DESC, m.id DESC`,
      [sessionId, since, query.limitPerChat],
    );
    const byChat = new Map<string, ChatHistory & { newest: number }>();
    for (const row of rows) {
      let h = byChat.get(row.chat_id);
      if (!h) byChat.set(row.chat_id, (h = { chatId: row.chat_id, lastMessageAt: toIso(row.chat_last), messages: [], newest: row.ts }));
      h.messages.push(toMessage(row));
      if (row.ts > h.newest) h.newest = row.ts;
    }
    return [...byChat.values()]
      .sort((a, b) => b.newest - a.newest || compareIds(a.chatId, b.chatId))
      .map(({ chatId, lastMessageAt, messages }) => ({ chatId, lastMessageAt, messages }));
  }
}
