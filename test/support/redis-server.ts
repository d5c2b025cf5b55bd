import { type ChildProcess, spawn } from 'node:child_process';
import { createRedis, type Redis } from '@wa-sync/shared/runtime';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A private redis-server on a free port, configured as production should be (noeviction), with
 * nothing on disk. Tests never touch a Redis that happens to run on the machine.
 */
export async function startRedis(options: { port?: number; aofDir?: string } = {}): Promise<PrivateRedis> {
  // A given port: a Redis "restarted" empty where the services expect it (or with its data, from `aofDir`).
  const port = options.port ?? (await freePort());
  // A directory of its own: a redis-server loads any dump.rdb in its working directory at start
  // (a replica's full sync writes one there), and the tests run from the repository root.
  const dir = options.aofDir ?? mkdtempSync(join(tmpdir(), 'wa-sync-redis-'));
  const persistence = options.aofDir ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.once('error', (err) => reject(new Error(`cannot start redis-server (is it installed?): ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          // A given aofDir is the caller's: its data outlives this server (a restart loads it).
          if (!options.aofDir) rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A private redis-server and one client for a whole test file: started before its tests and
 * stopped after them. Read `redis` and `url` inside tests (they exist from `beforeAll` on).
 */
export function suiteRedis(): { readonly redis: Redis; readonly url: string } {
  let server: PrivateRedis | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    client = createRedis(server.url);
  });
  afterAll(async () => {
    await client?.quit();
    await server?.stop();
  });
  return {
    get redis(): Redis {
      if (!client) throw new Error('suiteRedis: read it inside a test, not at load');
      return client;
    },
    get url(): string {
      if (!server) throw new Error('suiteRedis: read it inside a test, not at load');
      return server.url;
    },
  };
}
