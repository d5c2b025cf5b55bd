import { leaseHolder, RunnerKeys } from '@wa-sync/shared/contracts';
import { type Redis, Script, useScripts } from '@wa-sync/shared/runtime';

export interface Lease {
  sessionId: string;
  /** `<runnerId>#<token>`, compared on every renew and release. */
  value: string;
  token: number;
}

/** Leases renewed per round trip: one script call stays short even for thousands of sessions. */
const RENEW_BATCH = 500;

/**
 * A lease per session in Redis with a fencing token. The token grows on every claim, so a runner
 * that lost its lease (expired, Redis restarted) can never renew or release the next holder's.
 */
export class LeaseStore {
  constructor(
    private readonly redis: Redis,
    private readonly runnerId: string,
    private readonly leaseMs: number,
  ) {
    useScripts(redis, 'leaseAcquire', 'leaseRenew', 'leaseRenewMany', 'compareAndDelete');
  }

  async acquire(sessionId: string): Promise<Lease | null> {
    // Only when nobody holds it; the value carries a fresh fencing token.
    const token = await this.redis[Script.leaseAcquire](RunnerKeys.lease(sessionId), RunnerKeys.leaseToken(sessionId), this.runnerId, this.leaseMs);
    if (token === null || token === undefined) return null;
    return { sessionId, token: Number(token), value: `${this.runnerId}#${token}` };
  }

  /** True: extended by leaseMs. False: the lease is gone or someone else's (stop the client). */
  async renew(lease: Lease): Promise<boolean> {
    return (await this.redis[Script.leaseRenew](RunnerKeys.lease(lease.sessionId), lease.value, this.leaseMs)) === 1;
  }

  /** `renew` for many leases in one round trip per RENEW_BATCH; the answers in the order given. */
  async renewMany(leases: Lease[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let i = 0; i < leases.length; i += RENEW_BATCH) {
      const batch = leases.slice(i, i + RENEW_BATCH);
      const keys = batch.map((l) => RunnerKeys.lease(l.sessionId));
      const replies = await this.redis[Script.leaseRenewMany](batch.length, ...keys, this.leaseMs, ...batch.map((l) => l.value));
      out.push(...replies.map((r) => r === 1));
    }
    return out;
  }

  /** Only while it is still exactly ours: a late release never frees someone else's. */
  async release(lease: Lease): Promise<boolean> {
    return (await this.redis[Script.compareAndDelete](RunnerKeys.lease(lease.sessionId), lease.value)) === 1;
  }

  /** The runner holding the session's lease, or null. */
  async owner(sessionId: string): Promise<string | null> {
    return leaseHolder(await this.redis.get(RunnerKeys.lease(sessionId)));
  }
}
