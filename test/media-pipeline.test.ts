/**
 * The media pipeline in the session runner: jobs in the session's own queue download each file
 * into a real blob store (a directory) and record its descriptor in the real store, on a private
 * Redis. The engine is the scripted whatsapp-web.js stand-in: files, "no longer available", errors.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MediaDescriptor, Message } from '@wa-sync/shared/contracts';
import { JobProducer } from '@wa-sync/shared/contracts';
import { createBlobStore, type BlobStore } from '@wa-sync/shared/blob';
import { addMediaJobs, mediaJobId } from '@wa-sync/shared/runtime';
import type { MediaPipeline } from '../services/session-runner/src/media-download.handler';
import { MediaSlots } from '../services/session-runner/src/media-slots.semaphore';
import { sweepPendingMedia } from '../services/session-runner/src/media-pending.sweep';
import { FakeEngine } from './support/fake-whatsapp';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const CHAT_A = '15550000001@c.us';
const CHAT_B = '15550000002@c.us';
let h: SyncHarness;
let blobs: BlobStore;
let dir: string;

beforeAll(async () => {
  h = await SyncHarness.start();
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-media-'));
  blobs = await createBlobStore({ url: `file:${dir}` });
});
afterAll(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function mediaMessage(chatId: string, n: number, over: Partial<MediaDescriptor> = {}): Message {
  return {
    id: `false_${chatId}_MEDIA${n}`,
    chatId,
    fromMe: false,
    author: null,
    body: '',
    type: 'image',
    timestamp: new Date(Date.UTC(2024, 5, 2, 0, n)).toISOString(),
    ack: 3,
    hasMedia: true,
    media: { mimetype: 'image/png', filename: null, size: 1000, sha256: null, durationSeconds: null, status: 'pending', error: null, ...over },
  };
}

async function readySession(sessionId: string, engine: FakeEngine, media: MediaPipeline) {
  engine.auth.add(sessionId);
  const manager = h.manager(engine, { media });
  await manager.start(sessionId);
  await waitFor('the session to be ready', () => manager.isReady(sessionId));
  return manager;
}

async function mediaOf(sessionId: string, m: Message): Promise<MediaDescriptor | null | undefined> {
  return (await h.store.getMessage(sessionId, m.chatId, m.id))?.media;
}

async function settled(sessionId: string, messages: Message[]): Promise<MediaDescriptor[]> {
  return waitFor('every media to leave pending', async () => {
    const all = await Promise.all(messages.map((m) => mediaOf(sessionId, m)));
    return all.every((x) => x && x.status !== 'pending') ? (all as MediaDescriptor[]) : null;
  }, 60_000);
}

it('downloads each file once into the blob store, records its descriptor, and logs message:media', async () => {
  const S = 'media-basic';
  const engine = new FakeEngine();
  await readySession(S, engine, { policy: 'all', maxBytes: 1 << 20, blobs, slots: new MediaSlots(2) });
  const photo = randomBytes(5000);
  const forwarded = randomBytes(3000);
  const msgs = [
    mediaMessage(CHAT_A, 1, { filename: 'kept.png' }),
    mediaMessage(CHAT_A, 2),
    mediaMessage(CHAT_A, 3, { size: 2 << 20 }),
    mediaMessage(CHAT_B, 1),
    mediaMessage(CHAT_A, 4, { size: null }),
  ];
  engine.media.set(msgs[0].id, photo);
  engine.media.set(msgs[1].id, 'expired');
  engine.media.set(msgs[2].id, randomBytes(10)); // never asked for: announced larger than the limit
  // The same file in two chats (forwarded): one blob.
  engine.media.set(msgs[3].id, forwarded);
  engine.media.set(msgs[4].id, forwarded);
  await h.store.upsertMessages(S, CHAT_A, msgs.filter((m) => m.chatId === CHAT_A));
  await h.store.upsertMessages(S, CHAT_B, msgs.filter((m) => m.chatId === CHAT_B));
  await addMediaJobs(h.queues.get(S), S, msgs.map((m) => ({ chatId: m.chatId, messageId: m.id })), 'history');
  // Added again (a retried save, a re-sync): still one job per message.
  await addMediaJobs(h.queues.get(S), S, msgs.map((m) => ({ chatId: m.chatId, messageId: m.id })), 'history');

  const [a, b, c, d, e] = await settled(S, msgs);
  expect(a).toMatchObject({ status: 'stored', sha256: sha(photo), size: 5000, filename: 'kept.png', mimetype: 'image/png', error: null });
  expect(b).toMatchObject({ status: 'expired', sha256: null });
  expect(c).toMatchObject({ status: 'skipped', error: 'too_large', sha256: null });
  expect(d).toMatchObject({ status: 'stored', sha256: sha(forwarded), size: 3000 });
  expect(e).toMatchObject({ status: 'stored', sha256: sha(forwarded) });
  expect(engine.mediaCalls.get(msgs[2].id)).toBeUndefined();
  for (const m of msgs) expect(engine.mediaCalls.get(m.id) ?? 0).toBeLessThanOrEqual(1);

  const stored: string[] = [];
  for await (const blob of blobs.list()) stored.push(blob.sha256);
  expect(stored.sort()).toEqual([sha(photo), sha(forwarded)].sort());
  expect(await h.store.mediaCounts(S)).toEqual({ pending: 0, stored: 3, skipped: 1, expired: 1, failed: 0, bytes: 5000 + 3000 + 3000 });
  await waitFor('message:media for each', () => h.events.filter((x) => x.sessionId === S && x.event === 'message:media').length === 5);
  const logged = h.events.find((x) => x.sessionId === S && x.event === 'message:media' && (x.data as { id: string }).id === msgs[0].id);
  expect(logged?.data).toEqual({ sessionId: S, chatId: CHAT_A, id: msgs[0].id, media: a });
});

it('retries a download that throws, then records failed; a file WhatsApp no longer has is not retried', async () => {
  const S = 'media-retry';
  const engine = new FakeEngine();
  await readySession(S, engine, { policy: 'all', maxBytes: 1 << 20, blobs, slots: new MediaSlots(2) });
  const flaky = mediaMessage(CHAT_A, 1);
  const broken = mediaMessage(CHAT_A, 2);
  const gone = mediaMessage(CHAT_A, 3);
  engine.media.set(flaky.id, new Error('Evaluation failed: net::ERR_CONNECTION_RESET'));
  engine.media.set(broken.id, new Error('Evaluation failed: always'));
  engine.media.set(gone.id, 'expired');
  await h.store.upsertMessages(S, CHAT_A, [flaky, broken, gone]);
  // The catalog's policy (8 tries over two minutes) with short pauses, so the test is quick.
  const producer = new JobProducer('session', h.queues.get(S));
  for (const m of [flaky, broken, gone]) {
    await producer.add('download-media', { sessionId: S, chatId: CHAT_A, messageId: m.id, origin: 'history' }, {
      jobId: mediaJobId(CHAT_A, m.id),
      attempts: 3,
      backoff: { type: 'fixed', delay: 50 },
    });
  }
  const bytes = randomBytes(700);
  await waitFor('the first failed try', () => (engine.mediaCalls.get(flaky.id) ?? 0) >= 1);
  engine.media.set(flaky.id, bytes);
  const [f, b, g] = await settled(S, [flaky, broken, gone]);
  expect(f).toMatchObject({ status: 'stored', sha256: sha(bytes) });
  expect(b).toMatchObject({ status: 'failed', error: expect.stringContaining('always') });
  expect(g).toMatchObject({ status: 'expired' });
  expect(engine.mediaCalls.get(broken.id)).toBe(3);
  expect(engine.mediaCalls.get(gone.id)).toBe(1);
});

it('puts a download back while the blob store cannot be reached (no attempt spent, the phone not asked), then stores it', async () => {
  const S = 'media-store-away';
  const engine = new FakeEngine();
  const root = mkdtempSync(join(tmpdir(), 'wa-sync-media-away-'));
  // A file where the media directory's parent should be: like a volume not mounted yet.
  writeFileSync(join(root, 'mnt'), 'not a directory');
  const away = await createBlobStore({ url: `file:${join(root, 'mnt', 'media')}` });
  try {
    await readySession(S, engine, { policy: 'all', maxBytes: 1 << 20, blobs: away, slots: new MediaSlots(1) });
    const m = mediaMessage(CHAT_A, 1);
    const bytes = randomBytes(400);
    engine.media.set(m.id, bytes);
    await h.store.upsertMessages(S, CHAT_A, [m]);
    const producer = new JobProducer('session', h.queues.get(S));
    // One attempt only: a put-back that spent it would record `failed`.
    await producer.add('download-media', { sessionId: S, chatId: CHAT_A, messageId: m.id, origin: 'live' }, { jobId: mediaJobId(CHAT_A, m.id), attempts: 1 });
    const job = await h.queues.get(S).getJob(mediaJobId(CHAT_A, m.id));
    await waitFor('the job to be put back', async () => (await job!.getState()) === 'delayed');
    expect(await mediaOf(S, m)).toMatchObject({ status: 'pending' });
    expect(engine.mediaCalls.get(m.id)).toBeUndefined();
    rmSync(join(root, 'mnt'));
    const [stored] = await settled(S, [m]);
    expect(stored).toMatchObject({ status: 'stored', sha256: sha(bytes), size: 400 });
    expect(engine.mediaCalls.get(m.id)).toBe(1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

it('skips by policy: off leaves every file, live leaves the first sync history but fetches live and catch-up files', async () => {
  const engine = new FakeEngine();
  await readySession('media-off', engine, { policy: 'off', maxBytes: 1 << 20, blobs: null, slots: new MediaSlots(1) });
  await readySession('media-live', engine, { policy: 'live', maxBytes: 1 << 20, blobs, slots: new MediaSlots(1) });
  const [m1, m2, m3] = [1, 2, 3].map((n) => mediaMessage(CHAT_A, n));
  for (const m of [m1, m2, m3]) engine.media.set(m.id, randomBytes(100));
  await h.store.upsertMessages('media-off', CHAT_A, [m1]);
  await addMediaJobs(h.queues.get('media-off'), 'media-off', [{ chatId: CHAT_A, messageId: m1.id }], 'live');
  await h.store.upsertMessages('media-live', CHAT_A, [m1, m2, m3]);
  await addMediaJobs(h.queues.get('media-live'), 'media-live', [{ chatId: CHAT_A, messageId: m1.id }], 'history');
  await addMediaJobs(h.queues.get('media-live'), 'media-live', [{ chatId: CHAT_A, messageId: m2.id }], 'catch-up');
  await addMediaJobs(h.queues.get('media-live'), 'media-live', [{ chatId: CHAT_A, messageId: m3.id }], 'live');
  const [off] = await settled('media-off', [m1]);
  expect(off).toMatchObject({ status: 'skipped', error: 'policy' });
  const [hist, catchUp, live] = await settled('media-live', [m1, m2, m3]);
  expect(hist).toMatchObject({ status: 'skipped', error: 'policy' });
  expect(catchUp.status).toBe('stored');
  expect(live.status).toBe('stored');
});

it('frees a download slot once the file\'s bytes are written, while the put still moves it into place', async () => {
  const S = 'media-overlap';
  const engine = new FakeEngine();
  const [m1, m2] = [mediaMessage(CHAT_A, 31), mediaMessage(CHAT_A, 32)];
  engine.media.set(m1.id, randomBytes(400));
  engine.media.set(m2.id, randomBytes(500));
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const held: string[] = [];
  // The real file store, each put held at its end (after onWritten) until the gate opens.
  const slowEnd: BlobStore = Object.assign(Object.create(blobs) as BlobStore, {
    put: async (data: Parameters<BlobStore['put']>[0], options: Parameters<BlobStore['put']>[1] = {}) => {
      let written = false;
      const info = await blobs.put(data, { ...options, onWritten: () => ((written = true), options.onWritten?.()) });
      held.push(`${info.size} written=${written}`);
      await gate;
      return info;
    },
  });
  await readySession(S, engine, { policy: 'all', maxBytes: 1 << 20, blobs: slowEnd, slots: new MediaSlots(1) });
  await h.store.upsertMessages(S, CHAT_A, [m1, m2]);
  await addMediaJobs(h.queues.get(S), S, [m1, m2].map((m) => ({ chatId: CHAT_A, messageId: m.id })), 'live');
  try {
    // One slot: the second file is downloaded and written while the first put is still held.
    await waitFor('both files written, neither put finished', () => held.length === 2, 15_000);
    expect(held.sort()).toEqual(['400 written=true', '500 written=true']);
    expect([await mediaOf(S, m1), await mediaOf(S, m2)].map((x) => x?.status)).toEqual(['pending', 'pending']);
  } finally {
    open(); // a held put would keep the runner's worker from closing
  }
  expect((await settled(S, [m1, m2])).map((x) => [x.status, x.size])).toEqual([['stored', 400], ['stored', 500]]);
});

it('runs at most MEDIA_CONCURRENCY downloads at once across the sessions of a runner', async () => {
  const engine = new FakeEngine();
  engine.mediaMs = 30;
  const media: MediaPipeline = { policy: 'all', maxBytes: 1 << 20, blobs, slots: new MediaSlots(3) };
  const sessions = ['media-c1', 'media-c2'];
  const all: [string, Message][] = [];
  for (const S of sessions) {
    engine.auth.add(S);
  }
  const manager = h.manager(engine, { media });
  for (const S of sessions) {
    await manager.start(S);
    await waitFor('ready', () => manager.isReady(S));
    const msgs = Array.from({ length: 12 }, (_, i) => mediaMessage(CHAT_A, 100 + i));
    for (const m of msgs) engine.media.set(m.id, randomBytes(200));
    await h.store.upsertMessages(S, CHAT_A, msgs);
    await addMediaJobs(h.queues.get(S), S, msgs.map((m) => ({ chatId: CHAT_A, messageId: m.id })), 'live');
    for (const m of msgs) all.push([S, m]);
  }
  for (const S of sessions) await settled(S, all.filter(([s]) => s === S).map(([, m]) => m));
  expect(media.slots.peak).toBe(3);
});

it('gives pending media whose job was lost a job when the session becomes ready, and leaves one with a live job alone', async () => {
  const S = 'media-sweep';
  const engine = new FakeEngine();
  const lost = mediaMessage(CHAT_A, 1);
  const slow = mediaMessage(CHAT_A, 2);
  engine.media.set(lost.id, randomBytes(300));
  engine.media.set(slow.id, randomBytes(300));
  // Stored while no runner had the session, its job never made it (Redis lost it, or the save died before adding it).
  await h.store.upsertMessages(S, CHAT_A, [lost]);
  const manager = await readySession(S, engine, { policy: 'all', maxBytes: 1 << 20, blobs, slots: new MediaSlots(1) });
  expect((await settled(S, [lost]))[0].status).toBe('stored');
  expect(engine.mediaCalls.get(lost.id)).toBe(1);
  // A media whose job is waiting or running is not given a second one.
  engine.mediaMs = 500;
  await h.store.upsertMessages(S, CHAT_A, [slow]);
  await addMediaJobs(h.queues.get(S), S, [{ chatId: CHAT_A, messageId: slow.id }], 'live');
  expect(await sweepPendingMedia({ store: h.store, queues: h.queues, logger: h.logger }, S)).toBe(0);
  expect((await settled(S, [slow]))[0].status).toBe('stored');
  expect(engine.mediaCalls.get(slow.id)).toBe(1);
  await manager.stop(S, { logout: false });
});
