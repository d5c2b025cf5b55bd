/**
 * The session lifecycle a real account goes through — refused auth, dropped connections, logout
 * from the phone, runner restarts — driven through a scripted WhatsApp client, with the real
 * manager, BullMQ on a private Redis, the sync workers and a SQLite store.
 */
import { type SyncSnapshot } from '@wa-sync/shared/contracts';
import { type Store } from '@wa-sync/shared/store';
import { SyncLedger } from '@wa-sync/shared/runtime';
import type { SessionManager } from '../services/session-runner/src/session.manager';
import { CHATS, FakeEngine } from './support/fake-whatsapp';
import { SyncHarness } from './support/sync-harness';
import { VirtualClock } from './support/virtual-clock';
import { waitFor } from './support/wait-for';

const FETCH_CONCURRENCY = 2;
const FETCH_PAUSE_MS = 30;

let h: SyncHarness;
let store: Store;
let engine: FakeEngine;
let manager: SessionManager;
/** Fetch starts are spaced on this clock, so the pause is checked exactly, not against wall time. */
const clock = new VirtualClock();

const RESTORE_CONCURRENCY = 2;

function newManager(): SessionManager {
  return h.manager(engine, {
    restoreConcurrency: RESTORE_CONCURRENCY,
    limitPerChat: 10,
    concurrency: FETCH_CONCURRENCY,
    fetchPauseMs: FETCH_PAUSE_MS,
    pacerClock: clock,
    reconnect: { baseDelayMs: 20, maxDelayMs: 80, maxAttempts: 3 },
  });
}

beforeAll(async () => {
  h = await SyncHarness.start();
  store = h.store;
  engine = new FakeEngine();
  engine.now = clock.now;
  manager = newManager();
});

afterAll(async () => {
  await h?.stop();
});

async function statusOf(sessionId: string) {
  const s = await store.getSession(sessionId);
  return { status: s?.status, detail: s?.statusDetail };
}

function statusDetails(sessionId: string): string[] {
  return h.events
    .filter((e) => e.sessionId === sessionId && e.event === 'status')
    .map((e) => e.data as { status: string; detail: string | null })
    .map((d) => `${d.status}: ${d.detail ?? ''}`);
}

function doneSyncs(sessionId: string): SyncSnapshot[] {
  return h.events.filter((e) => e.event === 'sync_chats' && e.sessionId === sessionId && (e.data as SyncSnapshot).done).map((e) => e.data as SyncSnapshot);
}

/** Starts a session and links it: QR, scan, ready, first sync done. */
async function linked(sessionId: string): Promise<void> {
  await store.ensureSession(sessionId);
  await manager.start(sessionId);
  await waitFor('the QR', async () => (await statusOf(sessionId)).status === 'qr');
  engine.latest(sessionId).link();
  await waitFor('the first sync', () => doneSyncs(sessionId).length >= 1);
}

