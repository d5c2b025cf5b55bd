// The body of the file blob store's writer thread (see threaded.file-blob-store.ts): it puts the
// files handed over to it with a FileBlobStore of its own on the same directory, and answers each
// with the blob's key or what went wrong.
import { parentPort, workerData } from 'node:worker_threads';
import { BlobStoreUnavailableError } from './blob-store.interface';
import { FileBlobStore } from './file.blob-store';
import type { WriterReply, WriterRequest } from './threaded.file-blob-store';

const port = parentPort;
if (!port) throw new Error('file-blob-writer.thread runs only as a worker thread');
const store = new FileBlobStore((workerData as { dir: string }).dir);

port.on('message', (req: WriterRequest) => {
  const { id } = req;
  // Said as soon as the bytes are in their temp file: the runner's media slot is free then.
  const onWritten = () => port.postMessage({ id, written: true } satisfies WriterReply);
  store.put(req.data, { onWritten }).then(
    (info) => port.postMessage({ id, ok: true, info } satisfies WriterReply),
    (err: Error) => {
      const unavailable = err instanceof BlobStoreUnavailableError;
      const cause = unavailable ? (err.cause as Error | undefined) : err;
      port.postMessage({ id, ok: false, unavailable, message: cause?.message ?? String(err) } satisfies WriterReply);
    },
  );
});
