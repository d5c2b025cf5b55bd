/**
 * Media end to end, the services as processes (API, session runner, sync workers) on a private
 * Redis and SQLite, the simulated phone, and each blob store: a directory, and S3 (a real s3rver).
 * After a first sync every media message ends stored, expired or skipped; every stored file the
 * API serves has the SHA-256, size, type and signature its descriptor says; Range and
 * If-None-Match work; an expired file is a 404 media_not_stored; a file in two chats is stored once.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@wa-sync/shared/contracts';
import { createBlobStore } from '@wa-sync/shared/blob';
import { httpJson, sessionMessages } from './support/http';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { type PrivateS3, startS3 } from './support/s3-server';
import { ServiceGroup } from './support/service-process';
import { waitFor } from './support/wait-for';

const SESSION = 'media-e2e';
const SIGNED: Record<string, (b: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).toString('hex') === '89504e470d0a1a0a',
  'image/webp': (b) => b.subarray(0, 4).toString() === 'RIFF' && b.subarray(8, 12).toString() === 'WEBP',
  'audio/ogg': (b) => b.subarray(0, 4).toString() === 'OggS',
  'video/mp4': (b) => b.subarray(4, 8).toString() === 'ftyp',
  'application/pdf': (b) => b.subarray(0, 5).toString() === '%PDF-',
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each([['file'], ['s3']])('media on the %s blob store', (kind) => {
  let dir: string;
  let redis: PrivateRedis;
  let s3: PrivateS3 | undefined;
  let base: string;
  let env: Record<string, string>;
  const services = new ServiceGroup();
  const logs = () => services.logs();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-sync-media-e2e-'));
    redis = await startRedis();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    if (kind === 's3') s3 = await startS3();
    env = {
      REDIS_URL: redis.url,
      STORE_URL: `sqlite:${join(dir, 'wa.db')}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      WA_AUTH_DIR: join(dir, 'auth'),
      SIM_AUTO_SCAN_MS: '100',
      SIM_CHATS: '8',
      SIM_MESSAGES_PER_CHAT: '40',
      SYNC_LIMIT_PER_CHAT: '40',
      SIM_FETCH_LATENCY_MS: '2',
      SIM_MEDIA_BYTES: '8192',
      SIM_MEDIA_EXPIRED_RATE: '0.15',
      // Some announced sizes (±25 % of 8 KiB) are over it: skipped without a download.
      MEDIA_MAX_BYTES: '9500',
      ...(s3 ? s3.env('wa/media') : { MEDIA_URL: `file:${join(dir, 'media')}` }),
    };
    services.env = env;
    const api = services.start('api');
    services.start('sync-workers');
    services.start('session-runner');
    await api.waitForOutput(/api listening/);
  }, 120_000);

  afterAll(async () => {
    await services.killAll();
    await redis?.stop();
    await s3?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const allMessages = () => sessionMessages(base, SESSION);
  const mediaUrl = (m: Message) => `${base}/whatsapp-web/session/${SESSION}/chats/${encodeURIComponent(m.chatId)}/messages/${encodeURIComponent(m.id)}/media`;

  it('ends every media stored, expired or skipped, and serves each stored file as its descriptor says', async () => {
    expect((await httpJson(base, 'POST', `/whatsapp-web/session/${SESSION}`)).status).toBe(201);
    const counts = await waitFor('the sync done and no media pending', async () => {
      const run = await httpJson(base, 'GET', `/whatsapp-web/session/${SESSION}/sync`);
      if (!run.json?.done) return null;
      const c = (await httpJson(base, 'GET', `/whatsapp-web/session/${SESSION}/media`)).json;
      return c && c.pending === 0 && c.stored > 0 ? c : null;
    }, 120_000, logs);
    const messages = await allMessages();
    const withMedia = messages.filter((m) => m.hasMedia);
    expect(withMedia.length).toBeGreaterThan(20);
    expect(withMedia.every((m) => m.media && ['stored', 'expired', 'skipped'].includes(m.media.status))).toBe(true);
    const by = (s: string) => withMedia.filter((m) => m.media?.status === s);
    expect(counts).toMatchObject({ pending: 0, stored: by('stored').length, expired: by('expired').length, skipped: by('skipped').length, failed: 0 });
    expect(by('expired').length).toBeGreaterThan(0);
    expect(by('skipped').every((m) => m.media?.error === 'too_large')).toBe(true);
    expect(by('skipped').length).toBeGreaterThan(0);

    for (const m of by('stored')) {
      const res = await fetch(mediaUrl(m));
      const body = Buffer.from(await res.arrayBuffer());
      const media = m.media!;
      expect(res.status).toBe(200);
      expect({ sha: sha(body), size: body.length }).toEqual({ sha: media.sha256, size: media.size });
      expect(res.headers.get('content-type')).toBe(media.mimetype);
      expect(res.headers.get('content-length')).toBe(String(media.size));
      expect(res.headers.get('etag')).toBe(`"${media.sha256}"`);
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('content-disposition')).toMatch(/^(inline|attachment); filename="/);
      const signed = SIGNED[media.mimetype!.split(';')[0]];
      expect(signed && signed(body)).toBe(true);
    }
  });

  it('answers a Range with 206 and its bytes, If-None-Match with 304, an expired file with 404 media_not_stored', async () => {
    const messages = await allMessages();
    const stored = messages.find((m) => m.media?.status === 'stored' && (m.media.size ?? 0) > 1000)!;
    const whole = Buffer.from(await (await fetch(mediaUrl(stored))).arrayBuffer());
    const part = await fetch(mediaUrl(stored), { headers: { range: 'bytes=100-599' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-599/${whole.length}`);
    expect(part.headers.get('content-length')).toBe('500');
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(100, 600));
    const tail = await fetch(mediaUrl(stored), { headers: { range: 'bytes=-1' } });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 1));
    const beyond = await fetch(mediaUrl(stored), { headers: { range: `bytes=${whole.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    const cached = await fetch(mediaUrl(stored), { headers: { 'if-none-match': `"${stored.media!.sha256}"` } });
    expect(cached.status).toBe(304);
    expect((await cached.arrayBuffer()).byteLength).toBe(0);

    const expired = messages.find((m) => m.media?.status === 'expired')!;
    const gone = await fetch(mediaUrl(expired));
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: { code: 'media_not_stored', message: expect.stringContaining('expired') } });
    const text = messages.find((m) => !m.hasMedia)!;
    expect((await fetch(mediaUrl(text))).status).toBe(404);
    const unknown = await fetch(`${base}/whatsapp-web/session/${SESSION}/chats/${encodeURIComponent(text.chatId)}/messages/nope/media`);
    expect(await unknown.json()).toMatchObject({ error: { code: 'message_not_found' } });
  });

  it('stores a file that is in two chats once', async () => {
    const stored = (await allMessages()).filter((m) => m.media?.status === 'stored');
    const chatsBySha = new Map<string, Set<string>>();
    for (const m of stored) chatsBySha.set(m.media!.sha256!, (chatsBySha.get(m.media!.sha256!) ?? new Set()).add(m.chatId));
    expect([...chatsBySha.values()].some((chats) => chats.size >= 2)).toBe(true);
    const blobs = await createBlobStore(
      s3 ? { url: env.MEDIA_URL, s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } } : { url: env.MEDIA_URL },
    );
    const keys: string[] = [];
    for await (const b of blobs.list()) keys.push(b.sha256);
    await blobs.close();
    expect(keys.sort()).toEqual([...chatsBySha.keys()].sort());
    if (!s3) expect(readdirSync(join(dir, 'media', '.tmp'))).toEqual([]);
  });
});
