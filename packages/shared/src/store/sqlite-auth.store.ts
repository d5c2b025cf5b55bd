import type { SqliteConnection } from './sqlite.connection';
import type { AuthStateStore } from './store.interface';

/** Linked-session credentials on SQLite (table `auth_states`, schema v7): one row per session, one upsert per save. */
export class SqliteAuthStates implements AuthStateStore {
  constructor(private readonly c: SqliteConnection) {}

  async getAuthState(sessionId: string): Promise<Buffer | null> {
    const row = this.c.db.prepare('SELECT data FROM auth_states WHERE session_id = ?').get(sessionId) as { data: Buffer } | undefined;
    return row ? Buffer.from(row.data) : null;
  }

  async putAuthState(sessionId: string, data: Buffer): Promise<void> {
    await this.c.write(() =>
      this.c.db
        .prepare('INSERT INTO auth_states (session_id, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at')
        .run(sessionId, data, Date.now()),
    );
  }

  async deleteAuthState(sessionId: string): Promise<void> {
    await this.c.write(() => this.c.db.prepare('DELETE FROM auth_states WHERE session_id = ?').run(sessionId));
  }
}
