import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server';

/** The part of s3rver (no published types) the tests use. */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: {
  port: number;
  address: string;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

export interface PrivateS3 {
  /** `http://127.0.0.1:<port>` (S3_ENDPOINT). */
  endpoint: string;
  bucket: string;
  /** The env a service needs to use it (with MEDIA_URL pointing at `prefix`). */
  env(prefix?: string): Record<string, string>;
  /** Stops serving (connections refused) but keeps the data: `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and deletes its directory. */
  destroy(): Promise<void>;
}

/**
 * A real S3-protocol server (s3rver) on a free port, its objects in a temp directory. s3rver signs
 * with the key pair S3RVER/S3RVER and keeps every bucket named here.
 */
export async function startS3(bucket = 'wa-sync-media'): Promise<PrivateS3> {
  const S3rver = require('s3rver') as S3rverCtor;
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'wa-sync-s3-'));
  let server: S3rverInstance | null = null;
  const start = async () => {
    server = new S3rver({ port, address: '127.0.0.1', directory, silent: true, configureBuckets: [{ name: bucket }] });
    await server.run();
  };
  const stop = async () => {
    const s = server;
    server = null;
    await s?.close();
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: (prefix = '') => ({
      MEDIA_URL: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    }),
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
