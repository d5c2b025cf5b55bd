import { startS3, type PrivateS3 } from '../../../../test/support/s3-server';
import { describeBlobStoreContract, listAll } from './blob-store.contract';
import { S3BlobStore } from './s3.blob-store';

let s3: PrivateS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.destroy();
});

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let n = 0;
function openS3(prefix: string): S3BlobStore {
  return new S3BlobStore({ bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
}

describeBlobStoreContract('s3 (s3rver)', async () => openS3(`contract-${++n}/`));

describe('S3 blob store against s3rver', () => {
  it('keeps each prefix apart: a store lists only its own blobs', async () => {
    const a = openS3('tenant-a/');
    const b = openS3('tenant-b/');
    const { sha256 } = await a.put(Buffer.from('only in a'));
    expect((await listAll(a)).map((x) => x.sha256)).toEqual([sha256]);
    expect(await listAll(b)).toEqual([]);
    await expect(b.has(sha256)).resolves.toBe(false);
    await Promise.all([a.close(), b.close()]);
  });

  it('fails a put while the server is down and works again once it is back', async () => {
    const store = openS3('outage/');
    await s3.stop();
    await expect(store.put(Buffer.from('during the outage'))).rejects.toThrow();
    await s3.start();
    await expect(store.put(Buffer.from('after the outage'))).resolves.toMatchObject({ size: 16 });
    expect(await listAll(store)).toHaveLength(1);
    await store.close();
  });
});
