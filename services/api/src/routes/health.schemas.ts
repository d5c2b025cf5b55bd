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

const DependencyCheck = z.object({ state: z.enum(['up', 'down', 'connecting', 'off']), error: z.string().optional(), since: z.string() });

/** What one session-runner or sync-workers process last reported of its own Redis and store (reported, not gating). */
export const ProcessHealthReport = z.object({
  process: z.string(),
  service: z.string(),
  checks: z.object({ redis: DependencyCheck.optional(), store: DependencyCheck.optional(), broker: DependencyCheck.optional() }),
  /** Seconds since its last report (reports go stale after 15 s: the process is gone or cut off from Redis). */
  ageS: z.number(),
});

/** What the operator sees (any caller when auth is off). */
export const Readiness = z.object({
  /** The API's own Redis and store answer: traffic may come. */
  ready: z.boolean(),
  status: z.enum(['ok', 'unavailable']),
  /**
   * `redis` and `store` decide `ready`; `broker` (`ok`, `off`, `down: …`, `unknown: …`) and `media`
   * (the blob store, when one is configured: `ok` or `down: …`) are reported only.
   */
  checks: z.object({ redis: Check, store: Check, broker: Check, media: Check.optional() }),
  delivery: DeliveryHealth,
  /** The other processes, as they report themselves through Redis (empty while Redis is down). */
  processes: z.array(ProcessHealthReport),
});

/** Without the operator key (auth on): ready or not and each dependency's `ok`/`down`; no reasons, worker ids or hosts. */
/** A check's state without its reason: `down: …` is `down`, `unknown: …` is `unknown`. */
const PublicCheck = z.enum(['ok', 'down', 'off', 'unknown']);
export const PublicReadiness = z.object({
  ready: z.boolean(),
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({ redis: PublicCheck, store: PublicCheck, broker: PublicCheck, media: PublicCheck.optional() }),
});
export type PublicReadiness = z.infer<typeof PublicReadiness>;
export type DeliveryHealth = z.infer<typeof DeliveryHealth>;
export type Readiness = z.infer<typeof Readiness>;
