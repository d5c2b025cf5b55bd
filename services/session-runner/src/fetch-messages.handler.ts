import { type FetchMessagesJob, type FetchMessagesResult, type Redis, Keys, STAGING_TTL_S } from '@wa-sync/shared';
import type { WhatsAppClient } from './engine/engine';

/**
 * Fetches a chat's messages and stages them in Redis for its save job. Only a pointer and a count
 * go back through BullMQ: return values travel in every `completed` event.
 */
export async function runFetchMessages(client: WhatsAppClient, data: FetchMessagesJob, redis: Redis): Promise<FetchMessagesResult> {
  const messages = await client.fetchMessages(data.chatId, { limit: data.limit });
  const stagingKey = Keys.staging(data.syncId, data.chatId);
  await redis.set(stagingKey, JSON.stringify(messages), 'EX', STAGING_TTL_S);
  return { stagingKey, count: messages.length };
}
