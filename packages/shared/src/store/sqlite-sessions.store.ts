import type { Session, SessionStatus } from '../domain.schemas';
import { toEpochMs, toIso } from './cursor.codec';
import type { SqliteConnection } from './sqlite.connection';
import { toSyncRun } from './sqlite.rows';
import type { SessionRow } from './sqlite.statements';
import type { SessionStore } from './store.interface';
import { parseWebhooks, wellFormed } from './store.input';
import type { SessionWebhook } from '../webhook.schemas';

/** Sessions on SQLite: status, first-ready instant, webhooks. */
export class SqliteSessions implements SessionStore {
  constructor(private readonly c: SqliteConnection) {}

  async ensureSession(sessionId: string): Promise<{ session: Session; created: boolean }> {
    const { changes } = await this.c.write(() => this.c.s.insertSession.run({ sessionId, now: Date.now() }));
    return { session: (await this.getSession(sessionId))!, created: changes === 1 };
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const row = this.c.s.getSession.get({ sessionId });
    return row ? this.toSession(row) : null;
  }

  async listSessions(): Promise<Session[]> {
    return this.c.s.listSessions.all({}).map((row) => this.toSession(row));
  }

  async setSessionStatus(sessionId: string, status: SessionStatus, detail?: string | null): Promise<void> {
    await this.c.write(() => this.c.s.setSessionStatus.run({ sessionId, status, detail: wellFormed(detail ?? null), now: Date.now() }));
  }

  async markFirstReady(sessionId: string, at: string): Promise<string> {
    const ms = toEpochMs(at, 'first ready time');
    await this.c.write(() => this.c.s.markFirstReady.run({ sessionId, at: ms, now: Date.now() }));
    return toIso(this.c.s.getSession.get({ sessionId })!.first_ready_at ?? ms);
  }

  async setSessionWebhooks(sessionId: string, webhooks: SessionWebhook[]): Promise<void> {
    await this.c.write(() => this.c.s.setSessionWebhooks.run({ sessionId, webhooks: webhooks.length ? JSON.stringify(webhooks) : null }));
  }

  async getSessionWebhooks(sessionId: string): Promise<SessionWebhook[]> {
    const raw = this.c.s.getSessionWebhooks.get({ sessionId })?.webhooks;
    return raw ? parseWebhooks(raw) : [];
  }

  private toSession(row: SessionRow): Session {
    const last = this.c.s.lastFinishedSyncRun.get({ sessionId: row.session_id });
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
