import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { type BlobInfo, BlobStoreUnavailableError, type PutOptions } from './blob-store.interface';
import { FileBlobStore } from './file.blob-store';

export type WriterRequest = { id: number; data: Uint8Array };
export type WriterReply =
  | { id: number; written: true }
  | { id: number; ok: true; info: BlobInfo }
  | { id: number; ok: false; unavailable: boolean; message: string };

// Node runs the thread's compiled file; from the sources (ts-jest), the built one in dist.
const THREAD_FILE = __filename.endsWith('.ts') ? join(__dirname, '..', '..', 'dist', 'blob', 'file-blob-writer.thread.js') : join(__dirname, 'file-blob-writer.thread.js');

/**
 * A file blob store whose puts of bytes handed over (`{ handOver: true }`: the session runner's
 * downloaded files) run in a worker thread: the bytes move there without a copy, and hashing and
 * the file's syscalls (open, write, fsync, close, stat, rename, the directory's fsync) leave the
 * runner's event loop, which was busy the whole media window with them (docs/benchmarks.md).
 * Streams and bytes not handed over are put here, as FileBlobStore does; reads stay here too. The
 * thread says when a file's bytes are in their temp file (`onWritten`), before the rename.
 *
 * A thread that dies fails the puts in flight (the media job retries them: a put is idempotent) and
 * is started again on the next put. It never keeps the process alive.
 */
export class ThreadedFileBlobStore extends FileBlobStore {
  private thread: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (info: BlobInfo) => void; reject: (err: Error) => void; onWritten?: () => void }>();

  override put(data: Readable | Uint8Array, options: PutOptions = {}): Promise<BlobInfo> {
    if (!options.handOver || !(data instanceof Uint8Array) || !movable(data)) return super.put(data, options);
    return new Promise<BlobInfo>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject, onWritten: options.onWritten });
      this.start().postMessage({ id, data } satisfies WriterRequest, [data.buffer as ArrayBuffer]);
    });
  }

  override async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    this.failPending(new Error('blob store closed'));
    await thread?.terminate();
    await super.close();
  }

  private failPending(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }

  private start(): Worker {
    if (this.thread) return this.thread;
    const thread = new Worker(THREAD_FILE, { workerData: { dir: this.root } });
    thread.unref();
    thread.on('message', (reply: WriterReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      if ('written' in reply) return waiter.onWritten?.();
      this.pending.delete(reply.id);
      if (reply.ok) {
        this.noteOk();
        waiter.resolve(reply.info);
      } else if (reply.unavailable) {
        // What the thread found gone, ping here must not answer for from an earlier success.
        this.forgetDirectories();
        waiter.reject(new BlobStoreUnavailableError(this.description, new Error(reply.message)));
      } else {
        waiter.reject(new Error(reply.message));
      }
    });
    const fail = (err: Error) => {
      if (this.thread !== thread) return;
      this.thread = null;
      this.failPending(err);
    };
    thread.on('error', (err) => fail(new Error(`blob writer thread failed: ${err.message}`)));
    thread.on('exit', (code) => fail(new Error(`blob writer thread exited with ${code}`)));
    this.thread = thread;
    return thread;
  }
}

/** Bytes that own their whole, non-shared buffer move to the thread; a view into a larger buffer would detach the rest of it. */
function movable(data: Uint8Array): boolean {
  return data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}
