import { MEDIA_STATUSES, type MediaDescriptor, type Message } from '../domain.schemas';
import type { PgConnection } from './pg.connection';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './pg.rows';
import { toJsonb } from './pg.text';
import type { MediaCounts, MediaRef, MediaStore } from './store.interface';

/** Media descriptors on PostgreSQL: the `media` jsonb column of `messages`, indexed by status. */
export class PgMedia implements MediaStore {
  constructor(private readonly c: PgConnection) {}

  async getMessage(sessionId: string, chatId: string, messageId: string): Promise<Message | null> {
    const { rows } = await this.c.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND chat_id = $2 AND id = $3`,
      [sessionId, chatId, messageId],
    );
    return rows.length ? toMessage(rows[0]) : null;
  }

  async setMedia(sessionId: string, chatId: string, messageId: string, media: MediaDescriptor): Promise<boolean> {
    // `stored` is final; anything else may move (pending → failed → stored on a later retry).
    const { rowCount } = await this.c.query(
      `UPDATE messages SET media = $4::jsonb WHERE session_id = $1 AND chat_id = $2 AND id = $3
        AND (media IS NULL OR media->>'status' IS DISTINCT FROM 'stored')`,
      [sessionId, chatId, messageId, toJsonb(media)],
    );
    return rowCount === 1;
  }

  async mediaCounts(sessionId: string): Promise<MediaCounts> {
    const counts = Object.fromEntries(MEDIA_STATUSES.map((s) => [s, 0])) as MediaCounts;
    counts.bytes = 0;
    const { rows } = await this.c.query<{ status: string; n: number; bytes: number | null }>(
      `SELECT media->>'status' AS status, count(*)::int AS n, sum((media->>'size')::int8)::int8 AS bytes
       FROM messages WHERE session_id = $1 AND media IS NOT NULL GROUP BY 1`,
      [sessionId],
    );
    for (const row of rows) {
      if (!(MEDIA_STATUSES as readonly string[]).includes(row.status)) continue;
      counts[row.status as keyof MediaCounts] = row.n;
      if (row.status === 'stored') counts.bytes = row.bytes ?? 0;
    }
    return counts;
  }

  async pendingMedia(sessionId: string, limit: number): Promise<MediaRef[]> {
    const { rows } = await this.c.query<{ chat_id: string; id: string }>(
      `SELECT chat_id, id FROM messages WHERE session_id = $1 AND media IS NOT NULL AND media->>'status' = 'pending' LIMIT $2`,
      [sessionId, limit],
    );
    return rows.map((r) => ({ chatId: r.chat_id, messageId: r.id }));
  }
}
