import { z } from 'zod';

export const Healthy = z.object({ status: z.literal('ok') });

/** `ok`, or `down: <reason>` for the dependency that failed. */
const Check = z.string();

const Counts = z.object({ waiting: z.number().int(), active: z.number().int(), delayed: z.number().int(), failed: z.number().int() });

/** Informational: a broker outage delays deliveries (they wait and retry) but does not make the API unready. */
export const DeliveryHealth = z.object({
  /** `up`, `down: <reason>`, `off` (AMQP_URL not set), or `unknown: <why>` (no sync-workers process reported). */
  broker: z.string(),
  /** Per sync-workers process: its RabbitMQ connection. */
  workers: z.array(z.object({ worker: z.string(), state: z.string(), error: z.string().optional(), since: z.string() })),
  /** Delivery jobs per target: waiting/active (to send), delayed (waiting for a retry), failed (gave up); null if unreadable. */
  backlog: z.object({ amqp: Counts, webhook: Counts }).nullable(),
});

export const Readiness = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ redis: Check, store: Check }),
  delivery: DeliveryHealth,
});
export type DeliveryHealth = z.infer<typeof DeliveryHealth>;
export type Readiness = z.infer<typeof Readiness>;
