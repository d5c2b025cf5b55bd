#!/usr/bin/env node
/**
 * Store write benchmark: upserts/second for the shape of a first sync (every chat's recent
 * messages, one batch per chat, a few batches in flight like a sync worker), then the same
 * batches again (all existing: a re-sync). Prints figures only.
 *
 *   npx tsc -p packages/shared && node scripts/bench-store.js [--chats 2000] [--messages 100]
 *     [--concurrency 8] [--body 120] [--sqlite ./bench.db]
 *   MONGO_URL=mongodb://127.0.0.1:27017 node scripts/bench-store.js   # adds MongoDB (scratch db, dropped)
 *
 * Env equivalents: BENCH_CHATS, BENCH_MESSAGES, BENCH_CONCURRENCY, BENCH_BODY.
 */
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');

const dist = join(__dirname, '..', 'packages', 'shared', 'dist', 'store');
let SqliteStore;
let MongoStore;
try {
  ({ SqliteStore } = require(join(dist, 'sqlite.store.js')));
  ({ MongoStore } = require(join(dist, 'mongo.store.js')));
} catch (err) {
  console.error(`cannot load the built store from ${dist} (${err.message}); run: npx tsc -p packages/shared`);
  process.exit(1);
}

function option(name, envName, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i !== -1 ? process.argv[i + 1] : process.env[envName];
  if (raw === undefined) return fallback;
  if (typeof fallback === 'number') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${name} / ${envName} must be a positive integer, got ${raw}`);
      process.exit(2);
    }
    return n;
  }
  return raw;
}

const CHATS = option('chats', 'BENCH_CHATS', 2000);
const PER_CHAT = option('messages', 'BENCH_MESSAGES', 100);
const CONCURRENCY = option('concurrency', 'BENCH_CONCURRENCY', 8);
const BODY = option('body', 'BENCH_BODY', 120);
const SQLITE_FILE = option('sqlite', 'BENCH_SQLITE', '');

/** A sync's worth of data, built before timing starts. */
function dataset() {
  const now = Date.now();
  const chats = [];
  const batches = [];
  for (let c = 0; c < CHATS; c += 1) {
    const id = c % 10 === 0 ? `1203630${String(c).padStart(11, '0')}@g.us` : `55119${String(c).padStart(8, '0')}@c.us`;
    const msgs = [];
    for (let m = 0; m < PER_CHAT; m += 1) {
      const fromMe = m % 3 === 0;
      msgs.push({
        id: `${fromMe}_${id}_3EB0${c.toString(16).padStart(6, '0')}${m.toString(16).padStart(6, '0')}`,
        chatId: id,
        fromMe,
        author: id.endsWith('@g.us') && !fromMe ? `55119${String(m).padStart(8, '0')}@c.us` : null,
        body: `msg ${m} of ${id} `.padEnd(BODY, 'lorem ipsum dolor sit amet '),
        type: 'chat',
        timestamp: new Date(now - (c * PER_CHAT + (PER_CHAT - m)) * 1000).toISOString(),
        ack: 2,
        hasMedia: m % 17 === 0,
      });
    }
    chats.push({ id, name: `Chat ${c}`, isGroup: id.endsWith('@g.us'), unreadCount: c % 4, lastMessageAt: msgs[msgs.length - 1].timestamp });
    batches.push({ chatId: id, messages: msgs });
  }
  return { chats, batches };
}

/** Upserts every batch with CONCURRENCY in flight; returns messages/second and the counts. */
async function pass(store, sessionId, batches) {
  let next = 0;
  let inserted = 0;
  let existing = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < batches.length) {
      const b = batches[next++];
      const r = await store.upsertMessages(sessionId, b.chatId, b.messages);
      inserted += r.inserted;
      existing += r.existing;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: (inserted + existing) / seconds, seconds, inserted, existing };
}

async function bench(label, store, data, cleanup) {
  await store.init();
  const sessionId = `bench-${Date.now().toString(36)}`;
  await store.ensureSession(sessionId);
  await store.upsertChats(sessionId, data.chats);
  const first = await pass(store, sessionId, data.batches);
  const again = await pass(store, sessionId, data.batches);
  const page = performance.now();
  await store.listChats(sessionId, { limit: 50 });
  await store.listMessages(sessionId, data.batches[0].chatId, { limit: 50 });
  const readMs = performance.now() - page;
  const rssMb = process.memoryUsage().rss / 1024 / 1024;
  await cleanup();
  return { label, first, again, readMs, rssMb };
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}

async function main() {
  const data = dataset();
  const total = CHATS * PER_CHAT;
  const baseMb = process.memoryUsage().rss / 1024 / 1024;
  console.log(`wa-sync store bench: ${fmt(CHATS)} chats × ${fmt(PER_CHAT)} messages = ${fmt(total)} messages, ` +
    `${CONCURRENCY} batches in flight, ~${BODY}-char bodies, node ${process.version}`);
  console.log(`rss with the data set in memory, before any store: ${baseMb.toFixed(0)} MB`);
  const rows = [];

  const dir = SQLITE_FILE ? null : mkdtempSync(join(tmpdir(), 'wa-sync-bench-'));
  const file = SQLITE_FILE || join(dir, 'bench.db');
  const sqlite = new SqliteStore(file);
  rows.push(await bench('sqlite', sqlite, data, async () => {
    await sqlite.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }));

  if (process.env.MONGO_URL) {
    const dbName = `wa_sync_bench_${Date.now().toString(36)}`;
    const mongo = new MongoStore(process.env.MONGO_URL, { dbName });
    rows.push(await bench('mongodb', mongo, data, async () => {
      await mongo.close();
      const { MongoClient } = require('mongodb');
      const client = new MongoClient(process.env.MONGO_URL);
      await client.db(dbName).dropDatabase();
      await client.close();
    }));
  } else {
    console.log('mongodb: skipped (set MONGO_URL to include it)');
  }

  const head = ['store', 'first sync msg/s', '(s)', 're-sync msg/s', '(s)', 'inserted', 'existing', 'read 2 pages ms', 'rss MB'];
  const body = rows.map((r) => [
    r.label,
    fmt(r.first.perSecond),
    r.first.seconds.toFixed(2),
    fmt(r.again.perSecond),
    r.again.seconds.toFixed(2),
    fmt(r.first.inserted),
    fmt(r.again.existing),
    r.readMs.toFixed(1),
    r.rssMb.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const row of body) console.log(line(row));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
