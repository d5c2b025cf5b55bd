'use strict';
/**
 * What the bench watches or changes around a sync: Redis memory at its peak, staging writes per sync
 * (keyspace notifications), and stored messages dropped so a catch-up has something to fetch.
 */
const Redis = require('ioredis');
const { sleep } = require('./util');

/** Samples INFO used_memory every 100 ms until stopped; returns { peak }. */
function memorySampler(redis) {
  const s = { peak: 0, peakKeys: 0, stop: null };
  let running = true;
  const loop = (async () => {
    while (running) {
      const m = await redis.usedMemory().catch(() => NaN);
      if (m > s.peak) {
        s.peak = m;
        // Keys at the memory peak: staging keys and job hashes are most of them.
        const ks = await redis.client.info('keyspace').catch(() => '');
        s.peakKeys = Number(/keys=(\d+)/.exec(ks)?.[1] ?? 0);
      }
      await sleep(100);
    }
  })();
  s.stop = async () => {
    running = false;
    await loop;
    return s.peak;
  };
  return s;
}

/** Counts staging writes (one per fetched chat) by syncId, through keyspace notifications. */
async function stagingCounter(redisUrl) {
  const admin = new Redis(redisUrl);
  await admin.config('SET', 'notify-keyspace-events', 'K$');
  const sub = new Redis(redisUrl);
  const bySync = new Map();
  sub.on('pmessage', (_p, channel, op) => {
    if (op !== 'set') return;
    const syncId = channel.split(':staging:')[1]?.split(':')[0];
    if (syncId) bySync.set(syncId, (bySync.get(syncId) ?? 0) + 1);
  });
  await sub.psubscribe('__keyspace@*__:wa-sync:staging:*');
  return {
    count: (syncId) => bySync.get(syncId) ?? 0,
    total: () => [...bySync.values()].reduce((a, b) => a + b, 0),
    async stop() {
      sub.disconnect();
      await admin.config('SET', 'notify-keyspace-events', '').catch(() => {});
      admin.disconnect();
    },
  };
}

/** Deletes the newest stored message of every `every`-th chat (by id); returns how many chats. */
function dropNewest(dbFile, sessionId, every) {
  const Database = require('better-sqlite3');
  const db = new Database(dbFile);
  try {
    db.pragma('busy_timeout = 10000');
    const chats = db.prepare('SELECT id FROM chats WHERE session_id = ? ORDER BY id').all(sessionId).map((r) => r.id);
    const changed = chats.filter((_, i) => i % every === 0);
    const drop = db.prepare('DELETE FROM messages WHERE rowid = (SELECT rowid FROM messages WHERE session_id = ? AND chat_id = ? ORDER BY ts DESC LIMIT 1)');
    db.transaction(() => changed.forEach((id) => drop.run(sessionId, id)))();
    return changed.length;
  } finally {
    db.close();
  }
}

module.exports = { memorySampler, stagingCounter, dropNewest };
