import type { MinimalJob } from 'bullmq';
import { QueueName } from '@wa-sync/shared/contracts';
import type { DeliveryConfig } from './delivery.config';

/** ±20 %: retries of many deliveries that failed together (a broker outage) spread out. */
const JITTER = 0.2;

/**
 * The delay before retry `attempt` (1 = first retry): `baseMs` doubling per try, jittered, never
 * above `maxMs`.
 */
export function deliveryDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(Math.min(maxMs, exp * (1 - JITTER + 2 * JITTER * random())));
}

/**
 * BullMQ backoff strategy of the delivery queues (`backoff.type: 'delivery'`): capped
 * exponential with jitter while the next try still falls within `retryForMs` of the job's
 * creation; -1 (BullMQ: do not retry, fail the job) after that.
 */
export function deliveryBackoffStrategy(config: DeliveryConfig, now = Date.now) {
  return (attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob): number => {
    const isAmqp = job?.queueName === QueueName.deliveryAmqp;
    const base = job?.opts.backoff && typeof job.opts.backoff === 'object' ? (job.opts.backoff.delay ?? 1_000) : 1_000;
    const max = isAmqp ? (config.amqp?.maxBackoffMs ?? 60_000) : config.webhooks.maxBackoffMs;
    const delay = deliveryDelay(attemptsMade, base, max);
    const createdAt = job?.timestamp ?? now();
    if (now() + delay - createdAt > config.retryForMs) return -1;
    return delay;
  };
}
