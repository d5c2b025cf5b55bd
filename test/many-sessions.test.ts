/**
 * Many sessions on one runner's session manager and one set of sync workers, at a small size:
 * every session's first sync is exact, and none waits for all the others to finish before its
 * own chats are saved (each session has its own queue and worker; the saves share one queue).
 * Judged by the order of the events on the bus, never by the clock.
 */
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
