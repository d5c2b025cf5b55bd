import { type RunnerInfo, RunnerKeys, type RunnerLoad, runnerHasRoom, type Session, type SessionStatus } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import { type Logger, type Redis, withTimeout } from '@wa-sync/shared/runtime';
import type { WhatsAppEngine } from './engine/engine.interface';
import { type Lease, LeaseStore } from './lease.store';
import type { RunnerRegistry } from './runner.registry';

/** What ownership needs of the session manager. */
export interface OwnedSessions {
  start(sessionId: string): Promise<void>;
  release(sessionId: string): Promise<void>;
  /** Gives one session up the SIGTERM way (active jobs finish first), for rebalancing. */
  handOver(sessionId: string): Promise<void>;
  has(sessionId: string): boolean;
  isReady(sessionId: string): boolean;
  closeAll(): Promise<void>;
}

export interface OwnershipDeps {
  redis: Redis;
  /** A connection of its own for the nudge subscription (a subscriber cannot send commands). */
  subscriber: Redis;
  store: Store;
  engine: Pick<WhatsAppEngine, 'hasAuth'>;
  sessions: OwnedSessions;
  registry: RunnerRegistry;
  logger: Logger;
  runnerId: string;
  leaseMs: number;
  /** null: unlimited. */
  maxSessions: number | null;
  /** Client starts in flight at once (WA_RESTORE_CONCURRENCY): each webjs start launches a Chromium. */
  startConcurrency: number;
  /** Called for each session this runner owns, after a claim and round-robin on ticks (lost-sync detection). */
  onOwned?: (sessionId: string, claimed: boolean) => Promise<void>;
  /** RUNNER_REBALANCE: hand sessions, one at a time, to a runner with at least two fewer. */
  rebalance?: boolean;
  /** Owned sessions `onOwned` looks at per tick (round-robin): a big runner's tick stays short. */
  ownedChecksPerTick?: number;
}

/** Owned-session checks in flight at once during a tick. */
const OWNED_CHECK_CONCURRENCY = 8;

/** Running, or was running when its runner went away. */
const RUNNING: SessionStatus[] = ['starting', 'qr', 'authenticated', 'ready'];

interface Held {
  lease: Lease;
  /** The lease surely lives until then: the send time of the last successful renew + leaseMs. */
  validUntil: number;
}

/**
 * Which sessions this runner runs. Every lease/3 it renews all its leases in one round trip and
 * heartbeats its load (on a timer of its own, so thousands of sessions starting never delay a
 * renewal), and claims unowned sessions the store says should run: least loaded runner first, only
 * what it can hold, a bounded number starting at once. A guard on the local clock stops a client
 * whose lease could not be renewed a quarter lease before it can lapse, so two clients never run for
 * one session, even with Redis unreachable.
 */
export class SessionOwnership {
  private readonly leases: LeaseStore;
  private readonly held = new Map<string, Held>();
  private tickTimer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;
  private guardTimer?: NodeJS.Timeout;
  private ticking: Promise<void> | null = null;
  private renewing: Promise<void> | null = null;
  private again = false;
  private closing = false;
  private firstPass = true;
  private startsInFlight = 0;
  /** The last tick's error: an outage (Redis, the store) is one line when it starts, not one per tick. */
  private tickError: string | null = null;
  /** Renewals are failing (logged once when it starts). */
  private renewError = false;
  /** Unowned sessions the last claim pass left (room or start rate): a finished start claims again. */
  private leftUnclaimed = 0;
  /** Where the round-robin of owned-session checks goes on next tick. */
  private checkCursor = 0;

  constructor(private readonly deps: OwnershipDeps) {
    this.leases = new LeaseStore(deps.redis, deps.runnerId, deps.leaseMs);
  }

  get runnerId(): string {
    return this.deps.runnerId;
  }

  /** Sessions whose lease this runner holds. */
  owned(): string[] {
    return [...this.held.keys()].sort();
  }

  /** True while the lease is surely ours (checked before every job touches the client). */
  mayRun(sessionId: string): boolean {
    const h = this.held.get(sessionId);
    return !!h && h.validUntil > Date.now();
  }

