import type { Queue } from 'bullmq';
import { Keys } from './redis.keys';
import { QueueName } from './queue.names';
import type { Redis } from './redis.client';

/** `off`: AMQP_URL is not set in that process. */
export type BrokerState = 'up' | 'down' | 'connecting' | 'off';

/** What one sync-workers process says about its RabbitMQ connection. */
export interface BrokerReport {
  /** The reporting process (`<host>-<pid>`). */
  worker: string;
  state: BrokerState;
  /** Why it is down (connection error), when it is. */
  error?: string;
  /** When the state last changed (ISO-8601). */
  since: string;
  /** Epoch ms of the report; reports older than BROKER_REPORT_STALE_MS are ignored (process gone). */
  at: number;
}

/** Each process refreshes its report this often, and at once on every state change. */
export const BROKER_REPORT_EVERY_MS = 5_000;
export const BROKER_REPORT_STALE_MS = 3 * BROKER_REPORT_EVERY_MS;

export async function writeBrokerReport(redis: Redis, report: BrokerReport): Promise<void> {
  await redis.hset(Keys.deliveryBrokers, report.worker, JSON.stringify(report));
}

export async function removeBrokerReport(redis: Redis, worker: string): Promise<void> {
  await redis.hdel(Keys.deliveryBrokers, worker);
}

/** The fresh reports; stale ones (a process that died without removing its own) are deleted. */
export async function readBrokerReports(redis: Redis, now = Date.now()): Promise<BrokerReport[]> {
  const raw = await redis.hgetall(Keys.deliveryBrokers);
  const fresh: BrokerReport[] = [];
  const stale: string[] = [];
  for (const [worker, json] of Object.entries(raw)) {
    let report: BrokerReport | null = null;
    try {
      report = JSON.parse(json) as BrokerReport;
    } catch {
      report = null;
    }
    if (report && typeof report.at === 'number' && now - report.at <= BROKER_REPORT_STALE_MS) fresh.push(report);
    else stale.push(worker);
  }
  if (stale.length) await redis.hdel(Keys.deliveryBrokers, ...stale);
  return fresh.sort((a, b) => a.worker.localeCompare(b.worker));
}

/**
 * One word for /readyz: `up` when every process that publishes to RabbitMQ is connected,
 * `down: <reason>` when one is not, `off` when none has AMQP_URL, `unknown: …` when no
 * sync-workers process reported at all.
 */
export function summarizeBroker(reports: BrokerReport[]): string {
  if (reports.length === 0) return 'unknown: no sync-workers process reported';
  const enabled = reports.filter((r) => r.state !== 'off');
  if (enabled.length === 0) return 'off';
  const notUp = enabled.find((r) => r.state !== 'up');
  if (!notUp) return 'up';
  return `down: ${notUp.state}${notUp.error ? ` (${notUp.error})` : ''} since ${notUp.since} on ${notUp.worker}`;
}

export const DELIVERY_QUEUES = { amqp: QueueName.deliveryAmqp, webhook: QueueName.deliveryWebhook } as const;
export type DeliveryTarget = keyof typeof DELIVERY_QUEUES;

export interface DeliveryCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}
export type DeliveryBacklog = Record<DeliveryTarget, DeliveryCounts>;

/** Jobs not delivered yet (waiting, active, delayed for a retry) and given up (failed), per target. */
export async function readDeliveryBacklog(queues: Record<DeliveryTarget, Pick<Queue, 'getJobCounts'>>): Promise<DeliveryBacklog> {
  const entries = await Promise.all(
    (Object.keys(DELIVERY_QUEUES) as DeliveryTarget[]).map(async (target) => {
      const c = await queues[target].getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
      const counts: DeliveryCounts = { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
      return [target, counts] as const;
    }),
  );
  return Object.fromEntries(entries) as DeliveryBacklog;
}
