#!/usr/bin/env node
/**
 * Catch-up benchmark: the whole product (start.js and its three services) on a Redis and a SQLite
 * file this script owns, so they outlive a restart. It links a simulated account, lets the first
 * (full) sync finish, then restarts the product twice and measures the catch-up that each `ready`
 * starts:
 *   1. nothing new on the phone;
 *   2. 1% of the chats changed: the newest message of every 100th chat is taken out of the store
 *      while the product is down, which is what a chat that got a message meanwhile looks like.
 * Time: from the `ready` to the catch-up's final `sync_chats`, both read from the session's event
 * log (entry ids are Redis times). Fetches: the runner's per-session count of phone fetches.
 *
 *   npm run build && node scripts/bench-catchup.js --chats 2000 --messages 100 --latency 20
 *
 * Prints figures; asserts nothing.
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { freePort } = require('./bench/util');

const root = path.resolve(__dirname, '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const CHATS = Number(args.chats ?? 2000);
const MESSAGES = Number(args.messages ?? 100);
const LATENCY = Number(args.latency ?? 20);
const SESSION = 'bench';

const { createRedis, Keys } = require(path.join(root, 'packages/shared/dist'));
const Database = require(path.join(root, 'node_modules/better-sqlite3'));


async function startRedis(dir) {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

async function startProduct(redisUrl, storeUrl) {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-bench-catchup-run-'));
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl, STORE_URL: storeUrl, SIM_CHATS: String(CHATS), SIM_MESSAGES_PER_CHAT: String(MESSAGES),
    SIM_FETCH_LATENCY_MS: String(LATENCY), SIM_AUTO_SCAN_MS: '100', SYNC_LIMIT_PER_CHAT: String(MESSAGES),
  };
  const child = spawn(process.execPath, [path.join(root, 'scripts/start.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 120_000;
  while (!err.includes('wa-sync is running')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`wa-sync did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function getJson(url) {
  const res = await fetch(url);
  return res.ok ? res.json() : null;
}

/** The session's sync whose id differs from `previous`, once done and summarised in the store. */
async function syncDone(product, previous) {
  for (const deadline = Date.now() + 600_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const sync = await getJson(`${product.url}/whatsapp-web/session/${SESSION}/sync`);
    if (!sync || sync.syncId === previous || !sync.done) continue;
    const session = await getJson(`${product.url}/whatsapp-web/session/${SESSION}`);
    if (session?.lastSync?.syncId === sync.syncId) return sync;
  }
  throw new Error('the sync did not finish within 10 minutes');
}

/** ms from the last `ready` to the final `sync_chats` of `syncId`, from the event log's entry ids. */
async function readyToDoneMs(redis, syncId) {
  const entries = await redis.xrevrange(Keys.eventLog(SESSION), '+', '-', 'COUNT', 5000);
  let done = null;
  for (const [id, fields] of entries) {
    const entry = JSON.parse(fields[1]);
    if (entry.event === 'sync_chats' && entry.data.syncId === syncId && entry.data.done) done = Number(id.split('-')[0]);
    if (entry.event === 'ready' && done !== null) return done - Number(id.split('-')[0]);
  }
  return NaN;
}

async function fetchStats(redis) {
  const h = await redis.hgetall(Keys.fetchStats(SESSION));
  return { calls: Number(h.calls ?? 0), messages: Number(h.messages ?? 0) };
}

async function restartAndMeasure(label, ctx, previous) {
  const before = await fetchStats(ctx.redis);
  const product = await startProduct(ctx.redisServer.url, ctx.storeUrl);
  try {
    const sync = await syncDone(product, previous);
    const after = await fetchStats(ctx.redis);
    const ms = await readyToDoneMs(ctx.redis, sync.syncId);
    console.log(
      `${label.padEnd(28)} kind ${sync.kind.padEnd(9)} chats fetched ${String(sync.nChats).padStart(5)}   messages stored ${String(sync.totalMessagesSynced).padStart(7)}   ` +
        `phone fetches ${String(after.calls - before.calls).padStart(5)} (${after.messages - before.messages} messages)   ready → done ${(ms / 1000).toFixed(2)} s`,
    );
    return sync.syncId;
  } finally {
    await product.stop();
  }
}

async function main() {
  console.log(`catch-up benchmark: ${CHATS} chats × ${MESSAGES} messages, fetch latency ${LATENCY} ms, ${os.cpus().length} cores\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-bench-catchup-'));
  const redisServer = await startRedis(dir);
  const redis = createRedis(redisServer.url);
  const dbFile = path.join(dir, 'wa-sync.db');
  const ctx = { redisServer, redis, storeUrl: `sqlite:${dbFile}` };
  try {
    let product = await startProduct(redisServer.url, ctx.storeUrl);
    await fetch(`${product.url}/whatsapp-web/session/${SESSION}`, { method: 'POST' });
    const first = await syncDone(product, null);
    const firstStats = await fetchStats(redis);
    console.log(`${'first sync'.padEnd(28)} kind ${first.kind.padEnd(9)} chats fetched ${String(first.nChats).padStart(5)}   messages stored ${String(first.totalMessagesSynced).padStart(7)}   phone fetches ${String(firstStats.calls).padStart(5)}   ready → done ${((await readyToDoneMs(redis, first.syncId)) / 1000).toFixed(2)} s`);
    await product.stop();

    const quiet = await restartAndMeasure('restart, nothing new', ctx, first.syncId);

    // 1% of the chats "got a message while down": their newest stored message goes.
    const db = new Database(dbFile);
    const chats = db.prepare('SELECT id FROM chats WHERE session_id = ? ORDER BY id').all(SESSION).map((r) => r.id);
    const changed = chats.filter((_, i) => i % 100 === 0);
    const drop = db.prepare(`DELETE FROM messages WHERE rowid = (SELECT rowid FROM messages WHERE session_id = ? AND chat_id = ? ORDER BY ts DESC LIMIT 1)`);
    db.transaction(() => changed.forEach((id) => drop.run(SESSION, id)))();
    db.close();
    await restartAndMeasure(`restart, ${changed.length} chats changed`, ctx, quiet);
  } finally {
    await redis.quit();
    await redisServer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
