import type { MediaDescriptor, Message } from '../domain.schemas';
import { MEDIA_STATUSES } from '../domain.schemas';
import type { SqliteConnection } from './sqlite.connection';
import { toMessage } from './sqlite.rows';
import { MESSAGE_COLUMNS, type MessageRow, type Stmt } from './sqlite.statements';
import type { MediaCounts, MediaRef, MediaStore } from './store.interface';

const STATUS = `json_extract(media, '$.status')`;

function prepare(c: SqliteConnection) {
  const p = <Row = unknown>(sql: string): Stmt<Row> => c.db.prepare<[Record<string, unknown>], Row>(sql);
  return {
    getMessage: p<MessageRow>(`SELECT ${MESSAGE_COLUMNS}
      FROM messages WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id`),
    // `stored` is final; anything else may move (pending → failed → stored on a later retry).
    setMedia: p(`UPDATE messages SET media = @media WHERE session_id = @sessionId AND chat_id = @chatId AND id = @id
      AND (media IS NULL OR ${STATUS} IS NOT 'stored')`),
    counts: p<{ status: string; n: number; bytes: number | null }>(`SELECT ${STATUS} AS status, COUNT(*) AS n,
      SUM(json_extract(media, '$.size')) AS bytes
      FROM messages WHERE session_id = @sessionId AND media IS NOT NULL GROUP BY ${STATUS}`),
    pending: p<{ chat_id: string; id: string }>(`SELECT chat_id, id FROM messages
      WHERE session_id = @sessionId AND media IS NOT NULL AND ${STATUS} = 'pending' LIMIT @limit`),
  };
}

/** Media descriptors on SQLite: the `media` JSON column of `messages`, indexed by status. */
export class SqliteMedia implements MediaStore {
  private s: ReturnType<typeof prepare> | null = null;

  constructor(private readonly c: SqliteConnection) {}

  /** After the connection's init(). */
  prepare(): void {
    this.s = prepare(this.c);
  }

  async getMessage(sessionId: string, chatId: string, messageId: string): Promise<Message | null> {
    const row = this.ready.getMessage.get({ sessionId, chatId, id: messageId });
    return row ? toMessage(row) : null;
  }

  async setMedia(sessionId: string, chatId: string, messageId: string, media: MediaDescriptor): Promise<boolean> {
    const params = { sessionId, chatId, id: messageId, media: JSON.stringify(media) };
    return (await this.c.write(() => this.ready.setMedia.run(params))).changes === 1;
  }

  async mediaCounts(sessionId: string): Promise<MediaCounts> {
    const counts = Object.fromEntries(MEDIA_STATUSES.map((s) => [s, 0])) as MediaCounts;
    counts.bytes = 0;
    for (const row of this.ready.counts.all({ sessionId })) {
      if (!(MEDIA_STATUSES as readonly string[]).includes(row.status)) continue;
      counts[row.status as keyof MediaCounts] = row.n;
      if (row.status === 'stored') counts.bytes = row.bytes ?? 0;
    }
    return counts;
  }

  async pendingMedia(sessionId: string, limit: number): Promise<MediaRef[]> {
    return this.ready.pending.all({ sessionId, limit }).map((r) => ({ chatId: r.chat_id, messageId: r.id }));
  }

  private get ready(): ReturnType<typeof prepare> {
    if (!this.s) throw new Error('SqliteStore: call init() first (or the store is closed)');
    return this.s;
  }
}
