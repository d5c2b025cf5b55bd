import { Pool, types, type PoolClient, type QueryResultRow } from 'pg';
import { decodeText } from './pg.text';

export interface PgStoreOptions {
  /** Connections of this process's pool; the URL's `pool_max` param wins, default 10. */
  poolMax?: number;
  /** How long to wait for a connection (a server that does not answer); default 10 s. */
  connectTimeoutMs?: number;
}

const DEFAULT_POOL_MAX = 10;
// Codes node-postgres and the server use for "the connection went away" (the call may be retried).
const LOST_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '08000', '08003', '08006']);
// Deadlock and serialization failures: the transaction was rolled back, run it again.
const RERUN = new Set(['40P01', '40001']);

/**
 * Result types: int8 (epoch ms, counts) as numbers, they stay far below 2^53; jsonb with its texts
 * decoded (pg.text). Per pool, so other users of `pg` in the process keep the defaults.
 */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === types.builtins.INT8) return (v: string) => Number(v);
    if (oid === types.builtins.JSONB) {
      return (v: string) => (v.includes('\uFFFF') ? JSON.parse(v, (_k, x) => (typeof x === 'string' ? decodeText(x) : x)) : JSON.parse(v));
    }
    return types.getTypeParser(oid, format as 'text');
  },
};

/** The URL without `pool_max` (node-postgres would pass it to the server) and its value. */
export function splitPgUrl(url: string): { connectionString: string; poolMax?: number } {
  const m = /([?&])pool_max=([^&#]*)&?/.exec(url);
  if (!m) return { connectionString: url };
  const poolMax = Number(m[2]);
  if (!Number.isInteger(poolMax) || poolMax < 1) throw new Error(`pool_max must be a positive integer, got "${m[2]}"`);
  const connectionString = (url.slice(0, m.index) + (m[0].endsWith('&') ? m[1] : '') + url.slice(m.index + m[0].length)).replace(/\?$/, '');
  return { connectionString, poolMax };
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** A connection that broke under a call (server restarted, backend terminated, network reset). */
export function isLostConnection(err: unknown): boolean {
  if (LOST_CONNECTION.has(codeOf(err))) return true;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /Connection terminated|not queryable|terminating connection/i.test(message);
}

/**
 * What the parts of a PgStore share: the pool and the two ways to run SQL. Every call the store
 * makes is idempotent, so a call whose connection broke (or that lost a deadlock) runs once more
 * on a fresh connection; a second failure is thrown as the driver gave it (codes 08…, 57P0…,
 * ECONN…), for the caller to wait out.
 */
export class PgConnection {
  readonly pool: Pool;

  constructor(url: string, options: PgStoreOptions = {}) {
    const { connectionString, poolMax } = splitPgUrl(url);
    this.pool = new Pool({
      connectionString,
      max: poolMax ?? options.poolMax ?? DEFAULT_POOL_MAX,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'wa-sync',
      types: TYPES,
    });
    // An idle connection the server dropped: the pool discards it and opens another when needed.
    // Without a listener, the pool's 'error' event would end the process.
    this.pool.on('error', () => undefined);
  }

  async query<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<{ rows: R[]; rowCount: number }> {
    return this.again(async () => {
      const res = await this.pool.query<R>(sql, params);
      return { rows: res.rows, rowCount: res.rowCount ?? 0 };
    });
  }

  /** `fn` inside BEGIN … COMMIT on one connection; rolled back on error, rerun as a whole (above). */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.again(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        broken = err as Error;
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        // A connection that failed mid-transaction is not handed out again.
        client.release(broken && isLostConnection(broken) ? broken : undefined);
      }
    });
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  private async again<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        const rerun = RERUN.has(codeOf(err)) ? attempt < 4 : isLostConnection(err) && attempt < 2;
        if (!rerun) throw err;
      }
    }
  }
}
