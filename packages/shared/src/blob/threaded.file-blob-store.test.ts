import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createBlobStore } from './blob-store.factory';
import { describeBlobStoreContract, listAll, sha, tempDirs } from './blob-store.contract';
import { type BlobStore, BlobStoreUnavailableError } from './blob-store.interface';
import { ThreadedFileBlobStore } from './threaded.file-blob-store';

const tempDir = tempDirs('wa-sync-blob-thread-');

async function threaded(dir = tempDir()): Promise<ThreadedFileBlobStore> {
  const store = await createBlobStore({ url: `file:${dir}` }, { writerThread: true });
  expect(store).toBeInstanceOf(ThreadedFileBlobStore);
  return store as ThreadedFileBlobStore;
}

/** A copy of the bytes that owns its whole buffer (a small Buffer.from shares Node's pool): it can move. */
const owned = (bytes: Uint8Array) => new Uint8Array(bytes);

/** Every put of bytes goes through the writer thread (a copy is handed over, so the suite's bytes stay). */
function handingOver(store: ThreadedFileBlobStore): BlobStore {
  return Object.assign(Object.create(store) as BlobStore, {
    put: (data: Parameters<BlobStore['put']>[0]) => (data instanceof Uint8Array ? store.put(owned(data), { handOver: true }) : store.put(data)),
  });
}

describeBlobStoreContract('file, puts through the writer thread', async () => handingOver(await threaded()));

describe('file blob store with a writer thread', () => {
  let store: ThreadedFileBlobStore;
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    store = await threaded(dir);
  });
  afterEach(() => store.close());

  it('moves handed-over bytes to the thread (no copy: they are gone here) and stores them whole', async () => {
    const original = randomBytes(1 << 20);
    const handed = owned(original);
    const info = await store.put(handed, { handOver: true });
    expect(handed.length).toBe(0);
    expect(info).toEqual({ sha256: sha(original), size: original.length });
    const chunks: Buffer[] = [];
    for await (const chunk of await store.getStream(info.sha256)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(original)).toBe(true);
    await expect(store.tempFiles()).resolves.toEqual([]);
  });

  it('says once when the handed-over bytes are written, before the put resolves; never for a put that failed first', async () => {
    const order: string[] = [];
    const put = store.put(owned(randomBytes(1 << 16)), { handOver: true, onWritten: () => order.push('written') });
    await put.then(() => order.push('stored'));
    expect(order).toEqual(['written', 'stored']);
    rmSync(dir, { recursive: true, force: true });
    let told = false;
    await expect(store.put(owned(randomBytes(100)), { handOver: true, onWritten: () => (told = true) })).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    expect(told).toBe(false);
  });

  it('keeps bytes it was not handed, and a view into a larger buffer, where they are', async () => {
    const kept = randomBytes(5000);
    await store.put(kept);
    expect(kept.length).toBe(5000);
    const larger = randomBytes(8000);
    const view = larger.subarray(1000, 6000);
    const info = await store.put(view, { handOver: true });
    expect(larger.length).toBe(8000);
    expect(info).toEqual({ sha256: sha(larger.subarray(1000, 6000)), size: 5000 });
  });

  it('stores the same bytes handed over many times at once once, with no temp file left', async () => {
    const bytes = randomBytes(300_000);
    const infos = await Promise.all(Array.from({ length: 12 }, () => store.put(owned(bytes), { handOver: true })));
    expect(new Set(infos.map((i) => i.sha256))).toEqual(new Set([sha(bytes)]));
    expect(await listAll(store)).toEqual([{ sha256: sha(bytes), size: bytes.length }]);
    expect(readdirSync(join(dir, '.tmp'))).toEqual([]);
  });

  it('says unavailable, from the thread, when its directory was removed after use, then makes it again and stores', async () => {
    await store.put(owned(randomBytes(100)), { handOver: true });
    rmSync(dir, { recursive: true, force: true });
    await expect(store.put(owned(randomBytes(100)), { handOver: true })).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    // The put just before answered for the directories; the one the thread found gone does not.
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'a file in the way');
    await expect(store.ping()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    rmSync(dir, { force: true });
    const bytes = randomBytes(100);
    await expect(store.put(owned(bytes), { handOver: true })).resolves.toEqual({ sha256: sha(bytes), size: 100 });
  });

  it('fails the puts in flight when its thread dies, and starts a new thread for the next put', async () => {
    const inFlight = Array.from({ length: 4 }, () => store.put(owned(randomBytes(4 << 20)), { handOver: true }));
    await (store as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();
    const outcomes = await Promise.allSettled(inFlight);
    expect(outcomes.some((o) => o.status === 'rejected' && /blob writer thread exited/.test(String(o.reason)))).toBe(true);
    const bytes = randomBytes(100);
    await expect(store.put(owned(bytes), { handOver: true })).resolves.toEqual({ sha256: sha(bytes), size: 100 });
    // What a dead thread left half-written is never visible under a key.
    for (const { sha256, size } of await listAll(store)) expect(size === 4 << 20 || sha256 === sha(bytes)).toBe(true);
  });

  it('fails the puts in flight when it is closed, instead of leaving them waiting', async () => {
    const inFlight = Array.from({ length: 4 }, () => store.put(owned(randomBytes(4 << 20)), { handOver: true }));
    const settled = Promise.allSettled(inFlight);
    await store.close();
    const outcomes = await settled;
    expect(outcomes.every((o) => o.status === 'fulfilled' || /blob store closed/.test(String(o.reason)))).toBe(true);
    expect(outcomes.some((o) => o.status === 'rejected')).toBe(true);
  });
});
