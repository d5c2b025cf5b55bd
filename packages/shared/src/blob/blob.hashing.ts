import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobInfo } from './blob-store.interface';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes the data to `path` while hashing it, then fsyncs the file: when this resolves the bytes
 * are on disk and their key is known. A stream is never held whole in memory.
 */
export async function writeHashed(data: Readable | Uint8Array, path: string): Promise<BlobInfo> {
  if (data instanceof Uint8Array) {
    // Bytes already in memory (a downloaded file): one hash call, one write, no stream machinery.
    // The hash runs while the write is on the disk's thread, not after the fsync.
    const handle = await open(path, 'wx');
    let sha256: string;
    try {
      const written = handle.writeFile(data);
      try {
        sha256 = sha256Hex(data);
      } finally {
        await written;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { sha256, size: data.length };
  }
  const hash = createHash('sha256');
  let size = 0;
  const source = data;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(source, counter, createWriteStream(path, { flags: 'wx' }));
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}
