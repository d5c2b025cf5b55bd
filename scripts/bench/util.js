'use strict';
/** Small helpers shared by the bench parts: ports, sleeping, percentiles, formatting. */
const fs = require('node:fs');
const net = require('node:net');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile of an ascending array; null when empty. */
function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Milliseconds of a Redis stream id (`<ms>-<seq>`): when the entry was appended. */
const idMs = (id) => Number(String(id).split('-')[0]);

/** Rounds for the report; null stays null. */
function round(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const ratio = (a, b) => (a == null || b == null || !b ? null : a / b);

/** The item whose `by` is the median (the upper one of an even count): the figure of interleaved rounds. */
const medianBy = (items, by) => [...items].sort((x, y) => by(x) - by(y))[Math.floor(items.length / 2)];

/** The median of numbers (the upper one of an even count). */
const median = (xs) => medianBy(xs, (x) => x);

/**
 * A plain durable write, the media baselines' unit: open, write, fsync, close. `during(bytes)` runs
 * while the write is on libuv's thread (bench-blob-put hashes there).
 */
async function writeSynced(file, bytes, during) {
  const handle = await fs.promises.open(file, 'w');
  try {
    const written = handle.writeFile(bytes);
    during?.(bytes);
    await written;
    await handle.sync();
  } finally {
    await handle.close();
  }
}

module.exports = { freePort, sleep, percentile, idMs, round, ratio, median, medianBy, writeSynced };