describe('session lifecycle', () => {
  it('a refused auth fails the session and removes the auth', async () => {
    await linked('authfail');
    expect(engine.auth.has('authfail')).toBe(true);
    engine.latest('authfail').emit('auth_failure', 'session restore refused');
    await waitFor('failed', async () => (await statusOf('authfail')).status === 'failed');
    expect((await statusOf('authfail')).detail).toMatch(/authentication failed: session restore refused; auth removed/);
    expect(engine.auth.has('authfail')).toBe(false);
    expect(engine.latest('authfail').stopped).toBe(true);
    expect(manager.has('authfail')).toBe(false);
  });

  it('a dropped connection is rebuilt with backoff, comes back ready without a QR and syncs again', async () => {
    await linked('drop');
    const before = engine.clientsOf('drop').length;
    engine.latest('drop').drop('CONFLICT');
    await waitFor('the reconnect sync', () => doneSyncs('drop').length >= 2);
    expect(engine.clientsOf('drop')).toHaveLength(before + 1);
    expect(await statusOf('drop')).toEqual({ status: 'ready', detail: null });
    expect(h.events.some((e) => e.sessionId === 'drop' && e.event === 'disconnected' && (e.data as { reason: string }).reason === 'CONFLICT')).toBe(true);
    expect(statusDetails('drop')).toEqual(
      expect.arrayContaining(['disconnected: disconnected (CONFLICT); reconnecting in 20 ms (attempt 1/3)', 'starting: reconnecting (attempt 1/3)']),
    );
    const last = doneSyncs('drop').at(-1)!;
    // Nothing moved on the phone while it was gone: a catch-up that fetches nothing.
    expect(last).toMatchObject({ kind: 'catch-up', nChats: 0, chatsFailed: 0, done: true });
    expect((await store.getSyncRun(last.syncId))?.reason).toBe('reconnect');
  });

  it('a sync in flight waits for the rebuilt client instead of burning its retries', async () => {
    await linked('midsync');
    engine.fetchMs = 60;
    try {
      // A re-sync on demand fetches every chat again (a restart would only catch up).
      const { syncId } = await new SyncLedger(h.redis).request(h.queues, { sessionId: 'midsync', reason: 'manual', limitPerChat: 10 });
      await waitFor('the second sync to fetch', () => engine.inFlight > 0);
      engine.failStarts = 2; // an outage of three attempts
      engine.latest('midsync').drop('TIMEOUT');
      await waitFor('the sync to finish', () => doneSyncs('midsync').find((e) => e.syncId === syncId));
      expect(doneSyncs('midsync').find((e) => e.syncId === syncId)).toMatchObject({ nChats: CHATS.length, chatsFailed: 0 });
      // Only the fetches in flight when the connection dropped needed a second attempt.
      const queue = h.queues.get('midsync');
      const jobs = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.name === 'fetch-messages' && (j.data as { syncId: string }).syncId === syncId);
      expect(jobs).toHaveLength(CHATS.length);
      const retried = jobs.filter((j) => j.attemptsMade > 1).length;
      expect(retried).toBeLessThanOrEqual(FETCH_CONCURRENCY);
    } finally {
      engine.fetchMs = 15;
    }
  });

  it('gives up after the configured attempts, doubling the delay, and ends failed', async () => {
    await linked('giveup');
    const before = engine.clientsOf('giveup').length;
    engine.failStarts = 3;
    engine.latest('giveup').drop('UNPAIRED');
    await waitFor('failed', async () => (await statusOf('giveup')).status === 'failed');
    expect((await statusOf('giveup')).detail).toMatch(/client failed to start: cannot reach WhatsApp Web .*; gave up after 3 reconnect attempts/);
    expect(engine.clientsOf('giveup')).toHaveLength(before + 3);
    const waits = statusDetails('giveup').filter((d) => d.includes('reconnecting in')).map((d) => /in (\d+) ms/.exec(d)![1]);
    expect(waits).toEqual(['20', '40', '80']);
    expect(manager.has('giveup')).toBe(false);
    // The auth is kept: a restart (or a new start) can still bring it back.
    expect(engine.auth.has('giveup')).toBe(true);
  });

  it('a linked session whose start fails retries with backoff; a never-linked one fails at once', async () => {
    await linked('bootretry');
    await manager.stop('bootretry', { logout: false });
    engine.failStarts = 1;
    await manager.start('bootretry');
    await waitFor('ready again', async () => (await statusOf('bootretry')).status === 'ready');
    expect(statusDetails('bootretry')).toContain(
      'disconnected: client failed to start: cannot reach WhatsApp Web (net::ERR_NAME_NOT_RESOLVED): check the network; reconnecting in 20 ms (attempt 1/3)',
    );
    await manager.stop('bootretry', { logout: false });

    await store.ensureSession('neverlinked');
    engine.failStarts = 1;
    await manager.start('neverlinked');
    expect(await statusOf('neverlinked')).toEqual({
      status: 'failed',
      detail: 'client failed to start: cannot reach WhatsApp Web (net::ERR_NAME_NOT_RESOLVED): check the network',
    });
    expect(manager.has('neverlinked')).toBe(false);
  });

  it('a logout from the phone does not reconnect: disconnected, auth removed', async () => {
    await linked('phonelogout');
    const before = engine.clientsOf('phonelogout').length;
    engine.latest('phonelogout').drop('LOGOUT');
    await waitFor('disconnected', async () => (await statusOf('phonelogout')).status === 'disconnected');
    expect((await statusOf('phonelogout')).detail).toMatch(/logged out \(LOGOUT\): auth removed/);
    expect(engine.auth.has('phonelogout')).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.clientsOf('phonelogout')).toHaveLength(before);
    expect(manager.has('phonelogout')).toBe(false);
  });

  it('stop with logout forgets the auth; stopping during a backoff cancels the reconnect', async () => {
    await linked('logout');
    await manager.stop('logout', { logout: true });
    expect(await statusOf('logout')).toEqual({ status: 'stopped', detail: 'logged out' });
    expect(engine.auth.has('logout')).toBe(false);

    await linked('stopwait');
    const before = engine.clientsOf('stopwait').length;
    engine.failStarts = 0;
    engine.latest('stopwait').drop('CONFLICT');
    await waitFor('the backoff', async () => (await statusOf('stopwait')).status === 'disconnected');
    await manager.stop('stopwait', { logout: false });
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.clientsOf('stopwait')).toHaveLength(before);
    expect((await statusOf('stopwait')).status).toBe('stopped');
  });

  it('forwards connection state and loading progress as the status detail', async () => {
    await linked('state');
    engine.latest('state').emit('state', 'loading chats 50%');
    await waitFor('the detail', async () => (await statusOf('state')).detail === 'loading chats 50%');
    expect((await statusOf('state')).status).toBe('ready');
  });

  it('caps fetches at once per session and spaces their starts', () => {
    // Every sync above ran alone, so the global peak is the per-session one. The spacing holds
    // across a stop and start of the session (midsync) too.
    expect(engine.maxInFlight).toBe(FETCH_CONCURRENCY);
    for (const starts of engine.fetchStarts.values()) {
      const gaps = starts.slice(1).map((t, i) => t - starts[i]);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(FETCH_PAUSE_MS);
    }
  });

  it('a runner restart restores every session with auth (unless stopped) and they sync without a QR', async () => {
    // Sessions left by the tests above: drop (ready, auth), giveup (failed, auth), phonelogout
    // (disconnected, no auth), logout (stopped, no auth), stopwait (stopped, auth), authfail (failed, no auth).
    await manager.closeAll();
    const syncsBefore = doneSyncs('giveup').length;
    const qrsBefore = h.events.filter((e) => e.event === 'qr').length;
    manager = newManager();
    engine.holdStarts();
    const restoring = manager.restore();
    // Starts run side by side, never more than the bound at once.
    await waitFor('restores side by side', () => engine.startsInFlight === RESTORE_CONCURRENCY);
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.startsInFlight).toBe(RESTORE_CONCURRENCY);
    engine.releaseStarts();
    const restored = await restoring;
    expect(restored.sort()).toEqual(['drop', 'giveup', 'midsync', 'state']);
    await waitFor('the restored syncs', () => doneSyncs('giveup').length > syncsBefore);
    for (const id of restored) await waitFor(`${id} ready`, async () => (await statusOf(id)).status === 'ready');
    expect(h.events.filter((e) => e.event === 'qr')).toHaveLength(qrsBefore);
  });
});
