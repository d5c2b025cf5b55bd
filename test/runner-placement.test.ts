/**
 * Placement over several runners (issue: scale): a runner that joins later gets its fair share,
 * sessions move to it one at a time through the SIGTERM hand-over (no QR, nothing lost), each
 * session runs on one runner at a time, and every sync stays exact. Runners renew all their leases
 * in one round trip, so nobody loses a lease while dozens of sessions start.
 */
import { join } from 'node:path';
import { listRunners, sessionOwners, type SyncSnapshot } from '@wa-sync/shared/contracts';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { ClientTracker, OVERLAPS_KEY, SimulatedAuthDir } from '../services/session-runner/src/engine/simulated.presence';
import type { Runner } from '../services/session-runner/src/runner.factory';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const N = 40;
const SESSIONS = Array.from({ length: N }, (_, i) => `p${String(i).padStart(2, '0')}`);
const CHATS = 3;
const PER_CHAT = 10;

let h: SyncHarness;

function engine(): SimulatedEngine {
  return new SimulatedEngine({
    chats: CHATS,
    messagesPerChat: PER_CHAT,
    fetchLatencyMs: 1,
    autoScanMs: 10,
    auth: new SimulatedAuthDir(join(h.dir, 'auth')),
    tracker: new ClientTracker(h.redis),
  });
}

const settings = { leaseMs: 4000, jobLockMs: 4000, stalledCheckMs: 1000, limitPerChat: PER_CHAT, rebalance: true };

function counts(runners: Runner[]): number[] {
  return runners.map((r) => r.ownership.owned().length);
}

beforeAll(async () => {
  h = await SyncHarness.start();
});

afterAll(async () => {
  await h?.stop();
});

it('a third runner joining two with 40 sessions ends with 13-14 of them; every sync exact, no QR, one client per session', async () => {
  const r1 = await h.runner(engine(), settings);
  const r2 = await h.runner(engine(), settings);
  for (const id of SESSIONS) await h.store.ensureSession(id);
  await r1.ownership.nudge();
  await waitFor('all 40 ready', async () => {
    const ready = SESSIONS.every((id) => r1.sessions.isReady(id) || r2.sessions.isReady(id));
    return ready && counts([r1, r2]).reduce((a, b) => a + b) === N;
  }, 120_000);
  const [a, b] = counts([r1, r2]);
  expect(Math.abs(a - b)).toBeLessThanOrEqual(1);
  for (const id of SESSIONS) {
    await waitFor(`${id} first sync done`, async () => (await h.store.getSession(id))?.lastSync?.done === true, 120_000);
  }
  const qrsBefore = h.events.filter((e) => e.event === 'qr').length;

  const r3 = await h.runner(engine(), settings);
  const final = await waitFor('balanced over three', async () => {
    const c = counts([r1, r2, r3]);
    const ready = SESSIONS.every((id) => [r1, r2, r3].some((r) => r.sessions.isReady(id)));
    return ready && c.reduce((x, y) => x + y) === N && Math.min(...c) >= 13 && Math.max(...c) <= 14 ? c : null;
  }, 90_000);
  expect(final.sort()).toEqual([13, 13, 14]);
  // Each session leased by exactly the runner that runs it; the registry says the same.
  const owners = await sessionOwners(h.redis, SESSIONS);
  for (const [i, id] of SESSIONS.entries()) {
    const runsOn = [r1, r2, r3].filter((r) => r.ownership.owned().includes(id)).map((r) => r.runnerId);
    expect(runsOn).toEqual([owners[i]]);
  }
  await waitFor('registry lists the balance', async () => {
    const runners = await listRunners(h.redis);
    return runners.length === 3 && runners.every((r) => r.sessions.length >= 13 && typeof r.rssMb === 'number');
  }, 20_000);
  // Moved sessions came back linked: no QR after the third runner joined.
  expect(h.events.filter((e) => e.event === 'qr').length).toBe(qrsBefore);
  expect(Number(await h.redis.get(OVERLAPS_KEY))).toBe(0);
  // Every sync exact: each session holds all its chats' messages once.
  for (const id of SESSIONS) {
    const chats = await h.store.listChats(id, { limit: 50 });
    expect(chats.items).toHaveLength(CHATS);
    for (const chat of chats.items) expect(chat.messageCount).toBe(PER_CHAT);
  }
  const failed = h.events.filter((e) => e.event === 'sync_chats' && (e.data as SyncSnapshot).done && (e.data as SyncSnapshot).chatsFailed > 0);
  expect(failed).toEqual([]);
});
