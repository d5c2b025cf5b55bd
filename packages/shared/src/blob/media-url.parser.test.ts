import { MediaStoreEnv, parseMediaUrl } from './media-url.parser';

describe('MEDIA_URL', () => {
  it('reads a file directory and an S3 bucket with or without a prefix', () => {
    expect(parseMediaUrl('file:./data/media')).toEqual({ kind: 'file', dir: './data/media' });
    expect(parseMediaUrl('file:///var/media')).toEqual({ kind: 'file', dir: '/var/media' });
    expect(parseMediaUrl('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseMediaUrl('s3://my-bucket/wa/media/')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'wa/media/' });
  });

  it('refuses what it cannot store to, naming the accepted forms', () => {
    expect(() => parseMediaUrl('file:')).toThrow(/names no directory/);
    expect(() => parseMediaUrl('s3://Not_A_Bucket/x')).toThrow(/not a valid S3 bucket/);
    expect(() => parseMediaUrl('http://example.com/media')).toThrow(/file:<dir> or s3:\/\/<bucket>/);
  });

  it('defaults to file:./data/media and stops a bad value at boot', () => {
    expect(MediaStoreEnv.parse({}).MEDIA_URL).toBe('file:./data/media');
    const bad = MediaStoreEnv.safeParse({ MEDIA_URL: 'ftp://x' });
    expect(bad.success).toBe(false);
    expect(MediaStoreEnv.parse({ S3_FORCE_PATH_STYLE: 'false' }).S3_FORCE_PATH_STYLE).toBe(false);
  });
});
