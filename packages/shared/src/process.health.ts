import type { Logger } from './logger.factory';
import type { Redis } from './redis.client';
import { Keys } from './redis.keys';

/** `off`: not configured in that process (AMQP_URL unset). */
export type DependencyState = 'up' | 'down' | 'connecting' | 'off';
export type DependencyName = 'redis' | 'store' | 'broker';

export interface DependencyCheck {
  state: DependencyState;
  /** The last error, while it is not up. */
  error?: string;
  /** When the state last changed (ISO-8601). */
  since: string;
}

/** What one runner or sync-workers process sees of its dependencies, for the API's /readyz and /metrics. */
export interface ProcessReport {
  process: string;
  service: string;
  checks: Partial<Record<DependencyName, DependencyCheck>>;
  /** Epoch ms of the report; older than PROCESS_REPORT_STALE_MS means the process is gone (or cut off from Redis). */
  at: number;
}

export const PROCESS_REPORT_EVERY_MS = 5_000;
export const PROCESS_REPORT_STALE_MS = 3 * PROCESS_REPORT_EVERY_MS;

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/** A Redis error that only says the connection is down (ioredis retries it; the state line says so). */
export function isRedisConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (
    (typeof code === 'string' && CONNECTION_CODES.has(code)) ||
    err.message === 'Connection is closed.' ||
    err.message.startsWith("Stream isn't writeable") ||
    err.message === 'Command timed out'
  );
}

/**
 * The dependencies of one process: one log line per state change (warn when one goes, info when it
 * is back), never one per retry; and, once `report` is called, a report in Redis refreshed every
 * PROCESS_REPORT_EVERY_MS and at once on every change.
 */
export class ProcessHealth {
  private readonly checks: Partial<Record<DependencyName, DependencyCheck>> = {};
  private redis: Redis | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly service: string,
    readonly process: string,
    private readonly logger: Logger,
  ) {}

  set(name: DependencyName, state: DependencyState, error?: string): void {
    const check = this.checks[name];
    if (check && check.state === state) {
      check.error = state === 'up' ? undefined : (error ?? check.error);
      return;
    }
    this.checks[name] = { state, error: state === 'up' ? undefined : error, since: new Date().toISOString() };
    if (state === 'down') this.logger.warn({ dependency: name, err: error }, `${name} unavailable: retrying until it is back`);
    else if (state === 'up' && check) this.logger.info({ dependency: name, downSince: check.since }, `${name} available again`);
    void this.send();
  }

  snapshot(): Partial<Record<DependencyName, DependencyCheck>> {
    return JSON.parse(JSON.stringify(this.checks)) as Partial<Record<DependencyName, DependencyCheck>>;
  }

  /** Follows one ioredis connection (adds the error listener, so ioredis never prints its own). */
  watchRedis(connection: Redis): void {
    // 'reconnecting', not 'close': a quit at shutdown closes too, and is no outage.
    connection.on('error', (err: Error) => this.set('redis', 'down', err.message));
    connection.on('reconnecting', () => this.set('redis', 'down'));
    connection.on('ready', () => this.set('redis', 'up'));
    if (connection.status === 'ready') this.set('redis', 'up');
  }

  /** Writes the report into Redis now and every PROCESS_REPORT_EVERY_MS (until `stop`). */
  report(redis: Redis): void {
    this.redis = redis;
    void this.send();
    this.timer = setInterval(() => void this.send(), PROCESS_REPORT_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const redis = this.redis;
    this.redis = null;
    if (redis?.status === 'ready') await redis.hdel(Keys.processHealth, this.process).catch(() => undefined);
  }

  private async send(): Promise<void> {
    const redis = this.redis;
    // While Redis is down the report cannot be written: the API sees it go stale.
    if (!redis || redis.status !== 'ready') return;
    const report: ProcessReport = { process: this.process, service: this.service, checks: this.checks, at: Date.now() };
    await redis.hset(Keys.processHealth, this.process, JSON.stringify(report)).catch(() => undefined);
  }
}

/** Fresh reports of every runner and sync-workers process; stale ones are deleted. */
export async function readProcessReports(redis: Redis, now = Date.now()): Promise<ProcessReport[]> {
  const raw = await redis.hgetall(Keys.processHealth);
  const fresh: ProcessReport[] = [];
  const stale: string[] = [];
  for (const [id, json] of Object.entries(raw)) {
    let report: ProcessReport | null = null;
    try {
      report = JSON.parse(json) as ProcessReport;
    } catch {
      report = null;
    }
    if (report && typeof report.at === 'number' && now - report.at <= PROCESS_REPORT_STALE_MS) fresh.push(report);
    else stale.push(id);
  }
  if (stale.length) await redis.hdel(Keys.processHealth, ...stale);
  return fresh.sort((a, b) => a.process.localeCompare(b.process));
}
