/**
 * The media routes in the API process (inject), with the operator key on: a session token with
 * `read` fetches its session's files by header or `?token=` (what an `<img src>` can carry), never
 * another session's; bad ids are 400s; HEAD answers the headers without the bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@wa-sync/shared/contracts';
import { type BlobStore, createBlobStore } from '@wa-sync/shared/blob';
import { type ApiFixture, startApi } from './support/api-fixture';
import { suiteRedis } from './support/redis-server';

const redis = suiteRedis();
const KEY = 'media-test-operator-key-0123456789';
const OWN = 'media-own';
const OTHER = 'media-other';
const CHAT = '4915100000001@c.us';
let api: ApiFixture;
let blobs: BlobStore;
let dir: string;
const file = randomBytes(4000);
const sha = createHash('sha256').update(file).digest('hex');

function photo(id: string): Message {
  return {
    id,
    chatId: CHAT,
    fromMe: false,
    author: null,
    body: '',
    type: 'image',
    timestamp: '2024-06-01T00:00:00.000Z',
    ack: 3,
    hasMedia: true,
    media: { mimetype: 'image/png', filename: null, size: file.length, sha256: sha, durationSeconds: null, status: 'stored', error: null },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-media-routes-'));
  blobs = await createBlobStore({ url: `file:${dir}` });
  await blobs.put(file);
  api = await startApi(redis.url, { apiKey: KEY, blobs });
  for (const s of [OWN, OTHER]) {
    await api.store.ensureSession(s);
    await api.store.upsertMessages(s, CHAT, [photo('false_a_1')]);
  }
});
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const path = (s: string) => `/whatsapp-web/session/${s}/chats/${encodeURIComponent(CHAT)}/messages/false_a_1/media`;

it('serves a session token its own session files by header or ?token=, and refuses another session', async () => {
  const { token } = await api.deps.tokens.mint(OWN, ['read']);
  const byHeader = await api.app.inject({ url: path(OWN), headers: { authorization: `Bearer ${token}` } });
  expect(byHeader.statusCode).toBe(200);
  expect(byHeader.rawPayload).toEqual(file);
  const byQuery = await api.app.inject({ url: `${path(OWN)}?token=${token}` });
  expect(byQuery.statusCode).toBe(200);
  expect(createHash('sha256').update(byQuery.rawPayload).digest('hex')).toBe(sha);
  expect((await api.app.inject({ url: `${path(OTHER)}?token=${token}` })).statusCode).toBe(403);
  expect((await api.app.inject({ url: path(OWN) })).statusCode).toBe(401);
  const counts = await api.app.inject({ url: `/whatsapp-web/session/${OWN}/media`, headers: { authorization: `Bearer ${token}` } });
  expect(counts.json()).toEqual({ pending: 0, stored: 1, skipped: 0, expired: 0, failed: 0, bytes: file.length });
  // A stream token cannot read files.
  const stream = (await api.deps.tokens.mint(OWN, ['stream'])).token;
  expect((await api.app.inject({ url: `${path(OWN)}?token=${stream}` })).statusCode).toBe(403);
});

it('answers HEAD with the headers only, and a bad id or an unknown session with a clear 4xx', async () => {
  const auth = { authorization: `Bearer ${KEY}` };
  const head = await api.app.inject({ method: 'HEAD', url: path(OWN), headers: auth });
  expect(head.statusCode).toBe(200);
  expect(head.headers['content-length']).toBe(String(file.length));
  expect(head.headers.etag).toBe(`"${sha}"`);
  expect(head.rawPayload.length).toBe(0);
  const long = await api.app.inject({ url: `/whatsapp-web/session/${OWN}/chats/${encodeURIComponent(CHAT)}/messages/${'x'.repeat(600)}/media`, headers: auth });
  expect(long.statusCode).toBe(400);
  expect(long.json().error.code).toBe('bad_request');
  const unknown = await api.app.inject({ url: path('no-such-session'), headers: auth });
  expect(unknown.statusCode).toBe(404);
  expect(unknown.json().error.code).toBe('session_not_found');
  // The file is gone from the blob store (deleted by hand): a 404, not a crash.
  await blobs.delete(sha);
  const missing = await api.app.inject({ url: path(OWN), headers: auth });
  expect(missing.statusCode).toBe(404);
  expect(missing.json().error.code).toBe('media_not_stored');
});
