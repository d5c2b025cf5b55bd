'use strict';
/**
 * Media figures (`npm run bench`, part "media"): the product's first sync of an account whose
 * media files are SIM_MEDIA_BYTES (1 MiB) each, downloaded by the session runner into the file blob
 * store under the run's DATA_DIR, MEDIA_CONCURRENCY at once:
 * - mediaMiBPerSec: bytes stored ÷ the time between the first and the last `message:media` of the
 *   run (from the event log: ids are the server's append times), the first file's bytes left out;
 * - rawBlobMiBPerSec: the same files, read back untimed, written again to the same disk as plain
 *   files (writeFile + fsync, MEDIA_CONCURRENCY at once): what the disk gives without the product
 *   (the median of three rounds, each into a directory of its own, none deleted until the end);
 * - mediaVsRawFs: the first ÷ the second (goal ≥ 0.5);
 * - blobPutMiBPerSec, mediaVsBlobPut: the same files put straight into a new blob store of the
 *   runner's kind (ThreadedFileBlobStore, bytes handed over, MEDIA_CONCURRENCY at once; median of
 *   three rounds interleaved with the raw ones): the store's own rate, and what the product's
 *   download, jobs and bookkeeping leave of it;
 * - mediaPeakRssMiB: the session runner's peak RSS over the run (goal ≤ 200): whole files are held
 *   only while in flight.
 */
const fs = require('node:fs');
const path = require('node:path');

const { medianBy, writeSynced } = require('./util');

const MiB = 1024 * 1024;
const RAW_ROUNDS = 3;
const SESSION = 'bench-media';
/** Media are about 23 % of the simulated messages: this many messages per file wanted. */
const MESSAGES_PER_FILE = 4.4;

async function waitSettled(product, timeoutMs, sleep) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sync = await fetch(`${product.url}/whatsapp-web/session/${SESSION}/sync`).then((r) => (r.ok ? r.json() : null)).catch(() => null);
    const counts = await fetch(`${product.url}/whatsapp-web/session/${SESSION}/media`).then((r) => (r.ok ? r.json() : null)).catch(() => null);
    if (sync?.done && counts && counts.pending === 0 && counts.stored > 0) return counts;
    if (Date.now() > deadline) throw new Error(`media not settled in ${timeoutMs / 1000} s: ${JSON.stringify(counts)}`);
    await sleep(200);
  }
}

