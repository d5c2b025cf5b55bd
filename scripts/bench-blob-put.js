'use strict';
/**
 * What each step of a file blob put costs against a plain write (`node scripts/bench-blob-put.js`,
 * after `npm run build`): 400 fresh 1 MiB buffers per variant, 4 at a time (as MEDIA_CONCURRENCY
 * and the media bench's raw round), three alternating rounds, each into a directory of its own
 * under the OS temp directory; prints MiB/s per round and the median per variant.
 *
 * - raw: open, write, fsync, close (the media bench's baseline);
 * - rawHash: raw + SHA-256 of the bytes while the write is on the disk's thread;
 * - rawRename: raw into a temp directory, then renamed into place;
 * - noDirSync: the store's steps without the directory's fsync (not durable: measured only);
 * - store: FileBlobStore.put (temp, hash, fsync, rename, the shard directory's fsync);
 * - threaded: ThreadedFileBlobStore.put with the bytes handed over (the session runner's store).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { median, writeSynced } = require('./bench/util');
const { FileBlobStore } = require('../packages/shared/dist/blob/file.blob-store.js');
const { ThreadedFileBlobStore } = require('../packages/shared/dist/blob/threaded.file-blob-store.js');

const FILES = 400;
const AT_ONCE = 4;
const ROUNDS = 3;
const MiB = 1 << 20;
const fsp = fs.promises;

let seq = 0;
/** A new buffer per file, as a download gives (a reused one would stay in the CPU's caches). */
function freshFile() {
  const b = Buffer.allocUnsafe(MiB);
  crypto.randomFillSync(b, 0, 64);
  b.writeUInt32LE(seq++, 64);
  b.fill(seq & 255, 68);
  return b;
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

const VARIANTS = {
  raw(dir) {
    fs.mkdirSync(dir);
    let i = 0;
    return (b) => writeSynced(path.join(dir, `f${i++}`), b);
  },
  rawHash(dir) {
    fs.mkdirSync(dir);
    let i = 0;
    return (b) => writeSynced(path.join(dir, `f${i++}`), b, sha256);
  },
  rawRename(dir) {
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    let i = 0;
    return async (b) => {
      const name = `f${i++}`;
      await writeSynced(path.join(dir, 'tmp', name), b);
      await fsp.rename(path.join(dir, 'tmp', name), path.join(dir, name));
    };
  },
  noDirSync(dir) {
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    const shards = new Set();
    return async (b) => {
      const temp = path.join(dir, 'tmp', crypto.randomBytes(8).toString('hex'));
      let sha;
      await writeSynced(temp, b, (bytes) => (sha = sha256(bytes)));
      const shard = path.join(dir, sha.slice(0, 2));
      if (!shards.has(shard)) await fsp.mkdir(shard, { recursive: true });
      shards.add(shard);
      await fsp.rename(temp, path.join(shard, sha));
    };
  },
  store(dir) {
    const store = new FileBlobStore(dir);
    return (b) => store.put(b);
  },
  threaded(dir) {
    const store = new ThreadedFileBlobStore(dir);
    const put = (b) => store.put(b, { handOver: true });
    put.close = () => store.close();
    return put;
  },
};

async function main() {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(VARIANTS);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wa-sync-blob-put-'));
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of names) {
        const put = VARIANTS[name](path.join(base, `${name}-${round}`));
        let ms = 0;
        for (let i = 0; i < FILES; i += AT_ONCE) {
          const files = Array.from({ length: AT_ONCE }, freshFile);
          const t0 = performance.now();
          await Promise.all(files.map(put));
          ms += performance.now() - t0;
        }
        await put.close?.();
        rates[name].push(Math.round(FILES / (ms / 1000)));
      }
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const raw = rates.raw ? median(rates.raw) : null;
  for (const name of names) {
    const m = median(rates[name]);
    console.log(`${name.padEnd(10)} MiB/s ${rates[name].join(' / ').padEnd(18)} median ${m}${raw ? `  ÷ raw ${(m / raw).toFixed(2)}` : ''}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
