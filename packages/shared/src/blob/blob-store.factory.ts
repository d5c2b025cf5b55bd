import type { BlobStore } from './blob-store.interface';
import { FileBlobStore } from './file.blob-store';
import { ThreadedFileBlobStore } from './threaded.file-blob-store';
import { type MediaStoreEnv, parseMediaUrl } from './media-url.parser';

export interface BlobStoreConfig {
  /** `MEDIA_URL`. */
  url: string;
  s3?: { endpoint?: string; region?: string; forcePathStyle?: boolean; credentials?: { accessKeyId: string; secretAccessKey: string } };
}

/** The config of a service's parsed env (MediaStoreEnv rows). */
export function blobStoreConfig(env: MediaStoreEnv): BlobStoreConfig {
  return { url: env.MEDIA_URL, s3: { endpoint: env.S3_ENDPOINT, region: env.S3_REGION ?? env.AWS_REGION, forcePathStyle: env.S3_FORCE_PATH_STYLE } };
}

/**
 * Opens the blob store `MEDIA_URL` names. A file store's directory is made (and its stale temp
 * files removed) now if it can be; if not (a missing mount, a file in the way), that is retried by
 * ping() and the next put: an unreachable blob store is waited for, it never stops a service.
 */
export async function createBlobStore(config: BlobStoreConfig, options: { writerThread?: boolean } = {}): Promise<BlobStore> {
  const location = parseMediaUrl(config.url);
  if (location.kind === 'file') {
    // The session runner's downloads: written from a thread of their own (threaded.file-blob-store.ts).
    const store = options.writerThread ? new ThreadedFileBlobStore(location.dir) : new FileBlobStore(location.dir);
    await store.init().catch(() => undefined);
    return store;
  }
  // Loaded only here: the AWS SDK is large and a file deployment never uses it.
  const { S3BlobStore } = require('./s3.blob-store') as typeof import('./s3.blob-store');
  return new S3BlobStore({
    bucket: location.bucket,
    prefix: location.prefix,
    endpoint: config.s3?.endpoint,
    // A region is required by the SDK even where the service ignores it (MinIO, s3rver).
    region: config.s3?.region ?? 'us-east-1',
    forcePathStyle: config.s3?.forcePathStyle,
    credentials: config.s3?.credentials,
  });
}
