import { z } from 'zod';
import { SessionId, SyncReason } from './domain.schemas';
import { SESSION_EVENT_NAMES, type SessionEventName } from './session-event.schemas';
import { QueueName } from './queue.names';

/** Job payloads: one zod schema per job, and the type inferred from it, same name. */

export const StartSessionJob = z.object({ sessionId: SessionId });
export type StartSessionJob = z.infer<typeof StartSessionJob>;

export const StopSessionJob = z.object({
  sessionId: SessionId,
  /** Also unlink the device and forget its auth. */
  logout: z.boolean().default(false),
});
export type StopSessionJob = z.infer<typeof StopSessionJob>;

/** Lists the account's chats, saves them and adds the per-chat job graph (session runner). */
export const SyncStartJob = z.object({
  sessionId: SessionId,
  syncId: z.string().regex(/^[A-Za-z0-9_-]+$/),
  reason: SyncReason,
  limitPerChat: z.number().int().min(1).max(10_000),
  /** Only these chats; all chats when absent. */
  chatIds: z.array(z.string().min(1)).optional(),
  /**
   * When the client became ready (ISO-8601). Messages stored after it came in live, so a catch-up
   * compares the phone with what the store held before it.
   */
  readyAt: z.string().optional(),
});
export type SyncStartJob = z.infer<typeof SyncStartJob>;

/** Fetches one chat's messages into a staging key (session runner). */
export const FetchMessagesJob = z.object({
  sessionId: SessionId,
  syncId: z.string(),
  chatId: z.string().min(1),
  /** Messages to fetch; for a catch-up, the first page. */
  limit: z.number().int().min(1),
  /**
   * Catch-up: page back (growing the limit) until a message older than `after` (the newest stored
   * message) shows up or `max` messages are fetched; only messages from `after` on are staged.
   */
  catchUp: z.object({ after: z.string(), max: z.number().int().min(1) }).optional(),
  /**
   * A manual re-sync: the reactions of every fetched message are read and replace stored ones that
   * differ (a re-fetch otherwise keeps what a message has; a catch-up always reads them).
   */
  readReactions: z.literal(true).optional(),
});
export type FetchMessagesJob = z.infer<typeof FetchMessagesJob>;

/** What a fetch job returns: a pointer, never the messages (they would travel in every event). */
export const FetchMessagesResult = z.object({
  stagingKey: z.string(),
  count: z.number().int(),
  /** A catch-up's `after`: once the chat is saved, its gap from there is closed. */
  catchUpAfter: z.string().optional(),
});
export type FetchMessagesResult = z.infer<typeof FetchMessagesResult>;

/**
 * Downloads one message's file into the blob store (session runner, in the session's own queue, so
 * the runner that owns the session takes it). Ids only: file bytes never pass through Redis.
 */
export const DownloadMediaJob = z.object({
  sessionId: SessionId,
  chatId: z.string().min(1),
  messageId: z.string().min(1),
  /** How the message came: a first or manual sync (`history`), a `catch-up`, or `live`; MEDIA_DOWNLOAD=live leaves `history` out. */
  origin: z.enum(['history', 'catch-up', 'live']),
});
export type DownloadMediaJob = z.infer<typeof DownloadMediaJob>;

/**
 * Link by phone number instead of QR: the runner that holds the session's client asks WhatsApp
 * for a pairing code. A request/response command on `session-commands`, routed to the session's
 * owner like start/stop (the session's own queue runs only once the client is ready, and pairing
 * happens before); the API polls for its small return value.
 */
export const PairingCodeJob = z.object({
  sessionId: SessionId,
  /** International format, digits only (e.g. 12025550108). */
  phoneNumber: z.string().regex(/^[1-9]\d{6,14}$/),
});
export type PairingCodeJob = z.infer<typeof PairingCodeJob>;

/** `code` on success; `error: 'not-linking'` when the client is not showing a QR (then a 409). */
export const PairingCodeResult = z.union([
  z.object({ code: z.string() }),
  z.object({ error: z.enum(['not-linking', 'unsupported']), message: z.string() }),
]);
export type PairingCodeResult = z.infer<typeof PairingCodeResult>;

/** Saves one fetched chat; its only child is the chat's fetch job (sync-workers). */
export const SaveChatJob = z.object({
  sessionId: SessionId,
  syncId: z.string(),
  chatId: z.string().min(1),
  /** Fetches added again because the staged batch was gone (sync-workers' lost-batch.refetch.ts). */
  refetches: z.number().int().min(0).optional(),
});
export type SaveChatJob = z.infer<typeof SaveChatJob>;

export const SaveChatResult = z.object({ messages: z.number().int(), failed: z.boolean() });
export type SaveChatResult = z.infer<typeof SaveChatResult>;

/** Parent of every SaveChatJob of one sync: closes the sync run (sync-workers). */
export const FinalizeSyncJob = z.object({
  sessionId: SessionId,
  syncId: z.string(),
  chatIds: z.array(z.string()),
});
export type FinalizeSyncJob = z.infer<typeof FinalizeSyncJob>;

