import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './redis-server';

const ROOT = resolve(__dirname, '../..');

export interface ServiceStack {
  url: string;
  wsUrl: string;
  dataDir: string;
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
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env };
  delete childEnv.REDIS_URL;
  delete childEnv.STORE_URL;
  delete childEnv.API_KEY;
  Object.assign(childEnv, env);
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'scripts/start.js')], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c) => (out += c));
  child.stderr?.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`start.js exited with ${child.exitCode}:\n${out}`);
    if (out.includes('wa-sync is running at')) break;
    if (Date.now() > deadline) throw new Error(`wa-sync did not start in time:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    dataDir,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
