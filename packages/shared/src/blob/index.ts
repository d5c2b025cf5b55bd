// `@wa-sync/shared/blob`: content-addressed media storage (`file:<dir>`, `s3://bucket/prefix`),
// opened from MEDIA_URL. The S3 store (and the AWS SDK) loads only for an s3:// URL.
export * from './blob-store.interface';
export * from './media-url.parser';
export * from './blob-store.factory';
export { FileBlobStore } from './file.blob-store';
export { ThreadedFileBlobStore } from './threaded.file-blob-store';
export type { S3BlobStore, S3BlobStoreOptions } from './s3.blob-store';
