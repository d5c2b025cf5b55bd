import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, type Store } from '@wa-sync/shared/store';
import { waitFor } from './wait-for';

export interface HeldLock {
  /** When the other process committed (ms since epoch): the lock is free from then on. */
  released: Promise<number>;
}

/**
 * Another process takes the SQLite write lock of `file` (BEGIN IMMEDIATE) and holds it for
 * `holdMs`, as a long write of another service would. Resolves once the lock is held.
 */
export async function holdSqliteLock(file: string, holdMs: number): Promise<HeldLock> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(file)});
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked;');
    setTimeout(() => { db.exec('COMMIT'); process.stdout.write('released:' + Date.now() + ';'); db.close(); }, ${holdMs});
  `;
  const child = spawn(process.execPath, ['-e', script], { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve, reject) =>
    child.on('close', (code) => {
      const at = /released:(\d+);/.exec(out)?.[1];
      if (code === 0 && at) resolve(Number(at));
      else reject(new Error(`lock holder exited ${code}: ${err}`));
    }),
  );
  exited.catch(() => undefined);
  await waitFor('the other process to take the lock', () => out.includes('locked;') || err, 30_000);
  if (!out.includes('locked;')) throw new Error(`lock holder failed: ${err}`);
  return { released: exited };
}

/**
 * A SQLite store in a temporary directory for one test file, opened as a service opens it but with
 * a short lock wait (so a held lock outlasts it: StoreBusyError). Registers its own beforeAll and
 * afterAll; read `store` and `file` inside tests.
 */
export function suiteBusyStore(lockWaitMs = 100): { readonly store: Store; readonly file: string } {
  let dir = '';
  let store: Store | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-sync-busy-store-'));
    store = await createStore(`sqlite:${join(dir, 'store.db')}`, { sqlite: { lockWaitMs } });
  });
  afterAll(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get store() {
      return store!;
    },
    get file() {
      return join(dir, 'store.db');
    },
  };
}
