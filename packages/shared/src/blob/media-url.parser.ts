import { z } from 'zod';

/** Where media files go, from `MEDIA_URL`. */
export type MediaLocation = { kind: 'file'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

const ACCEPTED = 'file:<dir> or s3://<bucket>[/<prefix>]';
/** S3 bucket names: 3–63 of lowercase letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The one parser of `MEDIA_URL`; throws an Error naming the accepted forms. */
export function parseMediaUrl(url: string): MediaLocation {
  const trimmed = url.trim();
  if (/^file:/i.test(trimmed)) {
    // `file:./data/media`, `file:/var/media` and `file:///var/media` all name a directory.
    const dir = trimmed.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (dir === '') throw new Error(`MEDIA_URL "file:" names no directory; accepted forms: ${ACCEPTED}`);
    return { kind: 'file', dir };
  }
  const s3 = /^s3:\/\/([^/?#]+)(\/[^?#]*)?$/i.exec(trimmed);
  if (s3) {
    const bucket = s3[1];
    if (!BUCKET.test(bucket)) throw new Error(`MEDIA_URL bucket "${bucket}" is not a valid S3 bucket name`);
    const prefix = (s3[2] ?? '').replace(/^\/+|\/+$/g, '');
    return { kind: 's3', bucket, prefix: prefix ? `${prefix}/` : '' };
  }
  throw new Error(`unsupported MEDIA_URL "${trimmed}"; accepted forms: ${ACCEPTED}`);
}

/** The env rows of the blob store, for the services that open one (the runner writes, the API serves). */
export const MediaStoreEnv = z.object({
  MEDIA_URL: z
    .string()
    .default('file:./data/media')
    .superRefine((v, ctx) => {
      try {
        parseMediaUrl(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** An S3-compatible service's URL (MinIO, R2, Ceph…); unset: AWS. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).optional(),
  /** The SDK's own region variable, used when S3_REGION is unset. */
  AWS_REGION: z.string().min(1).optional(),
  /** `bucket` in the path, not the host name (MinIO, s3rver). */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional(),
});
export type MediaStoreEnv = z.infer<typeof MediaStoreEnv>;
