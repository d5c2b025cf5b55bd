/**
 * Session ownership with two runners in one process (built by createRunner, as main.ts builds
 * them), on a private Redis and a SQLite store: leases with fencing tokens, spreading, handover
 * on shutdown, and a lost lease stopping its client before anyone else starts one.
 */
import { Queue } from 'bullmq';
import { QueueName, RunnerKeys, type SyncSnapshot, jobOptions, listRunners, sessionOwners } from '@wa-sync/shared/contracts';
import { join } from 'node:path';
import { LeaseStore } from '../services/session-runner/src/lease.store';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { ClientTracker, OVERLAPS_KEY, SimulatedAuthDir, liveClientCount } from '../services/session-runner/src/engine/simulated.presence';
import type { Runner } from '../services/session-runner/src/runner.factory';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const SESSIONS = ['s1', 's2', 's3', 's4', 's5', 's6'];
const CHATS = 6;
const PER_CHAT = 20;

let h: SyncHarness;
let maxLive = 0;
let sampler: NodeJS.Timeout;

function engine(): SimulatedEngine {
  return new SimulatedEngine({
    chats: CHATS,
    messagesPerChat: 30,
    fetchLatencyMs: 5,
    autoScanMs: 20,
    auth: new SimulatedAuthDir(join(h.dir, 'auth')),
    tracker: new ClientTracker(h.redis),
  });
}

// Short enough to keep the test quick, long enough for a loaded CI machine's event-loop stalls.
const settings = { leaseMs: 4000, jobLockMs: 4000, stalledCheckMs: 1000, limitPerChat: PER_CHAT };

async function statuses(): Promise<Record<string, string | undefined>> {
  return Object.fromEntries(await Promise.all(SESSIONS.map(async (id) => [id, (await h.store.getSession(id))?.status])));
}

function doneSyncs(sessionId: string): SyncSnapshot[] {
  return h.events.filter((e) => e.sessionId === sessionId && e.event === 'sync_chats' && (e.data as SyncSnapshot).done).map((e) => e.data as SyncSnapshot);
}

beforeAll(async () => {
  h = await SyncHarness.start();
  // Every 20 ms: how many clients run for each session (must never exceed one).
  sampler = setInterval(() => {
    void Promise.all(SESSIONS.map((id) => liveClientCount(h.redis, id)))
      .then((counts) => (maxLive = Math.max(maxLive, ...counts)))
      .catch(() => undefined);
  }, 20);
});

afterAll(async () => {
  clearInterval(sampler);
  await h?.stop();
});

describe('lease store', () => {
  it('one holder at a time; a new claim gets a higher token; renew and release need the exact lease', async () => {
    const a = new LeaseStore(h.redis, 'ra', 1000);
    const b = new LeaseStore(h.redis, 'rb', 1000);
    const first = await a.acquire('lease-test');
    expect(first).not.toBeNull();
    expect(await b.acquire('lease-test')).toBeNull();
    expect(await a.owner('lease-test')).toBe('ra');
    expect(await b.renew({ ...first!, value: `rb#${first!.token}` })).toBe(false);
    expect(await b.release({ ...first!, value: `rb#${first!.token}` })).toBe(false);
    expect(await a.renew(first!)).toBe(true);
    expect(await a.release(first!)).toBe(true);
    const second = await b.acquire('lease-test');
    expect(second!.token).toBeGreaterThan(first!.token);
    // A's old lease is fenced off: it can neither renew nor free B's.
    expect(await a.renew(first!)).toBe(false);
    expect(await a.release(first!)).toBe(false);
    expect(await b.owner('lease-test')).toBe('rb');
    await b.release(second!);
  });
});

