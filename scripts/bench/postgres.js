'use strict';
/**
 * The PostgreSQL store's figures (`npm run bench`, part "postgres"), on the server of this machine
 * (127.0.0.1:5432, user postgres; PG_TEST_URL elsewhere), in a database created for the run and
 * dropped after:
 * - pgStore: the product's PgStore called directly (upsertChats, then one upsertMessages per chat),
 *   rows generated before the clock starts, as the SQLite store's baseline;
 * - rawPg: the same rows into a minimal table (the columns of the SQLite baseline, primary key
 *   only, no secondary index, no chat counters), one multi-row upsert per chat (unnest, ON
 *   CONFLICT DO NOTHING) on one connection, chat by chat between the store's batches;
 * - e2e: the product's first sync with STORE_URL=postgres://… (through withProduct).
 * The median of the rounds is reported.
 */
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { medianBy } = require('./util');

const root = path.resolve(__dirname, '..', '..');
const HOST_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432';

async function admin(sql) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: `${HOST_URL}/postgres`, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function withDatabase(fn) {
  const name = `wa_sync_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  try {
    return await fn(`${HOST_URL}/${name}`);
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  }
}

/** The raw table's multi-row upsert of one chat's batch. */
function rawUpsert(client, table, sessionId, b) {
  const m = b.messages;
  return client.query(
    `INSERT INTO ${table} SELECT $1, $2, * FROM unnest($3::text[], $4::bool[], $5::text[], $6::text[], $7::text[],
      $8::int8[], $9::int4[], $10::bool[]) ON CONFLICT DO NOTHING`,
    [sessionId, b.chatId, m.map((x) => x.id), m.map((x) => x.fromMe), m.map((x) => x.author), m.map((x) => x.body), m.map((x) => x.type),
      m.map((x) => Date.parse(x.timestamp)), m.map((x) => x.ack), m.map((x) => x.hasMedia)],
  );
}

/**
 * One round: every chat's batch into the minimal table, then into the store, chat by chat, each
 * timed apart. Interleaved per batch: on a loaded machine, two passes one after the other drift
 * apart with the load (0.3 to 0.67 on one machine within minutes); batch by batch they see the same.
 */
async function interleavedRound(url, data, sessionId, table) {
  const { Client } = require('pg');
  const { PgStore } = require(path.join(root, 'packages/shared/dist/store/pg.store'));
  const client = new Client({ connectionString: url });
  await client.connect();
  const store = new PgStore(url);
  await store.init();
  try {
    await client.query(`CREATE TABLE ${table} (session_id text COLLATE "C" NOT NULL, chat_id text COLLATE "C" NOT NULL,
      id text COLLATE "C" NOT NULL, from_me boolean NOT NULL, author text, body text NOT NULL, type text NOT NULL,
      ts bigint NOT NULL, ack integer NOT NULL, has_media boolean NOT NULL, PRIMARY KEY (session_id, chat_id, id))`);
    let rawMs = 0;
    let t0 = performance.now();
    await store.upsertChats(sessionId, data.chats);
    let storeMs = performance.now() - t0;
    let messages = 0;
    for (const b of data.batches) {
      t0 = performance.now();
      await rawUpsert(client, table, sessionId, b);
      const t1 = performance.now();
      await store.upsertMessages(sessionId, b.chatId, b.messages);
      storeMs += performance.now() - t1;
      rawMs += t1 - t0;
      messages += b.messages.length;
    }
    return { store: { messages, perSecond: messages / (storeMs / 1000) }, raw: { messages, perSecond: messages / (rawMs / 1000) } };
  } finally {
    await client.end();
    await store.close();
  }
}

const median = (runs) => medianBy(runs, (r) => r.perSecond);

/**
 * Fills `result` (pgStoreMsgsPerSec, rawPgMsgsPerSec, pgStoreVsRawPg, e2ePgMsgsPerSec) and
 * `extra.postgres`. `kit`: { data, rounds, result, extra, round, ratio, e2e?: (storeUrl) => sync }.
 */
async function run(kit) {
  const { data, rounds, result, extra, round, ratio } = kit;
  await withDatabase(async (url) => {
    const stores = [];
    const raws = [];
    for (let i = 0; i < rounds; i++) {
      // A session and a table per round: each round writes everything new, as a first sync does.
      const r = await interleavedRound(url, data, `bench${i}`, `raw_messages_${i}`);
      raws.push(r.raw);
      stores.push(r.store);
    }
    const store = median(stores);
    const raw = median(raws);
    result.pgStoreMsgsPerSec = round(store.perSecond);
    result.rawPgMsgsPerSec = round(raw.perSecond);
    result.pgStoreVsRawPg = round(ratio(store.perSecond, raw.perSecond), 3);
    extra.postgres = { rounds: { store: stores.map((r) => round(r.perSecond)), raw: raws.map((r) => round(r.perSecond)) } };
  });
  if (kit.e2e) {
    await withDatabase(async (url) => {
      const sync = await kit.e2e(`${url}?pool_max=8`);
      result.e2ePgMsgsPerSec = round(sync.messages / sync.seconds);
      extra.postgres.e2e = { seconds: round(sync.seconds, 2), messages: sync.messages, chatsFailed: sync.chatsFailed };
    });
  }
}

module.exports = { run };
