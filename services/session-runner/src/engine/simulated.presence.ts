import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from '@wa-sync/shared/runtime';

/**
 * The simulated phone's "linked device": a marker file per session in a directory every runner
 * can read (as webjs LocalAuth needs a shared volume), so a restart or a takeover by another
 * runner comes back `ready` without a QR.
 */
export class SimulatedAuthDir {
  constructor(private readonly dir: string) {}

  private file(sessionId: string): string {
    return join(this.dir, `sim-${sessionId}.linked`);
  }

  has(sessionId: string): boolean {
    return existsSync(this.file(sessionId));
  }

  save(sessionId: string): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.file(sessionId), new Date().toISOString());
  }

  remove(sessionId: string): void {
    rmSync(this.file(sessionId), { force: true });
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
