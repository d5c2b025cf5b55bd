import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { assertBlobKey, type BlobInfo, BlobNotFoundError, type BlobRange, type BlobStore, BlobStoreUnavailableError, isBlobKey } from './blob-store.interface';
import { sha256Hex, writeHashed } from './blob.hashing';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Ends in `/` or is empty. */
  prefix: string;
  endpoint?: string;
  region: string;
  forcePathStyle?: boolean;
  /** Unset: the SDK's standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles). */
  credentials?: S3ClientConfig['credentials'];
}

/**
 * `s3://bucket/prefix` through the AWS SDK v3: blob `<sha256>` is object `<prefix><sha256>`,
 * written by one PutObject with a known length (S3 makes an object visible only once it is whole).
 * A stream's key is known only at its end, so it is hashed to a temp file first, then uploaded.
 */
/** How long a successful ping is trusted. */
const PING_FRESH_MS = 2_000;

export class S3BlobStore implements BlobStore {
  readonly description: string;
  private readonly client: S3Client;
  private pingedUntil = 0;

  constructor(private readonly opts: S3BlobStoreOptions) {
    this.description = `s3://${opts.bucket}/${opts.prefix}`;
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.forcePathStyle !== undefined ? { forcePathStyle: opts.forcePathStyle } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      // Flexible checksums (aws-chunked trailers) are AWS-only; MinIO, R2, Ceph and s3rver take Content-MD5.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(data: Readable | Uint8Array): Promise<BlobInfo> {
    if (data instanceof Uint8Array) {
      const info = { sha256: sha256Hex(data), size: data.length };
      if (!(await this.has(info.sha256))) await this.putObject(info, data, md5Base64(data));
      return info;
    }
    const temp = join(tmpdir(), `wa-sync-blob-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      const info = await writeHashed(data, temp);
      if (!(await this.has(info.sha256))) await this.putObject(info, createReadStream(temp));
      return info;
    } finally {
      await rm(temp, { force: true });
    }
  }

  /**
   * The bucket answers (HeadBucket). A 403 counts as an answer: HeadBucket needs s3:ListBucket,
   * which a runner allowed only Put/GetObject lacks. A success holds for PING_FRESH_MS, so a burst
   * of downloads (each pings first) and /readyz cost one request, not one each.
   */
  async ping(): Promise<void> {
    if (Date.now() < this.pingedUntil) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }));
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 403) throw new BlobStoreUnavailableError(this.description, err);
    }
    this.pingedUntil = Date.now() + PING_FRESH_MS;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    assertBlobKey(sha256);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.keyOf(sha256) }));
      return { sha256, size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async getStream(sha256: string, range?: BlobRange): Promise<Readable> {
    assertBlobKey(sha256);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.keyOf(sha256), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      const body = out.Body as Readable;
      const wanted = range ? range.end - range.start + 1 : undefined;
      // Some S3-compatible servers (s3rver) read `bytes=0-0` as the whole object: never hand on more than asked.
      return wanted !== undefined && (out.ContentLength ?? 0) > wanted ? body.pipe(limitTo(wanted)) : body;
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(sha256);
      throw err;
    }
  }

  async delete(sha256: string): Promise<void> {
    assertBlobKey(sha256);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.keyOf(sha256) }));
  }

  async *list(): AsyncIterable<BlobInfo> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.opts.prefix || undefined, ContinuationToken: token }),
      );
      for (const obj of page.Contents ?? []) {
        const name = (obj.Key ?? '').slice(this.opts.prefix.length);
        if (isBlobKey(name)) yield { sha256: name, size: obj.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async putObject(info: BlobInfo, body: Readable | Uint8Array, contentMd5?: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.opts.bucket,
        Key: this.keyOf(info.sha256),
        Body: body,
        ContentLength: info.size,
        ContentType: 'application/octet-stream',
        ...(contentMd5 ? { ContentMD5: contentMd5 } : {}),
      }),
    );
  }

  private keyOf(sha256: string): string {
    return `${this.opts.prefix}${sha256}`;
  }
}

function limitTo(bytes: number): Transform {
  let left = bytes;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const part = left > 0 ? chunk.subarray(0, left) : null;
      left -= part?.length ?? 0;
      done(null, part && part.length > 0 ? part : undefined);
    },
  });
}

function md5Base64(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
