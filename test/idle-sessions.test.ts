/**
 * Idle sessions cost no queue worker: a ready session whose queue stays empty closes its BullMQ
 * worker (no blocking connection, no stalled-check timer), and work added from outside the runner
 * (a sync the API asks for through the ledger, a media job a sync worker adds) still runs. Real
 * manager, BullMQ on a private Redis, sync workers, a SQLite store and a blob directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message, SyncSnapshot } from '@wa-sync/shared/contracts';
import { createBlobStore, type BlobStore } from '@wa-sync/shared/blob';
import { addMediaJobs, createRedis, type Redis, SessionQueues, SyncLedger } from '@wa-sync/shared/runtime';
import { MediaSlots } from '../services/session-runner/src/media-slots.semaphore';
import type { SessionManager } from '../services/session-runner/src/session.manager';
import { FakeEngine } from './support/fake-whatsapp';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const SESSIONS = ['idle-a', 'idle-b', 'idle-c', 'idle-d'];
const CHAT = '15550000001@c.us';

let h: SyncHarness;
let blobs: BlobStore;
let dir: string;
let engine: FakeEngine;
let manager: SessionManager;
/** Another process's connection, as the API and the sync workers have. */
let outside: Redis;
let outsideQueues: SessionQueues;

beforeAll(async () => {
  h = await SyncHarness.start();
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-idle-'));
  blobs = await createBlobStore({ url: `file:${dir}` });
  outside = createRedis(h.redisServer.url);
  outsideQueues = new SessionQueues(outside, h.logger);
  engine = new FakeEngine();
  manager = h.manager(engine, {
    media: { policy: 'all', maxBytes: 1 << 20, blobs, slots: new MediaSlots(2) },
    idleWorkers: { graceMs: 300, everyMs: 50 },
  });
});
afterAll(async () => {
  await outsideQueues?.close();
  await outside?.quit();
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function doneSyncs(sessionId: string): SyncSnapshot[] {
  return h.events.filter((e) => e.event === 'sync_chats' && e.sessionId === sessionId && (e.data as SyncSnapshot).done).map((e) => e.data as SyncSnapshot);
}

it('closes the workers of idle ready sessions, and still runs what other processes add to their queues', async () => {
  for (const s of SESSIONS) {
    engine.auth.add(s);
    await h.store.ensureSession(s);
    await manager.start(s);
  }
  await waitFor('every session ready and its first sync done', () => SESSIONS.every((s) => manager.isReady(s) && doneSyncs(s).length >= 1), 60_000);
  await waitFor('no worker open once the sessions are idle', () => manager.openWorkers() === 0, 30_000);
  expect(SESSIONS.every((s) => manager.isReady(s))).toBe(true);

  // A manual sync asked for from outside the runner, as the API's POST sync-chats does.
  const { syncId } = await new SyncLedger(outside).request(outsideQueues, { sessionId: 'idle-b', reason: 'manual', limitPerChat: 20 });
  const done = await waitFor('the manual sync to finish', () => doneSyncs('idle-b').find((d) => d.syncId === syncId), 30_000);
  expect(done.done).toBe(true);
  expect(done.chatsFailed).toBe(0);
  await waitFor('idle again', () => manager.openWorkers() === 0, 30_000);

  // A media job a sync worker adds after saving a message.
  const file = randomBytes(2000);
  const m: Message = {
    id: `false_${CHAT}_IDLEMEDIA`,
    chatId: CHAT,
    fromMe: false,
    author: null,
    body: '',
    type: 'image',
    timestamp: new Date(Date.UTC(2024, 5, 2)).toISOString(),
    ack: 3,
    hasMedia: true,
    media: { mimetype: 'image/png', filename: null, size: 2000, sha256: null, durationSeconds: null, status: 'pending', error: null },
  };
  engine.media.set(m.id, file);
  await h.store.upsertMessages('idle-c', CHAT, [m]);
  await addMediaJobs(outsideQueues.get('idle-c'), 'idle-c', [{ chatId: CHAT, messageId: m.id }], 'live');
  const media = await waitFor('the file to be stored', async () => {
    const d = (await h.store.getMessage('idle-c', CHAT, m.id))?.media;
    return d?.status === 'stored' ? d : null;
  }, 30_000);
  expect(media.sha256).toBe(createHash('sha256').update(file).digest('hex'));
  await waitFor('idle again', () => manager.openWorkers() === 0, 30_000);

  // A delayed job (a retry's backoff, a put-back) due after the worker closed.
  const later = { ...m, id: `false_${CHAT}_IDLEDELAYED` };
  engine.media.set(later.id, file);
  await h.store.upsertMessages('idle-d', CHAT, [later]);
  await outsideQueues.get('idle-d').add('download-media', { sessionId: 'idle-d', chatId: CHAT, messageId: later.id, origin: 'live' }, { delay: 500 });
  await waitFor('the delayed file to be stored', async () => (await h.store.getMessage('idle-d', CHAT, later.id))?.media?.status === 'stored', 30_000);
  await waitFor('idle again', () => manager.openWorkers() === 0, 30_000);
});

it('an idle runner holds no timer per session: four more idle sessions add none', async () => {
  // The fewest over a second: a timer of a call in flight (a reconnect, a close) is not the session's.
  const timers = async () => {
    let fewest = Infinity;
    for (let i = 0; i < 10; i++) {
      fewest = Math.min(fewest, process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length);
      await new Promise((r) => setTimeout(r, 100));
    }
    return fewest;
  };
  await waitFor('idle', () => manager.openWorkers() === 0, 30_000);
  const before = await timers();
  const more = ['idle-e', 'idle-f', 'idle-g', 'idle-h'];
  for (const s of more) {
    engine.auth.add(s);
    await h.store.ensureSession(s);
    await manager.start(s);
  }
  await waitFor('the new sessions ready and synced', () => more.every((s) => manager.isReady(s) && doneSyncs(s).length >= 1), 60_000);
  await waitFor('idle again', () => manager.openWorkers() === 0, 30_000);
  expect(await timers()).toBe(before);
});

it("sweeps an idle session queue's finished jobs once they are past their retention, and only then", async () => {
  // BullMQ removes finished jobs past removeOnComplete's age only when another job of the same queue
  // finishes: an idle session kept its first sync's job records for good. A retention of 3 s here
  // (an hour in production, JobRetention).
  const sweeping = h.manager(engine, { idleWorkers: { graceMs: 300, everyMs: 50, completedKeepMs: 3_000 } });
  engine.auth.add('swept');
  await h.store.ensureSession('swept');
  await sweeping.start('swept');
  await waitFor('its first sync done', () => sweeping.isReady('swept') && doneSyncs('swept').length >= 1, 60_000);
  const queue = (id: string) => outsideQueues.get(id);
  expect((await queue('swept').getJobCounts('completed')).completed).toBeGreaterThan(0);
  await waitFor('its finished jobs swept', async () => (await queue('swept').getJobCounts('completed')).completed === 0, 30_000);
  // The others keep theirs: their hour is not over.
  for (const s of SESSIONS) expect((await queue(s).getJobCounts('completed')).completed).toBeGreaterThan(0);
  expect(sweeping.openWorkers()).toBe(0);
  await sweeping.stop('swept', { logout: false });
});
