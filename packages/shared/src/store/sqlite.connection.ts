import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { applyPragmas, migrate } from './sqlite.schema';
import { prepareStatements, type Statements } from './sqlite.statements';
import { StoreBusyError } from './store.interface';

export interface SqliteStoreOptions {
  /**
   * How long a statement waits for another process's lock before SQLITE_BUSY. better-sqlite3 waits
   * synchronously: the whole event loop stalls meanwhile. With `lockWaitMs`, keep it tiny.
   */
  busyTimeoutMs?: number;
  /**
   * When set, a write that finds the lock taken is retried asynchronously (backoff 5 ms → 200 ms)
   * until this deadline, then fails with StoreBusyError: the event loop never waits on the lock.
   * `busyTimeoutMs` defaults to 0 then (migrations at init still wait up to 10 s).
   */
  lockWaitMs?: number;
}

const INIT_BUSY_TIMEOUT_MS = 10_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * What the parts of a SqliteStore share: the database handle, its prepared statements (after
 * `init()`), and the write wrapper that waits out another process's lock.
 */
export class SqliteConnection {
  readonly db: Database.Database;
  private statements: Statements | null = null;

  /** `path` is a file (its directory is created) or `:memory:`. */
  constructor(
    path: string,
    private readonly options: SqliteStoreOptions,
  ) {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(resolve(path)), { recursive: true });
    this.db = new Database(path);
    applyPragmas(this.db, options.lockWaitMs === undefined ? (options.busyTimeoutMs ?? INIT_BUSY_TIMEOUT_MS) : INIT_BUSY_TIMEOUT_MS);
  }

  init(): void {
    migrate(this.db);
    if (this.options.lockWaitMs !== undefined) this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.options.busyTimeoutMs ?? 0))}`);
    this.statements = prepareStatements(this.db);
  }

  close(): void {
    this.statements = null;
    if (this.db.open) this.db.close();
  }

  get s(): Statements {
    if (!this.statements) throw new Error('SqliteStore: call init() first (or the store is closed)');
    return this.statements;
  }

  /**
   * Runs a write; with `lockWaitMs`, SQLITE_BUSY is retried after an async pause (the event loop
   * keeps serving) until the deadline, then StoreBusyError. A busy write changed nothing, so a
   * retry never doubles it.
   */
  async write<T>(fn: () => T): Promise<T> {
    const deadlineMs = this.options.lockWaitMs;
    if (deadlineMs === undefined) return fn();
    const started = Date.now();
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err)) throw err;
        const waited = Date.now() - started;
        if (waited + delay > deadlineMs) throw new StoreBusyError(waited);
        await sleep(delay);
      }
    }
  }
}
