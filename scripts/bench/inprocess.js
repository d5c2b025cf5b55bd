'use strict';
/**
 * Baselines that run inside the bench process, on the same simulated account as the product:
 * - rawStore: the product's SqliteStore called directly (upsertChats, then one upsertMessages
 *   per chat, back to back), rows generated before the clock starts;
 * - rawSqlite: the same rows into a minimal table (same columns, primary key only, no secondary
 *   index, no bookkeeping), same pragmas, one transaction per chat;
 * - seedLoop: the seed's algorithm written literally (for each chat: fetch, then save) on the
 *   product's simulated engine and store, at the given fetch latency.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const dist = (p) => require(path.join(root, p));

function tmpDb(tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wa-sync-bench-${tag}-`));
  return { file: path.join(dir, 'bench.db'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function dataset(chats, messagesPerChat, seed = 1) {
  const { SimulatedAccount } = dist('services/session-runner/dist/engine/simulated.account');
  const account = new SimulatedAccount({ seed, chats, messagesPerChat });
  const list = account.listChats();
  return { chats: list, batches: list.map((c) => ({ chatId: c.id, messages: account.latestMessages(c.id, messagesPerChat) })) };
}

async function rawStore(data, sessionId = 'bench') {
  const { SqliteStore } = dist('packages/shared/dist/store/sqlite.store');
  const db = tmpDb('store');
  const store = new SqliteStore(db.file);
  await store.init();
  // Per-transaction sizes: rows written per commit (one chat's batch) and the time of each.
  const txMs = [];
  const start = performance.now();
  await store.upsertChats(sessionId, data.chats);
  let messages = 0;
  for (const b of data.batches) {
    const t0 = performance.now();
    await store.upsertMessages(sessionId, b.chatId, b.messages);
    txMs.push(performance.now() - t0);
    messages += b.messages.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const bytes = fs.statSync(db.file).size + (fs.existsSync(`${db.file}-wal`) ? fs.statSync(`${db.file}-wal`).size : 0);
  await store.close();
  db.cleanup();
  txMs.sort((a, b) => a - b);
  return { seconds, messages, perSecond: messages / seconds, txRows: data.batches[0]?.messages.length ?? 0, txMs, bytes };
}

async function rawSqlite(data, sessionId = 'bench') {
  const Database = require('better-sqlite3');
  const { applyPragmas } = dist('packages/shared/dist/store/sqlite.schema');
  const db = tmpDb('sqlite');
  const conn = new Database(db.file);
  applyPragmas(conn, 10_000);
  conn.exec(`CREATE TABLE messages (session_id TEXT NOT NULL, chat_id TEXT NOT NULL, id TEXT NOT NULL, from_me INTEGER NOT NULL,
    author TEXT, body TEXT NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL, ack INTEGER NOT NULL, has_media INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat_id, id))`);
  const insert = conn.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const tx = conn.transaction((chatId, msgs) => {
    for (const m of msgs) insert.run(sessionId, chatId, m.id, m.fromMe ? 1 : 0, m.author, m.body, m.type, Date.parse(m.timestamp), m.ack, m.hasMedia ? 1 : 0);
  });
  const start = performance.now();
  let messages = 0;
  for (const b of data.batches) {
    tx.immediate(b.chatId, b.messages);
    messages += b.messages.length;
  }
  const seconds = (performance.now() - start) / 1000;
  conn.close();
  db.cleanup();
  return { seconds, messages, perSecond: messages / seconds };
}

/** The seed's loop: list chats, then for each chat fetch its messages and save them, one at a time. */
async function seedLoop({ chats, messagesPerChat, latencyMs, seed = 1 }) {
  const { SimulatedEngine } = dist('services/session-runner/dist/engine/simulated.engine');
  const { SqliteStore } = dist('packages/shared/dist/store/sqlite.store');
  const engine = new SimulatedEngine({ chats, messagesPerChat, fetchLatencyMs: latencyMs, seed, autoScanMs: 0 });
  const client = engine.createClient('bench');
  const ready = new Promise((r) => client.once('ready', r));
  await client.start();
  await ready;
  const db = tmpDb('seed');
  const store = new SqliteStore(db.file);
  await store.init();
  const start = performance.now();
  const list = await client.getChats();
  await store.upsertChats('bench', list);
  let messages = 0;
  for (const chat of list) {
    const batch = await client.fetchMessages(chat.id, { limit: messagesPerChat });
    await store.upsertMessages('bench', chat.id, batch);
    messages += batch.length;
  }
  const seconds = (performance.now() - start) / 1000;
  await client.stop({ logout: false });
  await store.close();
  db.cleanup();
  return { seconds, messages };
}

module.exports = { dataset, rawStore, rawSqlite, seedLoop };
