import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobNotFoundError, type BlobInfo, type BlobStore } from './blob-store.interface';

/**
 * What every BlobStore must do, run against the file store on disk and the S3 store against a real
 * S3-protocol server. `open` is called once per suite and gets a fresh, empty location.
 */
export function describeBlobStoreContract(name: string, open: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('answers ping when it can take a put', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('stores bytes under their SHA-256 and gives them back whole', async () => {
      const bytes = randomBytes(70_000);
      const info = await store.put(bytes);
      expect(info).toEqual({ sha256: sha(bytes), size: bytes.length });
      await expect(store.has(info.sha256)).resolves.toBe(true);
      await expect(store.stat(info.sha256)).resolves.toEqual(info);
      expect(await readAll(await store.getStream(info.sha256))).toEqual(bytes);
    });

    it('reads a stream once, without knowing its length, to the same key as the same bytes at once', async () => {
      const bytes = randomBytes(300_000);
      const info = await store.put(chunked(bytes, 16_384));
      expect(info).toEqual({ sha256: sha(bytes), size: bytes.length });
      await expect(store.put(bytes)).resolves.toEqual(info);
      expect(await readAll(await store.getStream(info.sha256))).toEqual(bytes);
    });

    it('keeps one copy of the same file however often and however concurrently it is put', async () => {
      const bytes = randomBytes(20_000);
      const infos = await Promise.all([store.put(bytes), store.put(Buffer.from(bytes)), store.put(chunked(bytes, 4096)), store.put(bytes)]);
      expect(new Set(infos.map((i) => i.sha256)).size).toBe(1);
      const listed = (await listAll(store)).filter((b) => b.sha256 === sha(bytes));
      expect(listed).toEqual([{ sha256: sha(bytes), size: bytes.length }]);
    });

    it('serves an inclusive byte range, including the last byte and a one-byte range', async () => {
      const bytes = randomBytes(10_000);
      const { sha256 } = await store.put(bytes);
      expect(await readAll(await store.getStream(sha256, { start: 100, end: 4099 }))).toEqual(bytes.subarray(100, 4100));
      expect(await readAll(await store.getStream(sha256, { start: 9_990, end: 9_999 }))).toEqual(bytes.subarray(9_990));
      expect(await readAll(await store.getStream(sha256, { start: 0, end: 0 }))).toEqual(bytes.subarray(0, 1));
    });

    it('answers absent keys as absent, and deletes', async () => {
      const missing = sha(randomBytes(8));
      await expect(store.has(missing)).resolves.toBe(false);
      await expect(store.stat(missing)).resolves.toBeNull();
      await expect(store.getStream(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.delete(missing)).resolves.toBeUndefined();
      const { sha256 } = await store.put(randomBytes(100));
      await store.delete(sha256);
      await expect(store.has(sha256)).resolves.toBe(false);
      expect((await listAll(store)).map((b) => b.sha256)).not.toContain(sha256);
    });

    it('leaves nothing visible when the source fails half way', async () => {
      const before = await listAll(store);
      const half = randomBytes(50_000);
      const failing = new Readable({
        read() {
          this.push(half);
          this.destroy(new Error('source went away'));
        },
      });
      await expect(store.put(failing)).rejects.toThrow('source went away');
      expect(await listAll(store)).toEqual(before);
      await expect(store.has(sha(half))).resolves.toBe(false);
    });

    it('refuses a key that is not a SHA-256 (never a path or another object)', async () => {
      for (const bad of ['../../etc/passwd', 'ABC', `${sha(Buffer.from('x'))}/..`, '']) {
        await expect(store.stat(bad)).rejects.toThrow(TypeError);
        await expect(store.getStream(bad)).rejects.toThrow(TypeError);
        await expect(store.delete(bad)).rejects.toThrow(TypeError);
      }
    });

    it('stores an empty file', async () => {
      const info = await store.put(Buffer.alloc(0));
      expect(info).toEqual({ sha256: sha(Buffer.alloc(0)), size: 0 });
      expect((await readAll(await store.getStream(info.sha256))).length).toBe(0);
    });
  });
}

export function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

export async function listAll(store: BlobStore): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for await (const b of store.list()) out.push(b);
  return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
}

function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

/** Makes fresh temp directories for a test file's file stores; all are removed after its tests. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
