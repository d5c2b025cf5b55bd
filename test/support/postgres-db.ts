import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * The PostgreSQL server of this machine and of CI (127.0.0.1:5432, user postgres, trust auth).
 * Each test run creates its own database and drops it at the end, so runs never collide.
 */
export const PG_HOST_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** Whether something answers on the server's port (checked synchronously, for describe()). */
export function postgresAnswers(): boolean {
  const { hostname: host, port } = new URL(PG_HOST_URL);
  const probe = `require('node:net').connect(${Number(port || 5432)}, ${JSON.stringify(host)})
    .on('connect', () => process.exit(0)).on('error', () => process.exit(1)).setTimeout(2000, () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0;
}

/**
 * `describe` for tests that need PostgreSQL: runs them when the server answers; otherwise skips
 * them with a clear line, except in CI (`CI=true`, or `PG_TEST_REQUIRED=1` as .ci/run sets),
 * where a missing server is a failure.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  if (postgresAnswers()) return describe(name, body);
  if (process.env.CI === 'true' || process.env.PG_TEST_REQUIRED === '1') {
    describe(name, () => {
      it('needs the PostgreSQL server of CI', () => {
        throw new Error(`nothing answers at ${PG_HOST_URL} (CI=true: PostgreSQL tests must run, not skip)`);
      });
    });
    return;
  }
  process.stderr.write(`PostgreSQL tests skipped: nothing answers at ${PG_HOST_URL} (set PG_TEST_URL, or run a server)\n`);
  describe.skip(name, body);
}

export interface TestDatabase {
  name: string;
  /** postgres://…/<name>, for a store or a service's STORE_URL. */
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `${PG_HOST_URL}/postgres` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new empty database `wa_sync_test_<label>_<pid>_<random>`; `drop()` removes it (connections included). */
export async function createTestDatabase(label = 'run'): Promise<TestDatabase> {
  const name = `wa_sync_test_${label.replace(/\W/g, '_')}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: `${PG_HOST_URL}/${name}`,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Ends every server connection to the database (what an operator or a crash of the server would do). */
export async function terminateConnections(database: string): Promise<number> {
  const { rows } = await admin((c) =>
    c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid()) t`,
      [database],
    ),
  );
  return rows[0].n;
}
