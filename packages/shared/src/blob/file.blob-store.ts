import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { assertBlobKey, type BlobInfo, BlobNotFoundError, type BlobRange, type BlobStore, BlobStoreUnavailableError, isBlobKey, type PutOptions } from './blob-store.interface';
import { writeHashed } from './blob.hashing';

/** Temp files of a dead writer older than this are removed by the next store opened on the directory. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** See ping. */
const PING_FRESH_MS = 1_000;
const TEMP_DIR = '.tmp';
const HOST = hostname().replace(/[^A-Za-z0-9_.]/g, '_');

/**
 * `file:<dir>`: blob `<sha256>` lives at `<dir>/<first two hex digits>/<sha256>`. A put writes to
 * `<dir>/.tmp/<host>-<pid>-<random>`, fsyncs it, then renames it into place (atomic on one file
 * system) and fsyncs the directory, so a crash leaves either nothing or the whole file under the key.
 */
export class FileBlobStore implements BlobStore {
  readonly description: string;
  protected readonly root: string;
  private readonly tempDir: string;
  private ready: Promise<void> | undefined;
  /** Shard directories this store made or found (see put). */
  private readonly shards = new Set<string>();
  /** When a put or ping last succeeded (performance.now()); see ping. */
  private okAt = -Infinity;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.tempDir = join(this.root, TEMP_DIR);
    this.description = `file:${dir}`;
  }

  async put(data: Readable | Uint8Array, options: PutOptions = {}): Promise<BlobInfo> {
    // Not ping(): its stat was one more syscall per file. A directory gone or unusable since the
    // store was opened shows in the put's own calls instead (ownFsError below).
    await this.init().catch((err) => {
      throw new BlobStoreUnavailableError(this.description, err);
    });
    const temp = join(this.tempDir, `${HOST}-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      const info = await writeHashed(data, temp);
      options.onWritten?.();
      const dir = join(this.root, info.sha256.slice(0, 2));
      const target = join(dir, info.sha256);
      if (await exists(target)) {
        // Same bytes already stored (content-addressed): keep the first copy.
        await unlink(temp);
        this.noteOk();
        return info;
      }
      // A shard made once stays (a mkdir per put was a syscall round trip per file); one removed
      // since is made again when the rename finds it gone.
      if (!this.shards.has(dir)) await mkdir(dir, { recursive: true });
      await rename(temp, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' || !this.shards.has(dir)) throw err;
        await mkdir(dir, { recursive: true });
        await rename(temp, target);
      });
      this.shards.add(dir);
      await syncDir(dir);
      this.noteOk();
      return info;
    } catch (err) {
      await rm(temp, { force: true });
      if (!this.ownFsError(err)) throw err;
      this.forgetDirectories();
      throw new BlobStoreUnavailableError(this.description, err);
    }
  }

  /** The store's own directories missing or not directories (a volume gone, a path replaced). */
  private ownFsError(err: unknown): boolean {
    const e = err as NodeJS.ErrnoException;
    return (e.code === 'ENOENT' || e.code === 'ENOTDIR') && typeof e.path === 'string' && e.path.startsWith(this.root);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    assertBlobKey(sha256);
    const s = await stat(this.pathOf(sha256)).catch(() => null);
    return s?.isFile() ? { sha256, size: s.size } : null;
  }

  async getStream(sha256: string, range?: BlobRange): Promise<Readable> {
    assertBlobKey(sha256);
    // Opened before the stream is handed over, so a missing blob is a rejection, not a stream error.
    const handle = await open(this.pathOf(sha256), 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new BlobNotFoundError(sha256) : err;
    });
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async delete(sha256: string): Promise<void> {
    assertBlobKey(sha256);
    await rm(this.pathOf(sha256), { force: true });
  }

  async *list(): AsyncIterable<BlobInfo> {
    const shards = await readdir(this.root).catch(() => [] as string[]);
    for (const shard of shards.sort()) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of (await readdir(join(this.root, shard))).sort()) {
        if (!isBlobKey(name)) continue;
        const s = await stat(join(this.root, shard, name)).catch(() => null);
        if (s?.isFile()) yield { sha256: name, size: s.size };
      }
    }
  }

  /** Temp files in flight now (tests: none may be left after a crash and a restart). */
  async tempFiles(): Promise<string[]> {
    return readdir(this.tempDir).catch(() => []);
  }

  /**
   * The directories exist (made on the first success; checked again after, as one may be removed).
   * A put or ping that succeeded within PING_FRESH_MS answers for them: the runner pings before
   * each download, and that stat waited behind the busy event loop (~1.8 ms of a file's ~20 ms in
   * its slot, docs/benchmarks.md). A put that finds them gone still says unavailable.
   */
  async ping(): Promise<void> {
    if (performance.now() - this.okAt < PING_FRESH_MS) return;
    try {
      await this.init();
      if (!(await stat(this.tempDir)).isDirectory()) throw new Error(`${this.tempDir} is not a directory`);
      this.noteOk();
    } catch (err) {
      this.forgetDirectories();
      throw new BlobStoreUnavailableError(this.description, err);
    }
  }

  /** The store's directories answered (a put or a ping succeeded). */
  protected noteOk(): void {
    this.okAt = performance.now();
  }

  /** The directories went away (a volume unmounted, removed by hand): the next put or ping makes them again. */
  protected forgetDirectories(): void {
    this.okAt = -Infinity;
    this.ready = undefined;
    this.shards.clear();
  }

  async close(): Promise<void> {}

  private pathOf(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  /** Creates the directories and removes temp files a dead writer left (its pid gone, or old). */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.tempDir, { recursive: true });
      for (const name of await readdir(this.tempDir)) {
        const path = join(this.tempDir, name);
        const s = await stat(path).catch(() => null);
        if (s && (isDeadWriter(name) || Date.now() - s.mtimeMs > STALE_TEMP_MS)) await rm(path, { force: true });
      }
    })().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}

/** A temp file of this host whose writing process is gone (`<host>-<pid>-<random>`). */
function isDeadWriter(name: string): boolean {
  const m = /^(.+)-(\d+)-[0-9a-f]+$/.exec(name);
  if (!m || m[1] !== HOST || Number(m[2]) === process.pid) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

/** Makes a rename durable (the directory entry), where the platform allows opening a directory. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}
