#!/usr/bin/env node
/**
 * Sync benchmark: the whole product (start.js: private Redis + three services) syncing a simulated
 * account, measured from `ready` to `done` over the WebSocket as a frontend sees it; and, as the
 * baseline in the same run, the same messages upserted straight into a SQLite store in this
 * process (no queues: the ceiling the pipeline is measured against).
 *
 *   npm run build && node scripts/bench-sync.js --chats 2000 --messages 100 --latency 0
 *
 * Prints figures; asserts nothing.
 */
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');

const { freePort, percentile } = require('./bench/util');

const root = path.resolve(__dirname, '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const CHATS = Number(args.chats ?? 2000);
const MESSAGES = Number(args.messages ?? 100);
const LATENCY = Number(args.latency ?? 0);
const CONCURRENCY = Number(args.concurrency ?? 8);



/** RSS (MiB) of start.js's children: the three services and Redis. */
function childrenRss(pid) {
  try {
    const out = execFileSync('ps', ['--ppid', String(pid), '-o', 'rss=,args='], { encoding: 'utf8' });
    return out.trim().split('\n').map((line) => {
      const [rss, ...cmd] = line.trim().split(/\s+/);
      const name = cmd.join(' ').match(/services\/([\w-]+)\//)?.[1] ?? (cmd[0].includes('redis') ? 'redis' : cmd[0]);
      return { name, mib: Number(rss) / 1024 };
    });
  } catch {
    return [];
  }
}

async function pipeline() {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-bench-'));
  const env = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', SIM_CHATS: String(CHATS), SIM_MESSAGES_PER_CHAT: String(MESSAGES), SIM_FETCH_LATENCY_MS: String(LATENCY), SIM_AUTO_SCAN_MS: '100', SYNC_CONCURRENCY: String(CONCURRENCY), SYNC_LIMIT_PER_CHAT: String(MESSAGES) };
  // A private Redis and store, and an open API (the bench talks to it without a key).
  delete env.REDIS_URL;
  delete env.STORE_URL;
  delete env.API_KEY;
  const child = spawn(process.execPath, [path.join(root, 'scripts/start.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    return await measure(child, port);
  } finally {
    // Also on a failure: start.js takes its Redis and services down with it.
    if (child.exitCode === null) child.kill('SIGINT');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measure(child, port) {
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const deadline = Date.now() + 120_000;
  while (!err.includes('wa-sync is running')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`wa-sync did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const t = { chats: [] };
  let peak = [];
  const sampler = setInterval(() => {
    const now = childrenRss(child.pid);
    if (now.reduce((s, x) => s + x.mib, 0) > peak.reduce((s, x) => s + x.mib, 0)) peak = now;
  }, 500);
  const done = new Promise((resolve, reject) => {
    ws.once('close', () => reject(new Error(`the WebSocket closed before the sync was done:\n${err}`)));
    ws.on('message', (raw) => {
      const { event, data } = JSON.parse(raw);
      const now = performance.now();
      if (event === 'ready') t.ready = now;
      if (event === 'sync_chats' && data.currentChat === 0) t.first = now;
      if (event === 'sync_chats' && data.currentChat > 0) t.chats.push(now);
      if (event === 'sync_chats' && data.done) resolve(data);
    });
  });
  ws.send(JSON.stringify({ event: 'join-session', data: { sessionId: 'bench' } }));
  await fetch(`http://127.0.0.1:${port}/whatsapp-web/session/bench`, { method: 'POST' });
  const last = await done;
  clearInterval(sampler);
  ws.close();
  const seconds = (t.chats[t.chats.length - 1] - t.ready) / 1000;
  const sinceReady = t.chats.map((x) => x - t.ready).sort((a, b) => a - b);
  return {
    seconds,
    messages: last.totalMessagesSynced,
    chatsFailed: last.chatsFailed,
    firstEventMs: t.first - t.ready,
    chatDoneMs: { p50: percentile(sinceReady, 50), p95: percentile(sinceReady, 95), p99: percentile(sinceReady, 99) },
    peak,
  };
}

async function baseline() {
  const { SqliteStore } = require(path.join(root, 'packages/shared/dist/store/sqlite.store'));
  const { SimulatedAccount } = require(path.join(root, 'services/session-runner/dist/engine/simulated.account'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-bench-base-'));
  const store = new SqliteStore(path.join(dir, 'base.db'));
  await store.init();
  const account = new SimulatedAccount({ seed: 1, chats: CHATS, messagesPerChat: MESSAGES });
  const chats = account.listChats();
  const start = performance.now();
  await store.upsertChats('bench', chats);
  let messages = 0;
  for (const chat of chats) {
    const batch = account.latestMessages(chat.id, MESSAGES);
    await store.upsertMessages('bench', chat.id, batch);
    messages += batch.length;
  }
  const seconds = (performance.now() - start) / 1000;
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { seconds, messages, rssMib: process.memoryUsage().rss / 1024 / 1024 };
}

async function main() {
  console.log(`sync benchmark: ${CHATS} chats × ${MESSAGES} messages, fetch latency ${LATENCY} ms, SYNC_CONCURRENCY ${CONCURRENCY}, ${os.cpus().length} cores\n`);
  const base = await baseline();
  const run = await pipeline();
  const row = (label, a, b) => console.log(`${label.padEnd(34)}${String(a).padStart(22)}${String(b).padStart(26)}`);
  row('', 'wa-sync (ready → done)', 'baseline (direct upsert)');
  row('seconds', run.seconds.toFixed(2), base.seconds.toFixed(2));
  row('messages stored', run.messages, base.messages);
  row('messages / s', Math.round(run.messages / run.seconds), Math.round(base.messages / base.seconds));
  row('chats / s', Math.round(CHATS / run.seconds), Math.round(CHATS / base.seconds));
  row('chats failed', run.chatsFailed, 0);
  row('first sync_chats after ready (ms)', run.firstEventMs.toFixed(0), '-');
  row('chat done after ready p50/p95/p99 (s)', ['p50', 'p95', 'p99'].map((p) => (run.chatDoneMs[p] / 1000).toFixed(2)).join('/'), '-');
  row('peak RSS (MiB)', run.peak.map((p) => `${p.name} ${p.mib.toFixed(0)}`).join(', ') || '?', `${base.rssMib.toFixed(0)} (one process)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
