#!/usr/bin/env node
/**
 * `npm start`: runs wa-sync as processes — the api, SESSION_RUNNERS session runners and
 * SYNC_WORKERS sync workers (default 1 each) — with a private redis-server when REDIS_URL is
 * unset. It supervises them: a child that dies is started again after a short backoff (logged),
 * so a crash (or kill -9) of any one does not stop the product. Ctrl-C (or SIGTERM) stops them
 * all, Redis last. Expects a build (`npm run build`, which `npm start` runs first).
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// DATA_DIR: where the SQLite file and the private Redis keep their data.
const dataDir = path.resolve(root, process.env.DATA_DIR ?? 'data');
const STOP_DEADLINE_MS = 30_000;
/** Restart backoff: doubles from the first delay up to the max; reset once a child ran this long. */
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const HEALTHY_AFTER_MS = 60_000;

/**
 * V8 heap settings of the two services with a memory goal (docs/benchmarks.md, "5. Memory of the
 * processes"; docker-compose.yml gives the same). On a machine with a few GB V8 lets the young
 * generation grow to 32 MiB and the old one to 4x its live size between full GCs: a 2,000-chat
 * sync then peaked at 200-350 MiB in the runner, nearly all garbage. A smaller semi-space and a
 * bounded growth keep it near the live size, for a few % more GC time. A flag given in
 * NODE_OPTIONS wins over ours.
 */
const NODE_FLAGS = {
  'session-runner': ['--max-semi-space-size=4', '--heap-growing-percent=25'],
  'sync-workers': ['--max-semi-space-size=8', '--heap-growing-percent=50'],
};

function nodeFlags(service) {
  const given = process.env.NODE_OPTIONS ?? '';
  return (NODE_FLAGS[service] ?? []).filter((flag) => !given.includes(flag.split('=')[0]));
}

function count(name) {
  const raw = process.env[name] ?? '1';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    process.stderr.write(`[wa-sync] ${name} must be an integer from 0 to 64, got ${JSON.stringify(raw)}\n`);
    process.exit(1);
  }
  return n;
}

const children = new Map();
const restarts = new Set();
let redis = null;
let stopping = false;

function say(line) {
  process.stderr.write(`[wa-sync] ${line}\n`);
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null;
}

/** redis-server from PATH; installed with apt-get when we are root on Debian/Ubuntu. */
function findRedisServer() {
  let bin = which('redis-server');
  if (bin) return bin;
  if (process.getuid && process.getuid() === 0 && which('apt-get')) {
    say('redis-server not found: installing it with apt-get (Debian/Ubuntu, as root)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'inherit', env });
    bin = which('redis-server');
    if (bin) return bin;
  }
  say('redis-server is required: install it (Debian/Ubuntu: sudo apt-get install -y redis-server), or set REDIS_URL to an existing Redis');
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A private Redis on a free port, data under ./data/redis, configured as BullMQ wants. */
async function startRedis() {
  const bin = findRedisServer();
  const port = await freePort();
  const dir = path.join(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'];
  redis = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    redis.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
    redis.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}:\n${out}`)));
  });
  redis.stdout.resume();
  redis.once('exit', (code) => {
    if (!stopping) {
      say(`redis-server exited unexpectedly (code ${code})`);
      void stop(1);
    }
  });
  say(`private redis-server on 127.0.0.1:${port} (data in ${path.relative(root, dir)})`);
  return `redis://127.0.0.1:${port}`;
}

/** Starts `service` as child `label` and keeps it running: restarted after a backoff when it dies. */
function startService(service, label, env, delayMs = RESTART_FIRST_MS) {
  const main = path.join(root, 'services', service, 'dist', 'main.js');
  if (!fs.existsSync(main)) {
    say(`${path.relative(root, main)} is missing: run npm run build (npm start does it)`);
    return stop(1);
  }
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...nodeFlags(service), main], { stdio: 'inherit', env });
  children.set(label, child);
  say(`${label} started (pid ${child.pid})`);
  child.once('exit', (code, signal) => {
    children.delete(label);
    if (stopping) return;
    // A child that ran for a while starts again quickly; one that keeps crashing waits longer.
    const delay = Date.now() - startedAt > HEALTHY_AFTER_MS ? RESTART_FIRST_MS : delayMs;
    say(`${label} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}): restarting it in ${delay} ms`);
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (stopping) return;
      startService(service, label, env, Math.min(delay * 2, RESTART_MAX_MS));
    }, delay);
    restarts.add(timer);
  });
}

async function waitForApi(url, attempts = 600) {
  for (let i = 0; i < attempts && !stopping; i++) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function waitExit(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  for (const timer of restarts) clearTimeout(timer);
  const running = [...children.values()];
  for (const child of running) child.kill('SIGTERM');
  const timer = setTimeout(() => running.forEach((c) => c.kill('SIGKILL')), STOP_DEADLINE_MS);
  await Promise.all(running.map(waitExit));
  clearTimeout(timer);
  if (redis) {
    redis.kill('SIGTERM');
    await waitExit(redis);
  }
  say('stopped');
  process.exit(code);
}

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void stop(0));
  fs.mkdirSync(dataDir, { recursive: true });
  const env = { ...process.env };
  env.STORE_URL ??= `sqlite:${path.join(dataDir, 'wa-sync.db')}`;
  // Every runner reads the same auth directory: a session moves between runners without a new QR.
  env.WA_AUTH_DIR ??= path.join(dataDir, 'auth');
  env.MEDIA_URL ??= `file:${path.join(dataDir, 'media')}`;
  env.SIM_KEEP_AUTH ??= 'true';
  const runners = count('SESSION_RUNNERS');
  const workers = count('SYNC_WORKERS');
  env.REDIS_URL ??= await startRedis();
  if (!process.env.API_KEY) say('API_KEY is not set: the API is open to anyone who can reach it');
  for (let i = 1; i <= workers; i++) startService('sync-workers', workers > 1 ? `sync-workers#${i}` : 'sync-workers', env);
  for (let i = 1; i <= runners; i++) startService('session-runner', runners > 1 ? `session-runner#${i}` : 'session-runner', env);
  startService('api', 'api', env);
  say(`supervising ${runners} session runner(s), ${workers} sync worker(s) and the api`);
  const host = env.HOST ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${env.PORT ?? 3000}`;
  const running = () => say(`wa-sync is running at ${url}  (WebSocket: ${url.replace('http', 'ws')}/ws) — Ctrl-C to stop`);
  if (await waitForApi(url)) return running();
  // Services wait for Redis and the store instead of exiting, so this is a crash loop or a port
  // taken: keep supervising (restarts back off) rather than stop everything.
  if (stopping) return;
  say(`the API does not answer ${url}/healthz after 60 s: still supervising (see the services' output above)`);
  if (await waitForApi(url, Infinity)) running();
}

main().catch((err) => {
  say(`failed to start: ${err.stack ?? err}`);
  void stop(1);
});
