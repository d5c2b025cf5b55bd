import { RunnerKeys, type Session, type SessionStatus } from '@wa-sync/shared/contracts';
import type { Store } from '@wa-sync/shared/store';
import { type Logger, type Redis, withTimeout } from '@wa-sync/shared/runtime';
import type { WhatsAppEngine } from './engine/engine.interface';
import { type Lease, LeaseStore } from './lease.store';
import type { RunnerRegistry } from './runner.registry';

/** What ownership needs of the session manager. */
export interface OwnedSessions {
  start(sessionId: string): Promise<void>;
  release(sessionId: string): Promise<void>;
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
  /** Called for each session this runner owns, after a claim and on every tick (lost-sync detection). */
  onOwned?: (sessionId: string, claimed: boolean) => Promise<void>;
}

/** Running, or was running when its runner went away. */
const RUNNING: SessionStatus[] = ['starting', 'qr', 'authenticated', 'ready'];

interface Held {
  lease: Lease;
  /** The lease surely lives until then: the send time of the last successful renew + leaseMs. */
  validUntil: number;
}

/**
 * Which sessions this runner runs. Every lease/3 it renews its leases, heartbeats, and claims
 * unowned sessions the store says should run, least loaded runner first. A guard on the local
 * clock stops a client whose lease could not be renewed a quarter lease before it can lapse, so
 * two clients never run for one session, even with Redis unreachable.
 */
export class SessionOwnership {
  private readonly leases: LeaseStore;
  private readonly held = new Map<string, Held>();
  private tickTimer?: NodeJS.Timeout;
  private guardTimer?: NodeJS.Timeout;
  private ticking: Promise<void> | null = null;
  private again = false;
  private closing = false;
  private firstPass = true;
  private startsInFlight = 0;
  /** The last tick's error: an outage (Redis, the store) is one line when it starts, not one per tick. */
  private tickError: string | null = null;

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
    this.tickTimer = setInterval(() => this.tickNow(), every);
    this.guardTimer = setInterval(() => this.guard(), Math.max(20, Math.min(1000, Math.floor(deps.leaseMs / 10))));
    await this.tickNow();
  }

  /** Runs a tick now (or right after the running one): renew, heartbeat, claim. */
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
    clearInterval(this.guardTimer);
    await this.ticking;
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
    await this.renewAll();
    const t1 = Date.now();
    await this.releaseDropped();
    await this.deps.registry.heartbeat(this.owned());
    const t2 = Date.now();
    await this.claim();
    this.deps.logger.debug({ renewMs: t1 - t0, heartbeatMs: t2 - t1, claimMs: Date.now() - t2 }, 'ownership tick');
    if (this.deps.onOwned) {
      for (const sessionId of this.owned()) {
        await this.deps.onOwned(sessionId, false).catch((err) => this.deps.logger.warn({ sessionId, err: (err as Error).message }, 'owned-session check failed'));
      }
    }
  }

  private async renewAll(): Promise<void> {
    const timeoutMs = Math.max(50, Math.floor(this.deps.leaseMs / 3));
    await Promise.all(
      [...this.held.values()].map(async (h) => {
        const sentAt = Date.now();
        try {
          const ok = await withTimeout(this.leases.renew(h.lease), timeoutMs, 'lease renewal timed out');
          if (this.held.get(h.lease.sessionId) !== h) return;
          if (ok) h.validUntil = sentAt + this.deps.leaseMs;
          else this.lose(h, 'lease lost (expired or taken)');
        } catch (err) {
          // Kept until the guard sees it near its end: the next renew may still succeed.
          this.deps.logger.warn({ sessionId: h.lease.sessionId, err: (err as Error).message }, 'lease renewal failed');
        }
      }),
    );
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

  private async claim(): Promise<void> {
    const { deps } = this;
    const boot = this.firstPass;
    const sessions = await deps.store.listSessions();
    const candidates: string[] = [];
    for (const s of sessions) {
      if (!this.held.has(s.sessionId) && (await this.wanted(s, boot))) candidates.push(s.sessionId);
    }
    this.firstPass = false;
    if (candidates.length === 0) return;
    const current = await deps.redis.mget(...candidates.map(RunnerKeys.lease));
    const unowned = candidates.filter((_, i) => current[i] === null).sort();
    for (const sessionId of unowned) {
      if (this.closing) return;
      if (deps.maxSessions !== null && this.held.size >= deps.maxSessions) return;
      if (this.startsInFlight >= deps.startConcurrency) return;
      // Least loaded first: leave it to a runner with fewer sessions and room for one more.
      const others = await deps.registry.others();
      const lighter = others.some((r) => r.sessions.length < this.held.size && (r.maxSessions === null || r.sessions.length < r.maxSessions));
      if (lighter) return;
      const lease = await this.leases.acquire(sessionId);
      if (!lease) continue;
      const held: Held = { lease, validUntil: Date.now() + deps.leaseMs };
      this.held.set(sessionId, held);
      // The session may have been stopped between the list and the claim.
      const fresh = await deps.store.getSession(sessionId);
      if (!fresh || !(await this.wanted(fresh, boot))) {
        this.held.delete(sessionId);
        await this.leases.release(lease);
        continue;
      }
      await deps.registry.heartbeat(this.owned());
      deps.logger.info({ sessionId, fence: lease.token, owned: this.held.size }, 'session claimed');
      await deps.onOwned?.(sessionId, true).catch((err) => deps.logger.warn({ sessionId, err: (err as Error).message }, 'claimed-session check failed'));
      this.startsInFlight++;
      void deps.sessions
        .start(sessionId)
        .catch((err) => deps.logger.error({ sessionId, err }, 'starting a claimed session failed'))
        .finally(() => this.startsInFlight--);
    }
  }
}
