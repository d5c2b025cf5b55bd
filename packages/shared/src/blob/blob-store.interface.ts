import type { Readable } from 'node:stream';

/** A stored blob: its key (hex SHA-256 of the bytes) and its length. */
export interface BlobInfo {
  sha256: string;
  size: number;
}

/** Inclusive byte range, as HTTP `Range: bytes=start-end` names it. */
export interface BlobRange {
  start: number;
  end: number;
}

export interface PutOptions {
  /**
   * The caller does not use the bytes again: the store may move them to another thread instead of
   * copying them (the file store's writer thread), which leaves them empty here.
   */
  handOver?: boolean;
  /**
   * Called once the bytes are durable in a temp file and the store holds them no longer, before the
   * put renames them into place (the file stores): a caller bounding the files in memory may start
   * the next one. A store that needs the bytes to the end (S3) does not call it; never called on
   * a put that failed before it.
   */
  onWritten?: () => void;
}

/**
 * Content-addressed storage of media files. A blob is visible under its SHA-256 only once it is
 * whole (file: temp + fsync + rename; S3: one PutObject), so a reader never sees half a file and
 * the same bytes put twice (a file forwarded to many chats) are stored once.
 */
export interface BlobStore {
  /** `file:<dir>` or `s3://bucket/prefix`, without secrets: for logs. */
  readonly description: string;
  /** Stores the bytes (a stream is read once, to its end) and answers their key and size. */
  put(data: Readable | Uint8Array, options?: PutOptions): Promise<BlobInfo>;
  has(sha256: string): Promise<boolean>;
  /** Null when no blob has this key. */
  stat(sha256: string): Promise<BlobInfo | null>;
  /** The bytes, or the range of them; rejects with BlobNotFoundError when absent. */
  getStream(sha256: string, range?: BlobRange): Promise<Readable>;
  /** No-op when absent. */
  delete(sha256: string): Promise<void>;
  /**
   * Resolves once the store can take a put (file: its directories made; S3: the bucket answers);
   * rejects with BlobStoreUnavailableError otherwise. Services open the store without it and ask
   * here (readiness, before a download), so an unreachable store is waited for, never fatal.
   */
  ping(): Promise<void>;
  /** Every stored key (tests, the fault suite and operators' checks; a full listing, not paged). */
  list(): AsyncIterable<BlobInfo>;
  close(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  constructor(readonly sha256: string) {
    super(`no blob ${sha256}`);
  }
}

/** The store cannot be reached now (a directory that cannot be made, S3 not answering): try later. */
export class BlobStoreUnavailableError extends Error {
  override readonly name = 'BlobStoreUnavailableError';
  constructor(readonly description: string, cause: unknown) {
    super(`blob store ${description} unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Keys come from URLs and the store: anything but 64 lowercase hex digits never reaches a path or an object key. */
export function assertBlobKey(sha256: string): void {
  if (!SHA256_HEX.test(sha256)) throw new TypeError(`not a SHA-256 key: ${JSON.stringify(sha256).slice(0, 80)}`);
}

export function isBlobKey(value: string): boolean {
  return SHA256_HEX.test(value);
}