/**
 * A child of finalize that holds it back while a big sync's graph is added in several steps:
 * sync-start adds it delayed and promotes it after the last step; if sync-start dies for good,
 * it runs after its delay and finalize counts the chats never added as failed (sync-workers).
 */
export const GraphCompleteJob = z.object({ sessionId: SessionId, syncId: z.string() });
export type GraphCompleteJob = z.infer<typeof GraphCompleteJob>;

/** One logged session event on its way to one downstream target (sync-workers). */
export const DeliveryEvent = z.object({
  /** `<sessionId>.<log id>`: AMQP `messageId` and `webhook-id`, the same on every retry (dedup key). */
  eventId: z.string().regex(/^[A-Za-z0-9_-]{1,64}\.\d{1,20}-\d{1,20}$/),
  sessionId: SessionId,
  event: z.enum(SESSION_EVENT_NAMES as [SessionEventName, ...SessionEventName[]]),
  /** When the event was logged (ISO-8601, from its log id): the same on every retry. */
  timestamp: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type DeliveryEvent = z.infer<typeof DeliveryEvent>;

export const AmqpDeliveryJob = DeliveryEvent;
export type AmqpDeliveryJob = z.infer<typeof AmqpDeliveryJob>;

/** The secret is not in the job (Bull Board shows job data): the worker looks it up by `source`. */
export const WebhookDeliveryJob = DeliveryEvent.extend({
  url: z.string().url(),
  /** Where the URL is configured: `WEBHOOK_URL`, or the session's `webhooks`. */
  source: z.enum(['env', 'session']),
});
export type WebhookDeliveryJob = z.infer<typeof WebhookDeliveryJob>;

/**
 * Delivery jobs stop on time, not on a count: the `delivery` backoff strategy (sync-workers) ends
 * the retries once the next try would fall outside the retry window (a day by default).
 */
export const DELIVERY_MAX_ATTEMPTS = 100_000;

export interface JobSpec<S extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: S;
  attempts: number;
  /** `delivery`: capped exponential with jitter, within a retry window (sync-workers' delivery.backoff.ts). */
  backoff: { type: 'exponential' | 'fixed' | 'delivery'; delay: number };
}

/** One catalog per queue: job name → payload schema and retry policy. */
export const JobCatalog = {
  [QueueName.sessionCommands]: {
    'start-session': { schema: StartSessionJob, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
    'stop-session': { schema: StopSessionJob, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
    // The API waits for the answer: a retry after it gave up would ask WhatsApp for nothing.
    'pairing-code': { schema: PairingCodeJob, attempts: 1, backoff: { type: 'fixed', delay: 0 } },
  },
  /** The per-session queue (`sessionQueueName`). */
  session: {
    'sync-start': { schema: SyncStartJob, attempts: 5, backoff: { type: 'exponential', delay: 2000 } },
    'fetch-messages': { schema: FetchMessagesJob, attempts: 4, backoff: { type: 'exponential', delay: 500 } },
    // 1 + 2 + … + 64 s between tries: a blob store or phone away for a minute loses nothing.
    'download-media': { schema: DownloadMediaJob, attempts: 8, backoff: { type: 'exponential', delay: 1000 } },
  },
  [QueueName.chatSave]: {
    'save-chat': { schema: SaveChatJob, attempts: 5, backoff: { type: 'exponential', delay: 500 } },
  },
  [QueueName.syncFinalize]: {
    'finalize-sync': { schema: FinalizeSyncJob, attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
    'graph-complete': { schema: GraphCompleteJob, attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
  },
  [QueueName.deliveryAmqp]: {
    'publish-event': { schema: AmqpDeliveryJob, attempts: DELIVERY_MAX_ATTEMPTS, backoff: { type: 'delivery', delay: 1000 } },
  },
  [QueueName.deliveryWebhook]: {
    'post-webhook': { schema: WebhookDeliveryJob, attempts: DELIVERY_MAX_ATTEMPTS, backoff: { type: 'delivery', delay: 2000 } },
  },
} as const satisfies Record<string, Record<string, JobSpec>>;
export type JobCatalog = typeof JobCatalog;

export type CatalogQueue = keyof JobCatalog;
export type JobName<Q extends CatalogQueue> = keyof JobCatalog[Q] & string;
export type JobData<Q extends CatalogQueue, N extends JobName<Q>> = JobCatalog[Q][N] extends JobSpec<infer S>
  ? z.infer<S>
  : never;

/**
 * How long finished jobs are kept (for Bull Board, and a save's refetch reads its fetch's record).
 * BullMQ applies these only when another job of the same queue finishes: an idle session's queue
 * is swept by its runner instead (idle-workers.watch.ts).
 */
export const JobRetention = { completedS: 3600, completedCount: 1000, failedS: 7 * 24 * 3600 } as const;

/** Retry options of a job, from the catalog; completed jobs are kept briefly for Bull Board. */
export function jobOptions<Q extends CatalogQueue>(queue: Q, name: JobName<Q>) {
  const spec = (JobCatalog[queue] as Record<string, JobSpec>)[name];
  return {
    attempts: spec.attempts,
    backoff: spec.backoff,
    removeOnComplete: { age: JobRetention.completedS, count: JobRetention.completedCount },
    removeOnFail: { age: JobRetention.failedS },
  };
}
