/**
 * Many sessions on one runner's session manager and one set of sync workers, at a small size:
 * every session's first sync is exact, and none waits for all the others to finish before its
 * own chats are saved (each session has its own queue and worker; the saves share one queue).
 * Judged by the order of the events on the bus, never by the clock.
 */
import { Queue } from 'bullmq';
import { QueueName } from '@wa-sync/shared/contracts';
import type { SyncSnapshot } from '@wa-sync/shared/contracts';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const SESSIONS = Array.from({ length: 8 }, (_, i) => `many-${i}`);
const CHATS = 30;
const MESSAGES = 12;
const LIMIT = 10;
const SEED = 5;

let h: SyncHarness;

beforeAll(async () => {
  h = await SyncHarness.start({ workerConcurrency: 4 });
});

afterAll(async () => {
  await h?.stop();
});

it('syncs eight sessions at once, each exact, none waiting for the others to finish', async () => {
  // A fetch takes 10 ms and each session fetches two chats at a time: a session's sync lasts
  // about 150 ms or more, long enough that sessions run one after another would show.
  const engine = new SimulatedEngine({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED, fetchLatencyMs: 10, autoScanMs: 10 });
  const manager = h.manager(engine, { limitPerChat: LIMIT, concurrency: 2 });
  for (const s of SESSIONS) await h.store.ensureSession(s);
  await Promise.all(SESSIONS.map((s) => manager.start(s)));

  const progress = () => h.events.flatMap((e, i) => (e.event === 'sync_chats' ? [{ i, sessionId: e.sessionId, data: e.data as SyncSnapshot }] : []));
  await waitFor('every first sync done', () => SESSIONS.every((s) => progress().some((p) => p.sessionId === s && p.data.done)), 60_000);

  const account = new SimulatedAccount({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED });
  const expected = account.listChats().reduce((n, c) => n + account.latestMessages(c.id, LIMIT).length, 0);
  const seen = progress();
  for (const s of SESSIONS) {
    const done = seen.find((p) => p.sessionId === s && p.data.done)!.data;
    expect(done).toMatchObject({ nChats: CHATS, chatsFailed: 0, totalMessagesSynced: expected });
    const stored = (await h.store.listChats(s, { limit: 100 })).items.reduce((n, c) => n + c.messageCount, 0);
    expect(stored).toBe(expected);
  }
  // Fairness: each session saved its first chat before the last of the others finished.
  const firstSaved = new Map(SESSIONS.map((s) => [s, seen.find((p) => p.sessionId === s && p.data.currentChat >= 1)!.i]));
  const doneAt = new Map(SESSIONS.map((s) => [s, seen.find((p) => p.sessionId === s && p.data.done)!.i]));
  const waitedForAll = SESSIONS.filter((s) => firstSaved.get(s)! > Math.max(...SESSIONS.filter((o) => o !== s).map((o) => doneAt.get(o)!)));
  expect(waitedForAll).toEqual([]);
  // And most ran side by side: every session had saved a chat before the first one finished.
  expect(Math.max(...firstSaved.values())).toBeLessThan(Math.min(...doneAt.values()));
});

it('saves chats in the order their fetches finished, whichever session they belong to', async () => {
  // BullMQ puts a save whose fetch is done at the head of the wait list: without a priority the
  // newest ready save ran first, and a session whose chats were fetched first waited behind the
  // later ones (under CI's load, one session saved its first chat after another had finished).
  const fifo = await SyncHarness.start({ workers: false });
  const saves = new Queue(QueueName.chatSave, { connection: fifo.redis });
  try {
    // Two accounts, as on two runners: the early one has two chats, both fetched before the late
    // one starts; the late one has more than its back-pressure window.
    const early = fifo.manager(new SimulatedEngine({ chats: 2, messagesPerChat: MESSAGES, seed: SEED, autoScanMs: 10 }), { limitPerChat: LIMIT, concurrency: 1 });
    const late = fifo.manager(new SimulatedEngine({ chats: 8, messagesPerChat: MESSAGES, seed: SEED, autoScanMs: 10 }), { limitPerChat: LIMIT, concurrency: 1 });
    const ready = async () => {
      const c = await saves.getJobCounts('waiting', 'prioritized');
      return c.waiting + c.prioritized;
    };
    await fifo.store.ensureSession('early');
    await early.start('early');
    await waitFor('both early chats fetched', async () => (await ready()) === 2, 30_000);
    await fifo.store.ensureSession('late');
    await late.start('late');
    await waitFor('late chats fetched', async () => (await ready()) >= 4, 30_000);

    await fifo.startWorkers({ workerConcurrency: 1 });
    const done = (s: string) => fifo.events.some((e) => e.sessionId === s && e.event === 'sync_chats' && (e.data as SyncSnapshot).done);
    await waitFor('both syncs done', () => done('early') && done('late'), 60_000);
    // Both early chats, ready first, are saved before any of the late session's.
    const saved = fifo.events.flatMap((e) => (e.event === 'sync_chats' && (e.data as SyncSnapshot).currentChat > 0 ? [{ sessionId: e.sessionId, n: (e.data as SyncSnapshot).currentChat }] : []));
    const lateFirst = saved.findIndex((p) => p.sessionId === 'late');
    expect(saved.slice(0, lateFirst)).toContainEqual({ sessionId: 'early', n: 2 });
  } finally {
    await saves.close();
    await fifo.stop();
  }
});
