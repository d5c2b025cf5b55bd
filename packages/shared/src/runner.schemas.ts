import { z } from 'zod';
import type { Redis } from './redis.client';
import { QueueName } from './queue.names';

/**
 * Session ownership over several runners: the Redis keys and the registry every process reads
 * (the runners write them; the API reads them for `GET /whatsapp-web/runners` and `runnerId`).
 */
const P = 'wa-sync';

export const RunnerKeys = {
  /** String `<runnerId>#<token>` with a PX TTL: the runner that may run the session's client. */
  lease: (sessionId: string) => `${P}:lease:${sessionId}`,
  /** Counter: the fencing token, INCR'd on every claim so a stale owner's value never matches again. */
  leaseToken: (sessionId: string) => `${P}:lease-token:${sessionId}`,
  /** Hash runnerId → RunnerInfo JSON, refreshed on every heartbeat. */
  registry: `${P}:runners`,
  /** Pub/sub: "an unowned session wants a runner", so runners claim at once instead of at their next tick. */
  nudgeChannel: `${P}:runners:nudge`,
} as const;

/** Runner ids go into queue names and Redis keys: this alphabet only (no `:`). */
export const RunnerId = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'letters, digits, _ . - (1–100)');

export const RunnerInfo = z.object({
  id: z.string(),
  pid: z.number().int(),
  host: z.string(),
  /** Sessions whose lease this runner holds. */
  sessions: z.array(z.string()),
  /** ISO-8601 time of the last heartbeat. */
  heartbeatAt: z.string(),
  leaseMs: z.number().int(),
  /** null: unlimited. */
  maxSessions: z.number().int().nullable(),
  /** Resident memory of the runner and its child processes (whatsapp-web.js' Chromium), MiB. */
  rssMb: z.number().nonnegative().optional(),
  /** RUNNER_MAX_RSS_MB: claims no session past this; null or absent: no memory limit. */
  maxRssMb: z.number().int().nullable().optional(),
});
export type RunnerInfo = z.infer<typeof RunnerInfo>;

/** Each runner's own commands queue: commands for a session it owns are forwarded there. */
export function runnerCommandsQueueName(runnerId: string): string {
  return `${QueueName.sessionCommands}-${runnerId}`;
}

/** `<runnerId>#<token>` → runnerId. */
export function leaseHolder(value: string | null): string | null {
  if (!value) return null;
  const i = value.lastIndexOf('#');
  return i > 0 ? value.slice(0, i) : null;
}

/** True while the runner may take one more session (below its session and memory limits). */
export type RunnerLoad = Pick<RunnerInfo, 'maxSessions' | 'rssMb' | 'maxRssMb'> & { sessions: { readonly length: number } };

export function runnerHasRoom(info: RunnerLoad): boolean {
  if (info.maxSessions !== null && info.sessions.length >= info.maxSessions) return false;
  if (info.maxRssMb != null && info.rssMb !== undefined && info.rssMb >= info.maxRssMb) return false;
  return true;
}

/** A runner whose heartbeat is older than this many of its leases is dead for readers. */
const STALE_LEASES = 2;

export function isRunnerAlive(info: RunnerInfo, now = Date.now()): boolean {
  return now - Date.parse(info.heartbeatAt) <= info.leaseMs * STALE_LEASES;
}

/** Every runner with a recent heartbeat; entries that do not parse are skipped. */
export async function listRunners(redis: Redis, now = Date.now()): Promise<RunnerInfo[]> {
  const raw = await redis.hgetall(RunnerKeys.registry);
  const runners: RunnerInfo[] = [];
  for (const value of Object.values(raw)) {
    try {
      const parsed = RunnerInfo.safeParse(JSON.parse(value));
      if (parsed.success && isRunnerAlive(parsed.data, now)) runners.push(parsed.data);
    } catch {
      // garbage in the registry: not a runner
    }
  }
  return runners.sort((a, b) => a.id.localeCompare(b.id));
}

/** The owning runner of each session (null: unowned), in the order given. */
export async function sessionOwners(redis: Redis, sessionIds: string[]): Promise<(string | null)[]> {
  if (sessionIds.length === 0) return [];
  const values = await redis.mget(...sessionIds.map(RunnerKeys.lease));
  return values.map(leaseHolder);
}
