#!/usr/bin/env node
/**
 * Where the store's write time goes: the same first-sync rows (simulated account, one batch per
 * chat) written by variants that add one cost of the product's SqliteStore at a time, each on a
 * fresh file with the product's pragmas. Rounds are interleaved (A B C … A B C …) and the median
 * is printed, so a busy machine blurs every variant alike.
 *
 *   npm run build && node scripts/bench/store-ablation.js [--chats 2000] [--messages 100] [--rounds 3]
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Database = require('better-sqlite3');
const { dataset } = require('./inprocess');

const root = path.resolve(__dirname, '..', '..');
const { applyPragmas, migrate } = require(path.join(root, 'packages/shared/dist/store/sqlite.schema'));
const { SqliteStore } = require(path.join(root, 'packages/shared/dist/store/sqlite.store'));
const opt = (n, d) => {
  const i = process.argv.indexOf(`--${n}`);
  return i === -1 ? d : Number(process.argv[i + 1]);
};
const CHATS = opt('chats', 2000);
const MESSAGES = opt('messages', 100);
const ROUNDS = opt('rounds', 3);

const COLS = `session_id TEXT NOT NULL, chat_id TEXT NOT NULL, id TEXT NOT NULL, from_me INTEGER NOT NULL, author TEXT,
  body TEXT NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL, ack INTEGER NOT NULL, has_media INTEGER NOT NULL`;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const wf = (t) => (t === null ? null : t.replace(LONE_SURROGATE, '\uFFFD'));

/** Each variant: (db) => write(chatId, messages) run inside one IMMEDIATE transaction per chat. */
const VARIANTS = {
  'minimal: PK only, positional': (db) => {
    db.exec(`CREATE TABLE messages (${COLS}, PRIMARY KEY (session_id, chat_id, id))`);
    const ins = db.prepare('INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING');
    return (chatId, msgs) => {
      for (const m of msgs) ins.run('bench', chatId, m.id, m.fromMe ? 1 : 0, m.author, m.body, m.type, Date.parse(m.timestamp), m.ack, m.hasMedia ? 1 : 0);
    };
  },
  '+ messages_by_time index': (db) => {
    db.exec(`CREATE TABLE messages (${COLS}, PRIMARY KEY (session_id, chat_id, id));
      CREATE INDEX messages_by_time ON messages (session_id, chat_id, ts DESC, id DESC)`);
    const ins = db.prepare('INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING');
    return (chatId, msgs) => {
      for (const m of msgs) ins.run('bench', chatId, m.id, m.fromMe ? 1 : 0, m.author, m.body, m.type, Date.parse(m.timestamp), m.ack, m.hasMedia ? 1 : 0);
    };
  },
  '+ named params, wellFormed x3': (db) => {
    db.exec(`CREATE TABLE messages (${COLS}, PRIMARY KEY (session_id, chat_id, id));
      CREATE INDEX messages_by_time ON messages (session_id, chat_id, ts DESC, id DESC)`);
    const ins = db.prepare(`INSERT INTO messages (session_id, chat_id, id, from_me, author, body, type, ts, ack, has_media)
      VALUES (@sessionId, @chatId, @id, @fromMe, @author, @body, @type, @ts, @ack, @hasMedia) ON CONFLICT DO NOTHING`);
    return (chatId, msgs) => {
      for (const m of msgs) {
        ins.run({ sessionId: 'bench', chatId, id: m.id, ack: m.ack, fromMe: m.fromMe ? 1 : 0, author: wf(m.author), body: wf(m.body), type: wf(m.type), ts: Date.parse(m.timestamp), hasMedia: m.hasMedia ? 1 : 0 });
      }
    };
  },
  '+ chat row: COUNT(*) per batch': (db) => {
    migrate(db);
    const ins = db.prepare(`INSERT INTO messages (session_id, chat_id, id, from_me, author, body, type, ts, ack, has_media)
      VALUES (@sessionId, @chatId, @id, @fromMe, @author, @body, @type, @ts, @ack, @hasMedia) ON CONFLICT DO NOTHING`);
    const touch = db.prepare(`INSERT INTO chats (session_id, id, name, is_group, unread_count, last_message_at, message_count)
      VALUES (@sessionId, @chatId, @chatId, 0, 0, @newest, (SELECT COUNT(*) FROM messages WHERE session_id = @sessionId AND chat_id = @chatId))
      ON CONFLICT (session_id, id) DO UPDATE SET message_count = excluded.message_count, last_message_at = MAX(COALESCE(chats.last_message_at, excluded.last_message_at), COALESCE(excluded.last_message_at, chats.last_message_at))`);
    return (chatId, msgs) => {
      let newest = 0;
      for (const m of msgs) {
        const ts = Date.parse(m.timestamp);
        if (ts > newest) newest = ts;
        ins.run({ sessionId: 'bench', chatId, id: m.id, ack: m.ack, fromMe: m.fromMe ? 1 : 0, author: wf(m.author), body: wf(m.body), type: wf(m.type), ts, hasMedia: m.hasMedia ? 1 : 0 });
      }
      touch.run({ sessionId: 'bench', chatId, newest });
    };
  },
  '+ params built as {...row, …} (= the store)': (db) => {
    migrate(db);
    const ins = db.prepare(`INSERT INTO messages (session_id, chat_id, id, from_me, author, body, type, ts, ack, has_media)
      VALUES (@sessionId, @chatId, @id, @fromMe, @author, @body, @type, @ts, @ack, @hasMedia) ON CONFLICT DO NOTHING`);
    const touch = db.prepare(`INSERT INTO chats (session_id, id, name, is_group, unread_count, last_message_at, message_count)
      VALUES (@sessionId, @chatId, @chatId, 0, 0, @newest, (SELECT COUNT(*) FROM messages WHERE session_id = @sessionId AND chat_id = @chatId))
      ON CONFLICT (session_id, id) DO UPDATE SET message_count = excluded.message_count, last_message_at = MAX(COALESCE(chats.last_message_at, excluded.last_message_at), COALESCE(excluded.last_message_at, chats.last_message_at))`);
    return (chatId, msgs) => {
      let newest = 0;
      for (const m of msgs) {
        const ts = Date.parse(m.timestamp);
        if (ts > newest) newest = ts;
        const row = { sessionId: 'bench', chatId, id: m.id, ack: m.ack };
        ins.run({ ...row, fromMe: m.fromMe ? 1 : 0, author: wf(m.author), body: wf(m.body), type: wf(m.type), ts, hasMedia: m.hasMedia ? 1 : 0 });
      }
      touch.run({ sessionId: 'bench', chatId, newest });
    };
  },
  'literal params, wal_autocheckpoint 10000': (db) => {
    db.pragma('wal_autocheckpoint = 10000');
    return VARIANTS['+ chat row: COUNT(*) per batch'](db);
  },
  'literal params, no autocheckpoint (WAL grows)': (db) => {
    db.pragma('wal_autocheckpoint = 0');
    return VARIANTS['+ chat row: COUNT(*) per batch'](db);
  },
  'literal params, 8 chats per transaction': 'batch8',
  'product SqliteStore.upsertMessages': 'store',
};

