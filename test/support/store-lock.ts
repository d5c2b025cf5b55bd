import { spawn } from 'node:child_process';
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
