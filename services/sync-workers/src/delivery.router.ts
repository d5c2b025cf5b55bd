import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import {
  type AmqpDeliveryJob,
  type CatalogQueueOf,
  DELIVERY_MAX_ATTEMPTS,
  deliveryEventId,
  JobProducer,
  logIdTime,
  QueueName,
  type SessionEventName,
  type SessionWebhook,
  type WebhookDeliveryJob,
} from '@wa-sync/shared/contracts';
import { type Logger, openCatalogQueue, type Redis, redactUrlCredentials } from '@wa-sync/shared/runtime';
import type { DeliveryConfig } from './delivery.config';

/** A logged session event: what the router turns into delivery jobs. */
export interface LoggedEvent {
  sessionId: string;
  event: SessionEventName;
  /** Its id in the session's log. */
  id: string;
  data: unknown;
}

const DAY_S = 24 * 3600;

/** A short, stable tag of a URL for job ids (a URL has `:`, which BullMQ job ids may not). */
export function urlTag(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/**
 * Turns a logged event into one delivery job per target that wants it. Job ids are derived from
 * the event's log id and the target, so adding the same event twice (a retried finalize, a
 * dispatcher that re-reads after a crash) adds nothing: BullMQ keeps the first job.
 */
export class DeliveryRouter {
  readonly amqpQueue: CatalogQueueOf<typeof QueueName.deliveryAmqp>;
  readonly webhookQueue: CatalogQueueOf<typeof QueueName.deliveryWebhook>;

  constructor(
    private readonly config: DeliveryConfig,
    connection: Redis,
    private readonly logger: Logger,
  ) {
    this.amqpQueue = openCatalogQueue(QueueName.deliveryAmqp, QueueName.deliveryAmqp, { connection });
    this.webhookQueue = openCatalogQueue(QueueName.deliveryWebhook, QueueName.deliveryWebhook, { connection });
    for (const q of [this.amqpQueue, this.webhookQueue]) q.on('error', (err) => logger.debug({ queue: q.name, err: err.message }, 'delivery queue error'));
  }

  /** Does any target want this event of this session? */
  wants(event: SessionEventName, sessionWebhooks: SessionWebhook[]): boolean {
    if (this.config.amqp?.events.includes(event)) return true;
    if (this.config.webhooks.urls.length && this.config.webhooks.events.includes(event)) return true;
    return sessionWebhooks.some((w) => (w.events ?? this.config.webhooks.events).includes(event));
  }

  /** Adds the delivery jobs of these events (idempotent); returns how many jobs it asked for. */
  async enqueue(events: LoggedEvent[], sessionWebhooks: (sessionId: string) => SessionWebhook[]): Promise<number> {
    const amqp: { name: 'publish-event'; data: AmqpDeliveryJob; opts: JobsOptions }[] = [];
    const hooks: { name: 'post-webhook'; data: WebhookDeliveryJob; opts: JobsOptions }[] = [];
    for (const e of events) {
      const eventId = deliveryEventId(e.sessionId, e.id);
      const base = { eventId, sessionId: e.sessionId, event: e.event, timestamp: logIdTime(e.id), data: e.data as Record<string, unknown> };
      const { amqp: amqpConfig, webhooks } = this.config;
      if (amqpConfig?.events.includes(e.event)) {
        amqp.push({ name: 'publish-event', data: base, opts: this.options(`amqp.${eventId}`, amqpConfig.backoffMs) });
      }
      const urls = new Map<string, 'env' | 'session'>();
      if (webhooks.events.includes(e.event)) for (const url of webhooks.urls) urls.set(url, 'env');
      for (const w of sessionWebhooks(e.sessionId)) {
        if ((w.events ?? webhooks.events).includes(e.event) && !urls.has(w.url)) urls.set(w.url, 'session');
      }
      for (const [url, source] of urls) {
        // Credentials (a webhook stored before they were refused) never reach job data or Bull Board: the job fails on them.
        const safe = redactUrlCredentials(url);
        hooks.push({ name: 'post-webhook', data: { ...base, url: safe, source }, opts: this.options(`webhook.${urlTag(safe)}.${eventId}`, webhooks.backoffMs) });
      }
    }
    await new JobProducer(QueueName.deliveryAmqp, this.amqpQueue).addBulk(amqp);
    await new JobProducer(QueueName.deliveryWebhook, this.webhookQueue).addBulk(hooks);
    if (amqp.length + hooks.length) this.logger.debug({ amqp: amqp.length, webhooks: hooks.length }, 'deliveries enqueued');
    return amqp.length + hooks.length;
  }

  async close(): Promise<void> {
    await Promise.all([this.amqpQueue.close(), this.webhookQueue.close()]);
  }

  /** Retention keeps Redis bounded: completed jobs by count and a day, failed ones by count and a week. */
  private options(jobId: string, backoffMs: number): JobsOptions {
    return {
      jobId,
      attempts: DELIVERY_MAX_ATTEMPTS,
      backoff: { type: 'delivery', delay: backoffMs },
      removeOnComplete: { count: this.config.keepCompleted, age: DAY_S },
      removeOnFail: { count: this.config.keepFailed, age: 7 * DAY_S },
    };
  }
}
