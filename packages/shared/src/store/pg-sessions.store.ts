import type { Session, SessionStatus } from '../domain.schemas';
import { toEpochMs, toIso } from './cursor.codec';
import type { PgConnection } from './pg.connection';
import { SYNC_RUN_COLUMNS, toSyncRun, type SyncRunRow } from './pg.rows';
import { decodeText, encodeText } from './pg.text';
import type { SessionStore } from './store.interface';
import { parseWebhooks } from './store.input';
import type { SessionWebhook } from '../webhook.schemas';

interface SessionRow {
  session_id: string;
  status: string;
  status_detail: string | null;
  created_at: number;
  updated_at: number;
  /** The last finished sync run (json: its bigints arrive as numbers). */
  last_run: SyncRunRow | null;
}

// A session and its last finished sync in one read.
const SESSION_SELECT = `SELECT s.session_id, s.status, s.status_detail, s.created_at, s.updated_at,
  (SELECT row_to_json(r) FROM (SELECT ${SYNC_RUN_COLUMNS} FROM sync_runs
    WHERE session_id = s.session_id AND finished_at IS NOT NULL ORDER BY finished_at DESC, seq DESC LIMIT 1) r) AS last_run
  FROM sessions s`;

/** Sessions on PostgreSQL: status, first-ready instant, webhooks. */
export class PgSessions implements SessionStore {
  constructor(private readonly c: PgConnection) {}

  async ensureSession(sessionId: string): Promise<{ session: Session; created: boolean }> {
    const { rowCount } = await this.c.query(
      `INSERT INTO sessions (session_id, status, status_detail, created_at, updated_at)
       VALUES ($1, 'starting', NULL, $2, $2) ON CONFLICT (session_id) DO NOTHING`,
      [sessionId, Date.now()],
    );
    return { session: (await this.getSession(sessionId))!, created: rowCount === 1 };
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const { rows } = await this.c.query<SessionRow>(`${SESSION_SELECT} WHERE s.session_id = $1`, [sessionId]);
    return rows.length ? toSession(rows[0]) : null;
  }

  async listSessions(): Promise<Session[]> {
    const { rows } = await this.c.query<SessionRow>(`${SESSION_SELECT} ORDER BY s.created_at, s.session_id`);
    return rows.map(toSession);
  }

  async setSessionStatus(sessionId: string, status: SessionStatus, detail?: string | null): Promise<void> {
    await this.c.query(
      `INSERT INTO sessions (session_id, status, status_detail, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (session_id) DO UPDATE SET status = excluded.status, status_detail = excluded.status_detail,
         updated_at = excluded.updated_at`,
      [sessionId, status, encodeText(detail ?? null), Date.now()],
    );
  }

  async markFirstReady(sessionId: string, at: string): Promise<string> {
    const ms = toEpochMs(at, 'first ready time');
    // The first instant wins: a later ready (restart, reconnect) keeps it.
    const { rows } = await this.c.query<{ first_ready_at: number }>(
      `INSERT INTO sessions (session_id, status, status_detail, created_at, updated_at, first_ready_at)
       VALUES ($1, 'starting', NULL, $2, $2, $3)
       ON CONFLICT (session_id) DO UPDATE SET first_ready_at = COALESCE(sessions.first_ready_at, excluded.first_ready_at)
       RETURNING first_ready_at`,
      [sessionId, Date.now(), ms],
    );
    return toIso(rows[0].first_ready_at);
  }

  async setSessionWebhooks(sessionId: string, webhooks: SessionWebhook[]): Promise<void> {
    // JSON text: JSON.stringify escapes control characters, so no U+0000 reaches the column.
    await this.c.query('UPDATE sessions SET webhooks = $2 WHERE session_id = $1', [sessionId, webhooks.length ? JSON.stringify(webhooks) : null]);
  }

  async getSessionWebhooks(sessionId: string): Promise<SessionWebhook[]> {
    const { rows } = await this.c.query<{ webhooks: string | null }>('SELECT webhooks FROM sessions WHERE session_id = $1', [sessionId]);
    const raw = rows[0]?.webhooks;
    return raw ? parseWebhooks(raw) : [];
  }
}

function toSession(row: SessionRow): Session {
  return {
    sessionId: row.session_id,
    status: row.status as SessionStatus,
    statusDetail: decodeText(row.status_detail),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    lastSync: row.last_run ? toSyncRun(row.last_run) : null,
  };
}
