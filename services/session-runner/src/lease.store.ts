import { leaseHolder, RunnerKeys } from '@wa-sync/shared/contracts';
import type { Redis } from '@wa-sync/shared/runtime';

/** Takes the lease only when nobody holds it; the value carries a fresh fencing token. */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '#' .. token, 'PX', ARGV[2])
return token`;

/** Extends the lease only if it is still exactly ours (same runner and token). */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** Deletes the lease only if it is still exactly ours: a late release never frees someone else's. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface Lease {
  sessionId: string;
  /** `<runnerId>#<token>`, compared on every renew and release. */
  value: string;
  token: number;
}

/**
 * A lease per session in Redis with a fencing token. The token grows on every claim, so a runner
 * that lost its lease (expired, Redis restarted) can never renew or release the next holder's.
 */
export class LeaseStore {
  constructor(
    private readonly redis: Redis,
    private readonly runnerId: string,
    private readonly leaseMs: number,
  ) {}

  async acquire(sessionId: string): Promise<Lease | null> {
    const token = (await this.redis.eval(ACQUIRE, 2, RunnerKeys.lease(sessionId), RunnerKeys.leaseToken(sessionId), this.runnerId, this.leaseMs)) as
      | number
      | null;
    if (token === null || token === undefined) return null;
    return { sessionId, token: Number(token), value: `${this.runnerId}#${token}` };
  }

  /** True: extended by leaseMs. False: the lease is gone or someone else's (stop the client). */
  async renew(lease: Lease): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, RunnerKeys.lease(lease.sessionId), lease.value, this.leaseMs)) === 1;
  }

  async release(lease: Lease): Promise<boolean> {
    return (await this.redis.eval(RELEASE, 1, RunnerKeys.lease(lease.sessionId), lease.value)) === 1;
  }

  /** The runner holding the session's lease, or null. */
  async owner(sessionId: string): Promise<string | null> {
    return leaseHolder(await this.redis.get(RunnerKeys.lease(sessionId)));
  }
}
