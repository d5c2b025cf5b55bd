#!/usr/bin/env node
/**
 * `npm start`: runs wa-sync as three processes (api, session-runner, sync-workers) with a private
 * redis-server when REDIS_URL is unset. Ctrl-C (or SIGTERM) stops them all, Redis last.
 * Expects a build (`npm run build`, which `npm start` runs first).
 */
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// DATA_DIR: where the SQLite file and the private Redis keep their data.
const dataDir = path.resolve(root, process.env.DATA_DIR ?? 'data');
const SERVICES = ['sync-workers', 'session-runner', 'api'];
const STOP_DEADLINE_MS = 30_000;

const children = new Map();
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

function startService(name, env) {
  const main = path.join(root, 'services', name, 'dist', 'main.js');
  if (!fs.existsSync(main)) {
    say(`${path.relative(root, main)} is missing: run npm run build (npm start does it)`);
    return stop(1);
  }
  const child = spawn(process.execPath, [main], { stdio: 'inherit', env });
  children.set(name, child);
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? `code ${code}`}): stopping everything`);
      void stop(1);
    }
  });
}

async function waitForApi(url) {
  for (let i = 0; i < 600 && !stopping; i++) {
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
  env.REDIS_URL ??= await startRedis();
  if (!process.env.API_KEY) say('API_KEY is not set: the API is open to anyone who can reach it');
  for (const name of SERVICES) startService(name, env);
  const host = env.HOST ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${env.PORT ?? 3000}`;
  if (await waitForApi(url)) say(`wa-sync is running at ${url}  (WebSocket: ${url.replace('http', 'ws')}/ws) — Ctrl-C to stop`);
  else if (!stopping) {
    say(`the API did not answer ${url}/healthz within 60 s: stopping (see the services' output above)`);
    void stop(1);
  }
}

main().catch((err) => {
  say(`failed to start: ${err.stack ?? err}`);
  void stop(1);
});