/** Every `message:media` of the session's log: [ms, size] of the stored ones. */
async function mediaEvents(redis) {
  const rows = await redis.xrange(`wa-sync:session:${SESSION}:log`, '-', '+');
  const out = [];
  for (const [id, fields] of rows) {
    let env = null;
    try {
      env = JSON.parse(fields[fields.indexOf('e') + 1]);
    } catch {}
    if (env?.event === 'message:media' && env.data.media.status === 'stored') out.push([Number(id.split('-')[0]), env.data.media.size]);
    if (env?.event === 'session_ready') out.readyMs = Number(id.split('-')[0]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** The stored blobs, written again with `write(bytes, index)`, `concurrency` at once; the reads are not timed. */
async function writeAgain(mediaDir, concurrency, write) {
  const files = [];
  for (const shard of fs.readdirSync(mediaDir)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of fs.readdirSync(path.join(mediaDir, shard))) files.push(path.join(mediaDir, shard, name));
  }
  let bytes = 0;
  let ms = 0;
  for (let i = 0; i < files.length; i += concurrency) {
    const batch = files.slice(i, i + concurrency).map((f) => fs.readFileSync(f));
    const size = batch.reduce((n, b) => n + b.length, 0);
    const t0 = performance.now();
    await Promise.all(batch.map((buf, j) => write(buf, i + j)));
    ms += performance.now() - t0;
    bytes += size;
  }
  return { files: files.length, bytes, seconds: ms / 1000 };
}

/** Plain files (writeFile + fsync) in `outDir`: what the disk gives. */
function rawWrite(mediaDir, outDir, concurrency) {
  fs.mkdirSync(outDir, { recursive: true });
  return writeAgain(mediaDir, concurrency, (buf, k) => writeSynced(path.join(outDir, `f${k}`), buf));
}

/** Puts into a new store of the runner's kind in `outDir`: what the blob store gives. */
async function blobPut(mediaDir, outDir, concurrency) {
  const { ThreadedFileBlobStore } = require('../../packages/shared/dist/blob/threaded.file-blob-store.js');
  const store = new ThreadedFileBlobStore(outDir);
  try {
    return await writeAgain(mediaDir, concurrency, (buf) => store.put(buf, { handOver: true }));
  } finally {
    await store.close();
  }
}

/**
 * @param {{ files: number, withProduct: Function, simEnv: Function, result: object, extra: object, round: Function, ratio: Function, sleep: Function, timeoutMs: number, profile?: boolean }} o
 */
async function run(o) {
  const chats = Math.max(4, Math.round((o.files * MESSAGES_PER_FILE) / 100));
  const concurrency = 4;
  const env = o.simEnv(chats, 100, {
    MEDIA_DOWNLOAD: 'all',
    SIM_MEDIA_BYTES: String(MiB),
    SIM_MEDIA_EXPIRED_RATE: '0',
    MEDIA_CONCURRENCY: String(concurrency),
    // Every message:media of the run stays in the log, to be timed.
    EVENT_LOG_MAXLEN: '200000',
  });
  await o.withProduct(env, async (product, redis) => {
    await product.createSession(SESSION);
    const counts = await waitSettled(product, o.timeoutMs, o.sleep);
    product.sample();
    const events = await mediaEvents(redis.client);
    if (events.length < 2) throw new Error(`only ${events.length} media stored`);
    const seconds = (events[events.length - 1][0] - events[0][0]) / 1000;
    const bytes = events.slice(1).reduce((n, [, size]) => n + size, 0);
    o.result.mediaMiBPerSec = o.round(bytes / MiB / seconds, 1);
    o.result.mediaPeakRssMiB = o.round(product.peaks['session-runner'] ?? NaN, 1);
    // The disk's rate moves by a third between runs of the same write: the median of three rounds.
    // Each round writes new files beside the others, as the product did (a round written over the
    // space the one before just freed ran up to half again as fast: the product never deletes).
    const mediaDir = path.join(product.o.dataDir, 'media');
    const rounds = [];
    const puts = [];
    for (let r = 0; r < RAW_ROUNDS; r++) {
      rounds.push(await rawWrite(mediaDir, path.join(product.o.dataDir, `raw-media-${r}`), concurrency));
      puts.push(await blobPut(mediaDir, path.join(product.o.dataDir, `put-media-${r}`), concurrency));
    }
    const rate = (x) => x.bytes / MiB / x.seconds;
    const raw = medianBy(rounds, rate);
    const put = medianBy(puts, rate);
    o.result.rawBlobMiBPerSec = o.round(rate(raw), 1);
    o.result.mediaVsRawFs = o.round(o.ratio(o.result.mediaMiBPerSec, o.result.rawBlobMiBPerSec), 2);
    o.result.blobPutMiBPerSec = o.round(rate(put), 1);
    o.result.mediaVsBlobPut = o.round(o.ratio(o.result.mediaMiBPerSec, o.result.blobPutMiBPerSec), 2);
    o.extra.media = {
      readyAfterFirstMs: events.readyMs - events[0][0],
      storedBeforeReady: events.filter(([ms]) => ms < events.readyMs).length,
      files: events.length,
      distinctFiles: raw.files,
      counts,
      seconds: o.round(seconds, 2),
      rawSeconds: o.round(raw.seconds, 2),
      rawRoundsMiBPerSec: rounds.map((x) => o.round(rate(x), 1)),
      blobPutRoundsMiBPerSec: puts.map((x) => o.round(rate(x), 1)),
      chats,
    };
  }, { profile: o.profile, label: 'media' });
}

module.exports = { run };
