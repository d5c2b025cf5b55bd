import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './redis-server';
import { waitFor } from './wait-for';

const ROOT = resolve(__dirname, '../..');

export interface ServiceStack {
  url: string;
  wsUrl: string;
  output(): string;
  /** SIGINT, as Ctrl-C would; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `node scripts/start.js` — what `npm start` runs after the build — with its own private Redis,
 * a temporary data directory and a free port. Needs a build (`npm test` builds first).
 */
export async function startStack(env: Record<string, string> = {}): Promise<ServiceStack> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-sync-e2e-'));
  // Exactly these settings on top of PATH/HOME: nothing exported in the shell (SIM_CHATS, API_KEY,
  // REDIS_URL…) changes what the tests see.
  const childEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env };
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'scripts/start.js')], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c) => (out += c));
  child.stderr?.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGINT');
    const code = await exited;
    rmSync(dataDir, { recursive: true, force: true });
    return code;
  };
  try {
    await waitFor(
      'wa-sync to start',
      () => {
        if (child.exitCode !== null) throw new Error(`start.js exited with ${child.exitCode}:\n${out}`);
        return out.includes('wa-sync is running at');
      },
      60_000,
      () => out,
    );
  } catch (err) {
    // start.js stops its Redis and services on SIGINT: nothing is left running.
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, output: () => out, stop };
}