describe('lease store, batched', () => {
  it('renews many leases in one call, answering per lease: a lapsed or taken one says false', async () => {
    const a = new LeaseStore(h.redis, 'ra', 1000);
    const leases = await Promise.all(['m1', 'm2', 'm3'].map((id) => a.acquire(`batch-${id}`)));
    expect(leases.every(Boolean)).toBe(true);
    await h.redis.del(RunnerKeys.lease('batch-m2'));
    await h.redis.set(RunnerKeys.lease('batch-m3'), 'intruder#999', 'PX', 5000);
    expect(await a.renewMany(leases.map((l) => l!))).toEqual([true, false, false]);
    expect(await h.redis.pttl(RunnerKeys.lease('batch-m1'))).toBeGreaterThan(500);
    expect(await h.redis.get(RunnerKeys.lease('batch-m3'))).toBe('intruder#999');
    expect(await a.renewMany([])).toEqual([]);
  });
});

describe('two runners', () => {
  let r1: Runner;
  let r2: Runner;
  let r3: Runner;

  it('spread the sessions, each owned once, all ready and synced', async () => {
    r1 = await h.runner(engine(), settings);
    r2 = await h.runner(engine(), settings);
    for (const id of SESSIONS) await h.store.ensureSession(id);
    await r1.ownership.nudge();
    const t0 = Date.now();
    // Ready and leased: on a loaded machine a lease can lapse for a moment and be claimed again.
    const owners = await waitFor('all ready, each leased by r1 or r2', async () => {
      const ready = Object.values(await statuses()).every((s) => s === 'ready');
      const leased = await sessionOwners(h.redis, SESSIONS);
      return ready && leased.every((o) => o === r1.runnerId || o === r2.runnerId) ? leased : null;
    }, 30_000);
    process.stdout.write(`all ready after ${Date.now() - t0} ms\n`);
    const n1 = owners.filter((o) => o === r1.runnerId).length;
    expect(n1).toBeGreaterThanOrEqual(2);
    expect(n1).toBeLessThanOrEqual(4);
    expect([...r1.ownership.owned(), ...r2.ownership.owned()].sort()).toEqual(SESSIONS);
    for (const id of SESSIONS) await waitFor(`${id} synced`, () => doneSyncs(id).length >= 1, 30_000);
    process.stdout.write(`all synced after ${Date.now() - t0} ms\n`);
    await waitFor('registry lists both', async () => (await listRunners(h.redis)).every((r) => r.sessions.length > 0));
    const runners = await listRunners(h.redis);
    expect(runners.map((r) => r.id)).toEqual([r1.runnerId, r2.runnerId]);
    expect(runners.flatMap((r) => r.sessions).sort()).toEqual(SESSIONS);
    expect(maxLive).toBe(1);
  });

  it('a runner that shuts down hands its sessions over: ready on the other without a QR', async () => {
    const moving = r1.ownership.owned();
    const qrsBefore = h.events.filter((e) => e.event === 'qr').length;
    const t0 = Date.now();
    await r1.close();
    await waitFor('sessions moved', async () => (await sessionOwners(h.redis, moving)).every((o) => o === r2.runnerId), 10_000);
    await waitFor('moved sessions ready', async () => moving.every((id) => r2.sessions.isReady(id)), 10_000);
    process.stdout.write(`handover of ${moving.length} sessions on shutdown: ${Date.now() - t0} ms\n`);
    expect(h.events.filter((e) => e.event === 'qr').length).toBe(qrsBefore);
    expect(r2.ownership.owned()).toEqual(SESSIONS);
    expect(maxLive).toBe(1);
    expect(Number(await h.redis.get(OVERLAPS_KEY))).toBe(0);
  });

  it('a lease taken away (expired, Redis lost it) stops the client; the session is claimed again', async () => {
    const id = 's1';
    const before = await h.redis.get(RunnerKeys.lease(id));
    // Someone else holds it now, with a newer token: the renew fails, the client must stop.
    await h.redis.set(RunnerKeys.lease(id), 'intruder#999', 'PX', 2000);
    await waitFor('client stopped', () => !r2.sessions.has(id), 5_000);
    expect(await liveClientCount(h.redis, id)).toBe(0);
    // The intruder's lease lapses: the session comes back on the runner.
    await waitFor('reclaimed', () => r2.sessions.isReady(id), 10_000);
    const after = await h.redis.get(RunnerKeys.lease(id));
    expect(after).not.toBe(before);
    expect(maxLive).toBe(1);
  });

  it('commands reach the owner: a stop sent to the shared queue stops the session where it runs, and it stays stopped', async () => {
    r3 = await h.runner(engine(), settings);
    const commands = new Queue(QueueName.sessionCommands, { connection: h.redis });
    try {
      // s2 runs on r2; r3 has nothing: the shared queue may hand the command to either.
      const id = 's2';
      expect(await r2.ownership.ownerOf(id)).toBe(r2.runnerId);
      await commands.add('stop-session', { sessionId: id, logout: false }, jobOptions(QueueName.sessionCommands, 'stop-session'));
      await waitFor('stopped', async () => (await h.store.getSession(id))?.status === 'stopped', 10_000);
      await waitFor('lease released', async () => (await sessionOwners(h.redis, [id]))[0] === null, 10_000);
      expect(r2.sessions.has(id)).toBe(false);
      expect(await liveClientCount(h.redis, id)).toBe(0);
      // Nobody claims a stopped session back on their own…
      await new Promise((r) => setTimeout(r, settings.leaseMs / 2));
      expect((await sessionOwners(h.redis, [id]))[0]).toBeNull();
      // …until it is started again: the least loaded runner (r3, with none) takes it.
      await h.store.setSessionStatus(id, 'starting');
      await commands.add('start-session', { sessionId: id }, jobOptions(QueueName.sessionCommands, 'start-session'));
      await waitFor('running again', async () => (await sessionOwners(h.redis, [id]))[0] === r3.runnerId && r3.sessions.isReady(id), 10_000);
      expect(maxLive).toBe(1);
    } finally {
      await commands.close();
    }
  });

  it('a runner cut off from Redis stops its clients before their leases can lapse, then takes them back', async () => {
    const reader = h.redis.duplicate();
    try {
      expect((await sessionOwners(reader, SESSIONS)).every(Boolean)).toBe(true);
      // Writes (renewals) block from now on.
      await reader.call('CLIENT', 'PAUSE', String(settings.leaseMs * 2), 'WRITE');
      // Read after the pause: a renewal that landed before it moved the lapse, none can after.
      // Each runner renews on its own timer, so each lease has its own lapse.
      const before = Date.now();
      const ttls = await Promise.all(SESSIONS.map((id) => reader.pttl(RunnerKeys.lease(id))));
      const lapse = new Map(SESSIONS.map((id, i) => [id, before + ttls[i]]));
      const stoppedAt = new Map<string, number>();
      await waitFor(
        'clients stopped',
        () => {
          for (const id of SESSIONS) if (!stoppedAt.has(id) && !r2.sessions.has(id) && !r3.sessions.has(id)) stoppedAt.set(id, Date.now());
          return stoppedAt.size === SESSIONS.length;
        },
        settings.leaseMs * 2,
      );
      // Each client stopped while its lease was still alive: no other runner could have started one yet.
      const slack = SESSIONS.map((id) => lapse.get(id)! - stoppedAt.get(id)!);
      process.stdout.write(`cut off from Redis: each client stopped [${slack}] ms before its lease could lapse\n`);
      expect(slack.every((ms) => ms > 0)).toBe(true);
      await reader.call('CLIENT', 'UNPAUSE');
      await waitFor('all back', async () => (await sessionOwners(reader, SESSIONS)).filter(Boolean).length === SESSIONS.length, 20_000);
      await waitFor('all ready', () => SESSIONS.every((id) => r2.sessions.isReady(id) || r3.sessions.isReady(id)), 20_000);
      expect(maxLive).toBe(1);
    } finally {
      await reader.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      await reader.quit();
    }
  });
});