async function runVariant(name, data) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-ablation-'));
  const file = path.join(dir, 'a.db');
  try {
    const kind = VARIANTS[name];
    let seconds;
    if (kind === 'store') {
      const store = new SqliteStore(file);
      await store.init();
      const t0 = performance.now();
      for (const b of data.batches) await store.upsertMessages('bench', b.chatId, b.messages);
      seconds = (performance.now() - t0) / 1000;
      await store.close();
    } else {
      const db = new Database(file);
      applyPragmas(db, 10_000);
      const make = kind === 'batch8' ? VARIANTS['+ chat row: COUNT(*) per batch'] : kind;
      const write = make(db);
      const per = kind === 'batch8' ? 8 : 1;
      const tx = db.transaction((batches) => batches.forEach((b) => write(b.chatId, b.messages)));
      const t0 = performance.now();
      for (let i = 0; i < data.batches.length; i += per) tx.immediate(data.batches.slice(i, i + per));
      seconds = (performance.now() - t0) / 1000;
      db.close();
    }
    return (CHATS * MESSAGES) / seconds;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const data = dataset(CHATS, MESSAGES);
  const names = Object.keys(VARIANTS);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) for (const n of names) results[n].push(await runVariant(n, data));
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const base = median(results[names[0]]);
  console.log(`store ablation: ${CHATS} chats × ${MESSAGES} messages, median of ${ROUNDS} interleaved rounds, load ${os.loadavg()[0].toFixed(1)}`);
  for (const n of names) {
    const m = median(results[n]);
    console.log(`${n.padEnd(44)}${Math.round(m).toString().padStart(9)} msgs/s  ${(m / base).toFixed(2)}× minimal`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
