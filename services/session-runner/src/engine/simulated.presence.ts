import type { AuthState } from '../auth/auth-state.interface';
import { DirAuthState } from '../auth/dir.auth-state';
import type { Redis } from '@wa-sync/shared/runtime';

/**
 * The simulated phone's "linked device": a marker per session in the configured auth state
 * (WA_AUTH_STORE: a directory every runner can read, the store or the blob store), as whatsapp-web.js
 * keeps its profile, so a restart or a takeover by another runner comes back `ready` without a QR.
 */
export class SimulatedLink {
  constructor(private readonly auth: AuthState) {}

  async has(sessionId: string): Promise<boolean> {
    return (await this.auth.load(sessionId)) !== null;
  }

  save(sessionId: string): Promise<void> {
    return this.auth.save(sessionId, Buffer.from(new Date().toISOString()));
  }

  remove(sessionId: string): Promise<void> {
    return this.auth.remove(sessionId);
  }
}

/** The marker's file name in WA_AUTH_DIR (WA_AUTH_STORE=dir), as before the auth state had an interface. */
export const simulatedAuthFile = (sessionId: string) => `sim-${sessionId}.linked`;

/** The markers in a directory (WA_AUTH_STORE=dir), as the runner tests make them. */
export class SimulatedAuthDir extends SimulatedLink {
  constructor(dir: string) {
    super(new DirAuthState(dir, simulatedAuthFile));
  }
}

/** Redis hash per session: one field per live simulated client (`<pid>:<n>`), for tests. */
export const liveClientsKey = (sessionId: string) => `wa-sync:sim:clients:${sessionId}`;
/** Counter: client starts that found another live client of the same session (must stay 0). */
export const OVERLAPS_KEY = 'wa-sync:sim:overlaps';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Records live clients per session in Redis, so a test can check that two never run at once.
 * A field of a killed process stays behind: readers count only fields whose pid is alive (tests
 * run every process on one host).
 */
export class ClientTracker {
  private seq = 0;

  constructor(private readonly redis: Redis) {}

  async up(sessionId: string): Promise<string> {
    const field = `${process.pid}:${++this.seq}`;
    await this.redis.hset(liveClientsKey(sessionId), field, Date.now());
    const alive = await liveClientCount(this.redis, sessionId);
    if (alive > 1) await this.redis.incr(OVERLAPS_KEY);
    return field;
  }

  async down(sessionId: string, field: string): Promise<void> {
    await this.redis.hdel(liveClientsKey(sessionId), field);
  }
}

/** Live simulated clients of the session right now (fields of dead processes ignored). */
export async function liveClientCount(redis: Redis, sessionId: string): Promise<number> {
  const fields = await redis.hkeys(liveClientsKey(sessionId));
  return fields.filter((f) => pidAlive(Number(f.split(':')[0]))).length;
}
