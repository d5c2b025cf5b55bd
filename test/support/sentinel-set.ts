import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { createServer } from 'node:net';

/**
 * Ports for the set come from below the kernel's ephemeral range (32768+), where the other tests'
 * free ports (port 0) never land. Sentinels keep probing a killed node's address: were that port
 * given to another test's private Redis, they would make it a replica of the set.
 */
async function setPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/**
 * A real Sentinel set on free ports in a temporary directory: one primary, one replica, three
 * `redis-server --sentinel` (quorum 2), failing over fast (down after 1 s). `start` returns once
 * every sentinel knows the replica and the two other sentinels: before that a failover cannot happen.
 */
export const MASTER_NAME = 'wa';

export interface SentinelSet {
  /** `redis+sentinel://…/wa`: what the services get as REDIS_URL. */
  url: string;
  /** The primary's `redis://` URL at start (tests read the data through Sentinel, not this). */
  primaryUrl: string;
  primaryPort(): Promise<number>;
  /**
   * kill -9 of the current primary; resolves with its port once the process is gone. With
   * `loseWritesMs`, the replica is cut off that long before (frozen, its link killed): what the
   * services write meanwhile is on the primary only and lost with it, as asynchronous replication
   * can lose the newest writes. `marker` is written then, to check the loss afterwards.
   */
  killPrimary(options?: { loseWritesMs?: number; marker?: string }): Promise<number>;
  /**
   * Starts a redis-server again on the port of a killed node, empty: the sentinels make it a replica
   * of the current primary. Resolves once it is in sync and every sentinel counts it again.
   */
  revive(port: number): Promise<void>;
  /** Resolves with the new primary's port once the sentinels agree on one other than `oldPort`. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

interface Node {
  port: number;
  child: ChildProcess;
}

const BASE = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0'];

/**
 * Each node's own directory: a replica's full sync writes dump.rdb into it, and a node started
 * in the repository root would leave it there for every later redis-server to load.
 */
function nodeDir(dir: string, port: number): string {
  const d = join(dir, `node-${port}`);
  mkdirSync(d, { recursive: true });
  return d;
}

function spawnRedis(args: string[], readyLine: RegExp): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (readyLine.test(out)) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server ${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

async function ask<T>(port: number, fn: (r: IORedis) => Promise<T>): Promise<T> {
  const r = new IORedis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`sentinel set: ${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const stopNode = (n: Node, signal: NodeJS.Signals = 'SIGTERM') =>
  new Promise<void>((resolve) => {
    if (n.child.exitCode !== null || n.child.signalCode !== null) return resolve();
    n.child.once('exit', () => resolve());
    n.child.kill(signal);
  });

export async function startSentinelSet(): Promise<SentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-sentinel-'));
  const data: Node[] = [];
  const sentinels: Node[] = [];
  try {
    const p0 = await setPort();
    data.push({ port: p0, child: await spawnRedis(['--port', String(p0), ...BASE, '--dir', nodeDir(dir, p0)], /Ready to accept connections/) });
    const p1 = await setPort();
    data.push({ port: p1, child: await spawnRedis(['--port', String(p1), ...BASE, '--dir', nodeDir(dir, p1), '--replicaof', '127.0.0.1', String(p0)], /Ready to accept connections/) });
    for (let i = 0; i < 3; i++) {
      const port = await setPort();
      const conf = join(dir, `sentinel-${i}.conf`);
      // Sentinel rewrites its config file: each needs its own, writable.
      writeFileSync(conf, [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${p0} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 3000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'));
      sentinels.push({ port, child: await spawnRedis([conf, '--sentinel'], /Sentinel ID is|monitor master/) });
    }
    await until('the replica in sync', () => ask(p1, async (r) => /master_link_status:up/.test(await r.info('replication'))), 30_000);
    // Discovery: each sentinel sees the replica (from the primary's INFO) and the others (hello channel).
    await until('sentinels discovering the replica and each other', async () => {
      for (const s of sentinels) {
        const ok = await ask(s.port, async (r) => {
          const replicas = (await r.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
          const peers = (await r.call('SENTINEL', 'SENTINELS', MASTER_NAME)) as string[][];
          const replicaUp = replicas.some((fields) => fields.includes(String(p1)) && !fields.some((f) => /s_down|disconnected/.test(f)));
          return replicaUp && peers.length === 2;
        });
        if (!ok) return false;
      }
      return true;
    }, 60_000);
  } catch (e) {
    await Promise.all([...sentinels, ...data].map((n) => stopNode(n, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const hosts = sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  const primaryPort = () =>
    until('a primary address', () => ask(sentinels[0].port, async (r) => {
      const [, port] = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
      return Number(port);
    }), 10_000);

  return {
    url: `redis+sentinel://${hosts}/${MASTER_NAME}`,
    primaryUrl: `redis://127.0.0.1:${data[0].port}`,
    primaryPort,
    async killPrimary(options = {}) {
      const port = await primaryPort();
      const node = data.find((n) => n.port === port);
      if (!node) throw new Error(`sentinel set: no node on ${port}`);
      const replica = data.find((n) => n !== node && n.child.exitCode === null && n.child.signalCode === null);
      const lose = options.loseWritesMs && replica;
      if (lose) {
        // Frozen, it cannot reconnect; with its link killed, nothing more reaches it.
        replica.child.kill('SIGSTOP');
        await ask(port, async (r) => {
          await r.call('CLIENT', 'KILL', 'TYPE', 'replica');
          if (options.marker) await r.set(options.marker, '1');
        });
        await new Promise((r) => setTimeout(r, options.loseWritesMs));
      }
      await stopNode(node, 'SIGKILL');
      if (lose) replica.child.kill('SIGCONT');
      return port;
    },
    async revive(port) {
      const node = data.find((n) => n.port === port);
      if (!node) throw new Error(`sentinel set: no node on ${port}`);
      if (node.child.exitCode === null && node.child.signalCode === null) return;
      node.child = await spawnRedis(['--port', String(port), ...BASE, '--dir', nodeDir(dir, port)], /Ready to accept connections/);
      await until('the revived node in sync as a replica', () => ask(port, async (r) => /role:slave[\s\S]*master_link_status:up/.test(await r.info('replication'))), 60_000);
      await until('the sentinels counting the revived replica', async () => {
        for (const s of sentinels) {
          const ok = await ask(s.port, async (r) => {
            const replicas = (await r.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
            return replicas.some((fields) => fields.includes(String(port)) && !fields.some((f) => /s_down|disconnected/.test(f)));
          });
          if (!ok) return false;
        }
        return true;
      }, 60_000);
    },
    async waitForFailover(oldPort, timeoutMs = 30_000) {
      // Every sentinel names the new primary, and it answers as one.
      return until('the failover', async () => {
        const ports = await Promise.all(sentinels.map((s) => ask(s.port, async (r) => {
          const [, port] = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as [string, string];
          return Number(port);
        })));
        if (ports.some((p) => p !== ports[0] || p === oldPort)) return null;
        const role = await ask(ports[0], (r) => r.call('ROLE') as Promise<unknown[]>);
        return role[0] === 'master' ? ports[0] : null;
      }, timeoutMs);
    },
    async stop() {
      await Promise.all([...sentinels, ...data].map((n) => stopNode(n)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
