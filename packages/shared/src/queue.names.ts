/**
 * BullMQ queue names. Renaming one strands the jobs already waiting in Redis under the old
 * name: add the new queue, drain the old one, then remove it.
 * Queue names may not contain `:`.
 */
export const QueueName = {
  /** start/stop commands from the API to the session runner. */
  sessionCommands: 'session-commands',
  /** Per-chat save jobs: upsert a fetched chat into the store (sync-workers). */
  chatSave: 'chat-save',
  /** Per-sync finalize job, parent of every chat of the sync (sync-workers). */
  syncFinalize: 'sync-finalize',
  /** One job per event and RabbitMQ: publish with confirms (sync-workers). */
  deliveryAmqp: 'delivery-amqp',
  /** One job per event and webhook URL: a signed POST (sync-workers). */
  deliveryWebhook: 'delivery-webhook',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/**
 * Queues wa-sync no longer uses; the sync workers remove them at boot so nothing lingers in Redis.
 * `session-synced` had no consumer: `session_ready` deliveries replace it.
 */
export const RETIRED_QUEUE_NAMES = ['session-synced'] as const;

/**
 * Work that must run where the session's WhatsApp client lives (list chats, fetch messages)
 * goes to a queue of its own: BullMQ cannot route jobs by name to one process. The prefix is
 * one no fixed queue starts with, so no session id can name a fixed queue.
 */
export const SESSION_QUEUE_PREFIX = 'wa-session-';
export function sessionQueueName(sessionId: string): string {
  return `${SESSION_QUEUE_PREFIX}${sessionId}`;
}

/** BullMQ's key prefix (its default, which wa-sync keeps): a job's key is `<prefix>:<queue>:<id>`. */
export const BULL_PREFIX = 'bull';
