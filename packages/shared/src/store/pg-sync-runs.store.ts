import type { SyncRun } from '../domain.schemas';
import type { PgConnection } from './pg.connection';
import { SYNC_RUN_COLUMNS, toSyncRun, type SyncRunRow } from './pg.rows';
import type { SyncRunStart, SyncRunStore } from './store.interface';

/** Sync runs on PostgreSQL. */
export class PgSyncRuns implements SyncRunStore {
  constructor(private readonly c: PgConnection) {}

  async startSyncRun(run: SyncRunStart): Promise<void> {
    // A retried job starting the same sync keeps the first record.
    await this.c.query(
      `INSERT INTO sync_runs (sync_id, session_id, reason, kind, started_at, finished_at, n_chats)
       VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (sync_id) DO NOTHING`,
      [run.syncId, run.sessionId, run.reason, run.kind ?? 'full', Date.now(), run.nChats],
    );
  }

  async finishSyncRun(
    syncId: string,
    result: { nChats: number; chatsFailed: number; totalMessages: number },
  ): Promise<void> {
    // A retried finalize keeps the first finish time and takes the latest figures.
    const { rowCount } = await this.c.query(
      `UPDATE sync_runs SET finished_at = COALESCE(finished_at, $2), n_chats = $3, chats_failed = $4, total_messages = $5
       WHERE sync_id = $1`,
      [syncId, Date.now(), result.nChats, result.chatsFailed, result.totalMessages],
    );
    if (rowCount === 0) throw new Error(`sync run ${syncId} was never started`);
  }

  async getSyncRun(syncId: string): Promise<SyncRun | null> {
    const { rows } = await this.c.query<SyncRunRow>(`SELECT ${SYNC_RUN_COLUMNS} FROM sync_runs WHERE sync_id = $1`, [syncId]);
    return rows.length ? toSyncRun(rows[0]) : null;
  }

  async getLastSyncRun(sessionId: string): Promise<SyncRun | null> {
    const { rows } = await this.c.query<SyncRunRow>(
      `SELECT ${SYNC_RUN_COLUMNS} FROM sync_runs WHERE session_id = $1 ORDER BY started_at DESC, seq DESC LIMIT 1`,
      [sessionId],
    );
    return rows.length ? toSyncRun(rows[0]) : null;
  }

  async openSyncRuns(sessionId: string): Promise<SyncRun[]> {
    const { rows } = await this.c.query<SyncRunRow>(
      `SELECT ${SYNC_RUN_COLUMNS} FROM sync_runs WHERE session_id = $1 AND finished_at IS NULL ORDER BY started_at, seq`,
      [sessionId],
    );
    return rows.map(toSyncRun);
  }
}
