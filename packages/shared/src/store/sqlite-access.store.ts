import type { Statement } from 'better-sqlite3';
import type { SqliteConnection } from './sqlite.connection';
import type { AccessStore } from './store.interface';

/** Token secrets and revocation epochs on SQLite (tables `store_secrets`, `token_epochs`, schema v4). */
export class SqliteAccess implements AccessStore {
  private s: {
    insertSecret: Statement;
    getSecret: Statement<[{ name: string }], { value: string }>;
    getEpoch: Statement<[{ sessionId: string }], { epoch: number }>;
    bumpEpoch: Statement<[{ sessionId: string }], { epoch: number }>;
  } | null = null;

  constructor(private readonly c: SqliteConnection) {}

  /** After the connection's init (the tables exist by then). */
  prepare(): void {
    const { db } = this.c;
    this.s = {
      insertSecret: db.prepare('INSERT INTO store_secrets (name, value, created_at) VALUES (@name, @value, @now) ON CONFLICT (name) DO NOTHING'),
      getSecret: db.prepare('SELECT value FROM store_secrets WHERE name = @name'),
      getEpoch: db.prepare('SELECT epoch FROM token_epochs WHERE session_id = @sessionId'),
      bumpEpoch: db.prepare(
        'INSERT INTO token_epochs (session_id, epoch) VALUES (@sessionId, 1) ON CONFLICT (session_id) DO UPDATE SET epoch = epoch + 1 RETURNING epoch',
      ),
    };
  }

  private get st() {
    if (!this.s) throw new Error('SqliteStore: call init() first (or the store is closed)');
    return this.s;
  }

  async ensureSecret(name: string, candidate: string): Promise<string> {
    // INSERT … DO NOTHING then SELECT: whoever inserted first, every process reads the same value.
    await this.c.write(() => this.st.insertSecret.run({ name, value: candidate, now: Date.now() }));
    return this.st.getSecret.get({ name })!.value;
  }

  async getTokenEpoch(sessionId: string): Promise<number> {
    return this.st.getEpoch.get({ sessionId })?.epoch ?? 0;
  }

  async bumpTokenEpoch(sessionId: string): Promise<number> {
    return (await this.c.write(() => this.st.bumpEpoch.get({ sessionId })))!.epoch;
  }
}
