import { isRunnerAlive, type RunnerInfo, RunnerInfo as RunnerInfoSchema, RunnerKeys } from '@wa-sync/shared/contracts';
import type { Redis } from '@wa-sync/shared/runtime';

/** Entries this many leases old are removed by whichever runner heartbeats next. */
const PRUNE_AFTER_LEASES = 4;

type Self = Omit<RunnerInfo, 'sessions' | 'heartbeatAt' | 'rssMb'>;

/** This runner's entry in the registry: written on every heartbeat, removed on shutdown. */
export class RunnerRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly self: Self,
    /** The runner's memory in MiB, children included (sampled at each heartbeat). */
    private readonly sampleRssMb: () => number = () => process.memoryUsage().rss / 2 ** 20,
  ) {}

  get id(): string {
    return this.self.id;
  }

  get limits(): Pick<RunnerInfo, 'maxSessions' | 'maxRssMb'> {
    return { maxSessions: this.self.maxSessions, maxRssMb: this.self.maxRssMb ?? null };
  }

  /** The last sampled memory (MiB), for the claim's room check between heartbeats. */
  rssMb = 0;

  async heartbeat(sessions: string[]): Promise<void> {
    this.rssMb = Math.round(this.sampleRssMb());
    const info: RunnerInfo = { ...this.self, sessions: [...sessions].sort(), heartbeatAt: new Date().toISOString(), rssMb: this.rssMb };
    await this.redis.hset(RunnerKeys.registry, this.self.id, JSON.stringify(info));
  }

  async remove(): Promise<void> {
    await this.redis.hdel(RunnerKeys.registry, this.self.id);
  }

  /** The other live runners, and removes the entries of runners long dead. */
  async others(now = Date.now()): Promise<RunnerInfo[]> {
    const raw = await this.redis.hgetall(RunnerKeys.registry);
    const alive: RunnerInfo[] = [];
    const dead: string[] = [];
    for (const [id, value] of Object.entries(raw)) {
      if (id === this.self.id) continue;
      let info: RunnerInfo | null = null;
      try {
        const parsed = RunnerInfoSchema.safeParse(JSON.parse(value));
        info = parsed.success ? parsed.data : null;
      } catch {
        info = null;
      }
      if (info && isRunnerAlive(info, now)) alive.push(info);
      else if (!info || now - Date.parse(info.heartbeatAt) > info.leaseMs * PRUNE_AFTER_LEASES) dead.push(id);
    }
    if (dead.length) await this.redis.hdel(RunnerKeys.registry, ...dead);
    return alive;
  }
}