  ownerOf(sessionId: string): Promise<string | null> {
    return this.leases.owner(sessionId);
  }

  async start(): Promise<void> {
    const { deps } = this;
    await deps.subscriber.subscribe(RunnerKeys.nudgeChannel);
    deps.subscriber.on('message', (channel) => {
      if (channel === RunnerKeys.nudgeChannel) this.tickNow();
    });
    const every = Math.max(50, Math.floor(deps.leaseMs / 3));
    // Renewals run on their own timer, one round trip for all leases: never behind claims and starts.
    this.renewTimer = setInterval(() => void this.renewNow(), every);
    this.tickTimer = setInterval(() => this.tickNow(), every);
    // Checked 5× per margin (lease/4): most of the margin is left for event-loop stalls and the stop.
    this.guardTimer = setInterval(() => this.guard(), Math.max(20, Math.min(1000, Math.floor(deps.leaseMs / 20))));
    await this.renewNow();
    await this.tickNow();
  }

  /** Renews every lease and heartbeats; skipped while the previous renewal is still out. */
  private renewNow(): Promise<void> {
    if (this.closing || this.renewing) return this.renewing ?? Promise.resolve();
    this.renewing = (async () => {
      await this.renewAll();
      await this.deps.registry.heartbeat(this.owned());
    })()
      .catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'lease renewal round failed'))
      .finally(() => (this.renewing = null));
    return this.renewing;
  }

  /** Runs a tick now (or right after the running one): release dropped, claim, rebalance, checks. */
  tickNow(): Promise<void> {
    if (this.closing) return Promise.resolve();
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.tick().then(
          () => {
            if (this.tickError) this.deps.logger.info('ownership ticks work again');
            this.tickError = null;
          },
          (err: Error) => {
            if (err.message !== this.tickError) this.deps.logger.warn({ err: err.message }, 'ownership tick failed: retrying every tick');
            this.tickError = err.message;
          },
        );
      } while (this.again && !this.closing);
    })().finally(() => (this.ticking = null));
    return this.ticking;
  }

  /** Tells every runner to claim now (a session was created or started). */
  async nudge(): Promise<void> {
    await this.deps.redis.publish(RunnerKeys.nudgeChannel, this.deps.runnerId);
  }

  /**
   * SIGTERM: stop every client (active jobs finish first), then release the leases and leave the
   * registry, and nudge the others so they take the sessions over at once.
   */
  async stop(): Promise<void> {
    this.closing = true;
    clearInterval(this.tickTimer);
    clearInterval(this.renewTimer);
    clearInterval(this.guardTimer);
    await this.ticking;
    await this.renewing;
    await this.deps.subscriber.unsubscribe().catch(() => undefined);
    await this.deps.sessions.closeAll();
    const held = [...this.held.values()];
    this.held.clear();
    await Promise.all(held.map((h) => this.leases.release(h.lease).catch(() => false)));
    await this.deps.registry.remove().catch(() => undefined);
    if (held.length) await this.nudge().catch(() => undefined);
    this.deps.logger.info({ released: held.map((h) => h.lease.sessionId) }, 'leases released');
  }

  private async tick(): Promise<void> {
    const t0 = Date.now();
    await this.releaseDropped();
    const others = await this.deps.registry.others();
    await this.claim(others);
    const t1 = Date.now();
    await this.rebalance(others);
    await this.checkOwned();
    this.deps.logger.debug({ claimMs: t1 - t0, checksMs: Date.now() - t1, owned: this.held.size }, 'ownership tick');
  }

  /** Lost-sync detection on a slice of the owned sessions per tick, a few at a time. */
  private async checkOwned(): Promise<void> {
    const { onOwned } = this.deps;
    if (!onOwned) return;
    const owned = this.owned();
    if (owned.length === 0) return;
    const budget = Math.min(owned.length, this.deps.ownedChecksPerTick ?? 200);
    const slice = Array.from({ length: budget }, (_, i) => owned[(this.checkCursor + i) % owned.length]);
    this.checkCursor = (this.checkCursor + budget) % owned.length;
    let next = 0;
    const lane = async () => {
      while (next < slice.length && !this.closing) {
        const sessionId = slice[next++];
        await onOwned(sessionId, false).catch((err) => this.deps.logger.warn({ sessionId, err: (err as Error).message }, 'owned-session check failed'));
      }
    };
    await Promise.all(Array.from({ length: Math.min(OWNED_CHECK_CONCURRENCY, slice.length) }, lane));
  }

  private async renewAll(): Promise<void> {
    const held = [...this.held.values()];
    if (held.length === 0) return;
    const timeoutMs = Math.max(50, Math.floor(this.deps.leaseMs / 3));
    const sentAt = Date.now();
    let renewed: boolean[];
    try {
      renewed = await withTimeout(this.leases.renewMany(held.map((h) => h.lease)), timeoutMs, 'lease renewal timed out');
    } catch (err) {
      // Kept until the guard sees them near their end: the next round may still succeed.
      if (!this.renewError) this.deps.logger.warn({ leases: held.length, err: (err as Error).message }, 'lease renewal failed: retrying every round');
      this.renewError = true;
      return;
    }
    if (this.renewError) this.deps.logger.info({ leases: held.length }, 'lease renewals work again');
    this.renewError = false;
    held.forEach((h, i) => {
      if (this.held.get(h.lease.sessionId) !== h) return;
      if (renewed[i]) h.validUntil = sentAt + this.deps.leaseMs;
      else this.lose(h, 'lease lost (expired or taken)');
    });
  }

  /** Local clock only: no Redis round trip stands between a stale lease and stopping its client. */
  private guard(): void {
    const margin = this.deps.leaseMs / 4;
    const now = Date.now();
    for (const h of this.held.values()) {
      if (h.validUntil - now < margin) this.lose(h, 'lease could not be renewed in time');
    }
  }

  private lose(h: Held, why: string): void {
    const { sessionId } = h.lease;
    if (this.held.get(sessionId) !== h) return;
    this.held.delete(sessionId);
    this.deps.logger.warn({ sessionId, fence: h.lease.token, why }, 'stopping the client: lease no longer ours');
    // Not awaited by the tick: closing the worker may wait on Redis, and renewals must go on.
    // The client stops first; then the lease is freed at once when Redis answers, or lapses.
    void this.deps.sessions
      .release(sessionId)
      .then(() => this.leases.release(h.lease))
      .catch((err) => this.deps.logger.warn({ sessionId, err: (err as Error).message }, 'releasing a lost session failed'));
  }

  /** The manager dropped a session itself (stop, logout, failure): its lease goes too. */
  private async releaseDropped(): Promise<void> {
    for (const h of [...this.held.values()]) {
      if (this.deps.sessions.has(h.lease.sessionId)) continue;
      this.held.delete(h.lease.sessionId);
      await this.leases.release(h.lease).catch(() => false);
      this.deps.logger.info({ sessionId: h.lease.sessionId }, 'lease released: session no longer running here');
    }
  }

  private async wanted(s: Session, boot: boolean): Promise<boolean> {
    if (RUNNING.includes(s.status)) return true;
    // Reconnecting when its runner went away; at boot, also what `restore()` always brought back.
    if (s.status === 'disconnected' || (boot && s.status !== 'stopped')) return this.deps.engine.hasAuth(s.sessionId);
    return false;
  }

  /** This runner as the others see it, for the least-loaded comparison. */
  private selfInfo(): RunnerLoad {
    // Only the count: this runs for every candidate of a claim pass, so no list is built here.
    return { sessions: { length: this.held.size }, rssMb: this.deps.registry.rssMb, ...this.deps.registry.limits };
  }

  /**
   * Another runner should take the next session: it has room and fewer sessions, or as many and
   * clearly more memory headroom. So sessions spread evenly and go where memory is.
   */
  private lighterThanMe(others: RunnerInfo[]): boolean {
    const mine = this.held.size;
    const myHeadroom = headroomMb(this.selfInfo());
    return others.some(
      (r) => runnerHasRoom(r) && (r.sessions.length < mine || (r.sessions.length === mine && headroomMb(r) > myHeadroom * 1.1 + 64)),
    );
  }

  /**
   * Claims unowned sessions the store says should run, only as many as this runner can hold and
   * at most `startConcurrency` starting at once; a start that ends claims again if some were left.
   */
  private async claim(others: RunnerInfo[]): Promise<void> {
    const { deps } = this;
    const boot = this.firstPass;
    const sessions = await deps.store.listSessions();
    const candidates: string[] = [];
    for (const s of sessions) {
      if (!this.held.has(s.sessionId) && (await this.wanted(s, boot))) candidates.push(s.sessionId);
    }
    this.firstPass = false;
    this.leftUnclaimed = 0;
    if (candidates.length === 0) return;
    const current = await deps.redis.mget(...candidates.map(RunnerKeys.lease));
    const unowned = candidates.filter((_, i) => current[i] === null).sort();
    let claimed = 0;
    for (const [i, sessionId] of unowned.entries()) {
      if (this.closing || !runnerHasRoom(this.selfInfo()) || this.startsInFlight >= deps.startConcurrency || this.lighterThanMe(others)) {
        this.leftUnclaimed = unowned.length - i;
        break;
      }
      // From the send time, as for renewals: Redis started the lease's clock later than that.
      const sentAt = Date.now();
      const lease = await this.leases.acquire(sessionId);
      if (!lease) continue;
      const held: Held = { lease, validUntil: sentAt + deps.leaseMs };
      this.held.set(sessionId, held);
      // The session may have been stopped between the list and the claim.
      const fresh = await deps.store.getSession(sessionId);
      if (!fresh || !(await this.wanted(fresh, boot))) {
        this.held.delete(sessionId);
        await this.leases.release(lease);
        continue;
      }
      claimed++;
      deps.logger.info({ sessionId, fence: lease.token, owned: this.held.size }, 'session claimed');
      await deps.onOwned?.(sessionId, true).catch((err) => deps.logger.warn({ sessionId, err: (err as Error).message }, 'claimed-session check failed'));
      this.startsInFlight++;
      void deps.sessions
        .start(sessionId)
        .catch((err) => deps.logger.error({ sessionId, err }, 'starting a claimed session failed'))
        .finally(() => {
          this.startsInFlight--;
          if (this.leftUnclaimed > 0) void this.tickNow();
        });
    }
    // Once per pass, not per claim: the entry lists every owned session.
    if (claimed > 0) await deps.registry.heartbeat(this.owned());
  }

  /**
   * RUNNER_REBALANCE: while a runner with room has at least two sessions fewer, and no session is
   * waiting for a runner, hand one session over per tick through the SIGTERM path; the lighter
   * runner claims it (this one defers to it), restored without a QR.
   */
  private async rebalance(others: RunnerInfo[]): Promise<void> {
    if (!this.deps.rebalance || this.closing || this.leftUnclaimed > 0 || this.held.size === 0) return;
    const lightest = others.filter(runnerHasRoom).sort((a, b) => a.sessions.length - b.sessions.length)[0];
    if (!lightest || this.held.size - lightest.sessions.length < 2) return;
    const sessionId = this.owned().at(-1)!;
    const h = this.held.get(sessionId)!;
    this.deps.logger.info({ sessionId, to: lightest.id, owned: this.held.size, theirs: lightest.sessions.length }, 'handing a session over for balance');
    await this.deps.sessions.handOver(sessionId);
    if (this.held.get(sessionId) === h) this.held.delete(sessionId);
    await this.leases.release(h.lease).catch(() => false);
    await this.deps.registry.heartbeat(this.owned());
    await this.nudge();
  }
}

/** MiB a runner may still grow by before RUNNER_MAX_RSS_MB; unlimited without one. */
function headroomMb(r: Pick<RunnerInfo, 'rssMb' | 'maxRssMb'>): number {
  return r.maxRssMb != null ? r.maxRssMb - (r.rssMb ?? 0) : Number.POSITIVE_INFINITY;
}
