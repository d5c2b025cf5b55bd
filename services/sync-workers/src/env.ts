import { commaList, EventNameSchema, WebhookSecret, WebhookUrl } from '@wa-sync/shared/contracts';
import { BaseEnv, loadEnv, WebhookPolicyEnv, WebhookSecretKeyEnv, webhookUrlPolicy, webhookUrlRefusal } from '@wa-sync/shared/runtime';
import { z } from 'zod';

/** A comma-separated list of session event names. */
const EventList = z
  .string()
  .transform(commaList)
  .pipe(z.array(EventNameSchema).min(1, 'name at least one event'));

export const WorkersEnv = BaseEnv.extend({
  /**
   * A job's lock lives this long without renewal (BullMQ `lockDuration`): when a worker dies, its
   * jobs are retried by another worker this long after, at the next stalled check. BullMQ renews
   * it every half while the job runs, so it need not outlast the longest job.
   */
  JOB_LOCK_MS: z.coerce.number().int().min(1_000).default(15_000),
  /** How often a worker looks for jobs whose worker died (BullMQ `stalledInterval`). */
  STALLED_CHECK_MS: z.coerce.number().int().min(500).default(5_000),

  /** RabbitMQ delivery is on when set. */
  AMQP_URL: z.string().regex(/^amqps?:\/\/.+/, 'must be an amqp:// or amqps:// URL').optional(),
  /** Durable queue the events go to. */
  AMQP_QUEUE: z.string().min(1).max(255).default('wa-sync'),
  AMQP_EVENTS: EventList.default(['session_ready']),
  /** First retry of a failed publish; doubles with jitter up to AMQP_MAX_BACKOFF_MS. */
  AMQP_BACKOFF_MS: z.coerce.number().int().min(1).default(1_000),
  AMQP_MAX_BACKOFF_MS: z.coerce.number().int().min(1).default(60_000),

  /** Comma-separated http(s) URLs every session's events are posted to. */
  WEBHOOK_URL: z.string().transform(commaList).pipe(z.array(WebhookUrl)).default([]),
  /** Signs webhook requests (Standard Webhooks); also for session webhooks without their own. */
  WEBHOOK_SECRET: WebhookSecret.optional(),
  WEBHOOK_EVENTS: EventList.default(['session_ready']),
  /** First retry of a failed webhook; doubles with jitter up to WEBHOOK_MAX_BACKOFF_MS (an hour). */
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(2_000),
  WEBHOOK_MAX_BACKOFF_MS: z.coerce.number().int().min(1).default(3_600_000),
  /** A receiver that has not answered after this long counts as a failed try. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),

  /** A delivery is retried for this long after its event, then its job stays failed (Bull Board). */
  DELIVERY_RETRY_FOR_MS: z.coerce.number().int().min(1).default(24 * 3_600_000),
  /** Deliveries in flight per process and target (RabbitMQ, webhooks). */
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Completed delivery jobs kept per queue (for Bull Board), at most a day. */
  DELIVERY_KEEP_COMPLETED: z.coerce.number().int().min(0).default(1_000),
  /** Failed delivery jobs kept per queue (to retry from Bull Board), at most 7 days. */
  DELIVERY_KEEP_FAILED: z.coerce.number().int().min(0).default(10_000),
  /** The dispatcher of live events (only when some target wants one) re-reads every session log this often. */
  DELIVERY_SWEEP_MS: z.coerce.number().int().min(100).default(30_000),
})
  .extend(WebhookPolicyEnv.shape)
  .extend(WebhookSecretKeyEnv.shape)
  // The SSRF rule on WEBHOOK_URL without DNS; main.ts checks what the names resolve to.
  .superRefine((e, ctx) => {
    const policy = webhookUrlPolicy({ allowPrivate: e.WEBHOOK_ALLOW_PRIVATE, allowedHosts: e.WEBHOOK_ALLOWED_HOSTS });
    for (const url of e.WEBHOOK_URL) {
      const reason = webhookUrlRefusal(url, policy);
      if (reason) ctx.addIssue({ code: 'custom', path: ['WEBHOOK_URL'], message: `webhook_url_forbidden: ${reason} (WEBHOOK_ALLOW_PRIVATE=true or WEBHOOK_ALLOWED_HOSTS allow it)` });
    }
  });
export type WorkersEnv = z.infer<typeof WorkersEnv>;

export const env = loadEnv(WorkersEnv);
