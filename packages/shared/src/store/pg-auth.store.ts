import type { PgConnection } from './pg.connection';
import type { AuthStateStore } from './store.interface';

/** Linked-session credentials on PostgreSQL (table `auth_states`, schema v3): one row per session, one upsert per save. */
export class PgAuthStates implements AuthStateStore {
  constructor(private readonly c: PgConnection) {}

  async getAuthState(sessionId: string): Promise<Buffer | null> {
    const { rows } = await this.c.query<{ data: Buffer }>('SELECT data FROM auth_states WHERE session_id = $1', [sessionId]);
    return rows[0]?.data ?? null;
  }

  async putAuthState(sessionId: string, data: Buffer): Promise<void> {
    await this.c.query(
      `INSERT INTO auth_states (session_id, data, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (session_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`,
      [sessionId, data, Date.now()],
    );
  }

  async deleteAuthState(sessionId: string): Promise<void> {
    await this.c.query('DELETE FROM auth_states WHERE session_id = $1', [sessionId]);
  }
}
