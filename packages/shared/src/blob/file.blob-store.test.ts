import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createBlobStore } from './blob-store.factory';
import { describeBlobStoreContract, listAll, sha, tempDirs } from './blob-store.contract';
import { BlobStoreUnavailableError } from './blob-store.interface';
import { FileBlobStore } from './file.blob-store';

const tempDir = tempDirs('wa-sync-blob-');

describeBlobStoreContract('file', () => createBlobStore({ url: `file:${tempDir()}` }));

describe('file blob store on disk', () => {
  it('lays a blob out as <dir>/<aa>/<sha256> and leaves no temp file behind a put', async () => {
    const dir = tempDir();
    const store = (await createBlobStore({ url: `file:${dir}` })) as FileBlobStore;
    const bytes = randomBytes(1000);
    const { sha256 } = await store.put(bytes);
    expect(readdirSync(join(dir, sha256.slice(0, 2)))).toEqual([sha256]);
    await expect(store.tempFiles()).resolves.toEqual([]);
  });

  it('stores again into a shard directory removed after its first put (the store remembers the shards it made)', async () => {
    const dir = tempDir();
    const store = (await createBlobStore({ url: `file:${dir}` })) as FileBlobStore;
    const bytes = randomBytes(1000);
    const { sha256 } = await store.put(bytes);
    rmSync(join(dir, sha256.slice(0, 2)), { recursive: true, force: true });
    await expect(store.has(sha256)).resolves.toBe(false);
    await expect(store.put(bytes)).resolves.toEqual({ sha256, size: 1000 });
    expect(readdirSync(join(dir, sha256.slice(0, 2)))).toEqual([sha256]);
    expect(sha(bytes)).toBe(sha256);
    await expect(store.tempFiles()).resolves.toEqual([]);
  });

  it('removes, when opened, the temp file of a writer that died mid-write, and keeps a live one', async () => {
    const dir = tempDir();
    await createBlobStore({ url: `file:${dir}` });
    // A pid that existed and is gone: a process that ran and exited.
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const host = hostname().replace(/[^A-Za-z0-9_.]/g, '_');
    writeFileSync(join(dir, '.tmp', `${host}-${deadPid}-00ff`), randomBytes(500));
    writeFileSync(join(dir, '.tmp', `${host}-${process.pid}-11ff`), randomBytes(500));
    const reopened = (await createBlobStore({ url: `file:${dir}` })) as FileBlobStore;
    await expect(reopened.tempFiles()).resolves.toEqual([`${host}-${process.pid}-11ff`]);
    expect(await listAll(reopened)).toEqual([]);
  });

  it('opens while its directory cannot be made (a file in the way): ping and put say unavailable, then work once it can', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mnt'), 'not a directory');
    const store = await createBlobStore({ url: `file:${join(dir, 'mnt', 'media')}` });
    await expect(store.ping()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    await expect(store.put(randomBytes(10))).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    rmSync(join(dir, 'mnt'));
    await expect(store.ping()).resolves.toBeUndefined();
    const bytes = randomBytes(10);
    expect(await store.put(bytes)).toEqual({ sha256: sha(bytes), size: 10 });
    // Its directory removed after it was opened and used: unavailable, not a plain failure.
    rmSync(join(dir, 'mnt'), { recursive: true, force: true });
    await expect(store.put(randomBytes(10))).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    // A file in the way again: still unavailable. Once it is gone, the store makes its directories again.
    writeFileSync(join(dir, 'mnt'), 'not a directory');
    await expect(store.ping()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    rmSync(join(dir, 'mnt'));
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await store.put(bytes)).toEqual({ sha256: sha(bytes), size: 10 });
  });

  it('accepts file:///abs, file:/abs and file:relative forms', async () => {
    const dir = tempDir();
    const bytes = randomBytes(10);
    for (const url of [`file://${dir}`, `file:${dir}`]) {
      const store = await createBlobStore({ url });
      await store.put(bytes);
      expect(await listAll(store)).toEqual([{ sha256: sha(bytes), size: 10 }]);
    }
  });
});
