'use strict';
/**
 * The bench's own redis-server (never the system one on 6379): nothing on disk, noeviction as
 * BullMQ wants. The product is started with REDIS_URL pointing here, so a restart of the product
 * keeps its queues, progress and event log, as a restart of the services does in production.
 */
const { spawn } = require('node:child_process');
const Redis = require('ioredis');
const { freePort } = require('./util');

async function startRedis() {
  const port = await freePort();
  // Its own directory: a redis-server loads any dump.rdb in its working directory at start.
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'wa-sync-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  child.stdout.removeAllListeners('data');
  child.stdout.resume();
  child.stderr.resume();
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false });
  return {
    url,
    pid: child.pid,
    client,
    /** INFO memory used_memory, bytes. */
    async usedMemory() {
      const info = await client.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    },
    /** INFO commandstats as [{ cmd, calls, usec }], most time first. */
    async commandStats() {
      const info = await client.info('commandstats');
      return info
        .split('\n')
        .map((l) => /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(l.trim()))
        .filter(Boolean)
        .map(([, cmd, calls, usec]) => ({ cmd, calls: Number(calls), usec: Number(usec) }))
        .sort((a, b) => b.usec - a.usec);
    },
    /** Synchronous last resort (bench interrupted): no waiting. */
    kill() {
      client.disconnect();
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    async stop() {
      client.disconnect();
      if (child.exitCode !== null) return;
      await new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      });
    },
  };
}

module.exports = { startRedis };
