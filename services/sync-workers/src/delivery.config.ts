import { hostname } from 'node:os';
import type { SessionEventName } from '@wa-sync/shared/contracts';
import { type WebhookUrlPolicy, webhookUrlPolicy, webhookUrlRefusalResolved } from '@wa-sync/shared/runtime';
import type { WorkersEnv } from './env';

/** Where session events go downstream, and how hard to try. Built from the env once at boot. */
export interface DeliveryConfig {
  /** Absent: RabbitMQ delivery is off. */
  amqp?: { url: string; queue: string; events: SessionEventName[]; backoffMs: number; maxBackoffMs: number };
  webhooks: {
    urls: string[];
    secret?: string;
    /** Also the events of a session webhook that names none. */
    events: SessionEventName[];
    backoffMs: number;
    maxBackoffMs: number;
    timeoutMs: number;
    /** WEBHOOK_SECRET_KEY: opens session webhook secrets sealed by the API. */
    secretKey?: string;
    /** The SSRF rule (WEBHOOK_ALLOW_PRIVATE, WEBHOOK_ALLOWED_HOSTS), checked again at send time. */
    policy: WebhookUrlPolicy;
  };
  /** Retries stop this long after the event was logged; the job then stays failed. */
  retryForMs: number;
  concurrency: number;
  keepCompleted: number;
  keepFailed: number;
  /** The live-event dispatcher's full pass over every session log. */
  sweepMs: number;
  /** This process, in broker reports. */
  workerId: string;
}

export function deliveryConfigFromEnv(env: WorkersEnv): DeliveryConfig {
  return {
    amqp: env.AMQP_URL
      ? { url: env.AMQP_URL, queue: env.AMQP_QUEUE, events: env.AMQP_EVENTS, backoffMs: env.AMQP_BACKOFF_MS, maxBackoffMs: env.AMQP_MAX_BACKOFF_MS }
      : undefined,
    webhooks: {
      urls: env.WEBHOOK_URL,
      secret: env.WEBHOOK_SECRET,
      events: env.WEBHOOK_EVENTS,
      backoffMs: env.WEBHOOK_BACKOFF_MS,
      maxBackoffMs: env.WEBHOOK_MAX_BACKOFF_MS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      secretKey: env.WEBHOOK_SECRET_KEY,
      policy: webhookUrlPolicy({ allowPrivate: env.WEBHOOK_ALLOW_PRIVATE, allowedHosts: env.WEBHOOK_ALLOWED_HOSTS }),
    },
    retryForMs: env.DELIVERY_RETRY_FOR_MS,
    concurrency: env.DELIVERY_CONCURRENCY,
    keepCompleted: env.DELIVERY_KEEP_COMPLETED,
    keepFailed: env.DELIVERY_KEEP_FAILED,
    sweepMs: env.DELIVERY_SWEEP_MS,
    workerId: `${hostname()}-${process.pid}`,
  };
}

/** Defaults for tests and callers that pass only what they change. */
export function deliveryConfig(overrides: Partial<DeliveryConfig> & { webhooks?: Partial<DeliveryConfig['webhooks']> } = {}): DeliveryConfig {
  const { webhooks, ...rest } = overrides;
  return {
    webhooks: { urls: [], events: ['session_ready'], backoffMs: 2_000, maxBackoffMs: 3_600_000, timeoutMs: 10_000, policy: webhookUrlPolicy(), ...webhooks },
    retryForMs: 24 * 3_600_000,
    concurrency: 8,
    keepCompleted: 1_000,
    keepFailed: 10_000,
    sweepMs: 30_000,
    workerId: `${hostname()}-${process.pid}`,
    ...rest,
  };
}

/** Event names any target might want besides `session_ready` (which finalize hands over itself). */
export function liveEventsOf(config: DeliveryConfig): Set<SessionEventName> {
  const names = new Set<SessionEventName>([...(config.amqp?.events ?? []), ...(config.webhooks.urls.length ? config.webhooks.events : [])]);
  names.delete('session_ready');
  return names;
}

/**
 * The boot check of WEBHOOK_URL beyond env.ts's: a name that resolves to an address the rule
 * refuses. Resolves to the reason, or null. A name that does not resolve (DNS down at boot) is left
 * to the send-time check, which refuses it then if it must: no process exits over a dependency.
 */
export async function envWebhookRefusal(config: DeliveryConfig): Promise<string | null> {
  for (const url of config.webhooks.urls) {
    const reason = await webhookUrlRefusalResolved(url, config.webhooks.policy);
    if (reason) return `webhook_url_forbidden: ${reason} (WEBHOOK_ALLOW_PRIVATE=true or WEBHOOK_ALLOWED_HOSTS allow it)`;
  }
  return null;
}
