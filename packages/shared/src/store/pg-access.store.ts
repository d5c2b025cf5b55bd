import type { PgConnection } from './pg.connection';
import type { AccessStore } from './store.interface';

/** Token secrets and revocation epochs on PostgreSQL (tables `store_secrets`, `token_epochs`). */
export class PgAccess implements AccessStore {
  constructor(private readonly c: PgConnection) {}

  async ensureSecret(name: string, candidate: string): Promise<string> {
    // Two statements on purpose: the SELECT's snapshot is taken after the INSERT, so it sees the
    // value of whoever inserted first, even a process that committed while this one waited.
    await this.c.query('INSERT INTO store_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
      name,
      candidate,
      Date.now(),
    ]);
    const { rows } = await this.c.query<{ value: string }>('SELECT value FROM store_secrets WHERE name = $1', [name]);
    return rows[0].value;
  }

  async getTokenEpoch(sessionId: string): Promise<number> {
    const { rows } = await this.c.query<{ epoch: number }>('SELECT epoch FROM token_epochs WHERE session_id = $1', [sessionId]);
    return rows[0]?.epoch ?? 0;
  }

  async bumpTokenEpoch(sessionId: string): Promise<number> {
    const { rows } = await this.c.query<{ epoch: number }>(
      `INSERT INTO token_epochs (session_id, epoch) VALUES ($1, 1)
       ON CONFLICT (session_id) DO UPDATE SET epoch = token_epochs.epoch + 1 RETURNING epoch`,
      [sessionId],
    );
    return rows[0].epoch;
  }
}
