import { Message } from '@wa-sync/shared/contracts';
import { z } from 'zod';
import { Days, PerChatLimit } from '../sse/sse.schemas';

export { SessionParams } from './common.schemas';

export const RecentQuery = z.object({ days: Days, limit: PerChatLimit });

/** Seed 000's shape, field for field. */
export const RecentHistory = z.object({
  success: z.literal(true),
  conversations: z.array(
    z.object({
      conversationId: z.string(),
      /** Oldest first, at most `limit`. */
      messages: z.array(Message),
      lastMessageAt: z.string().nullable(),
    }),
  ),
  /** Conversations. */
  count: z.number().int(),
  /** Messages over all conversations. */
  messageCount: z.number().int(),
});
export type RecentHistory = z.infer<typeof RecentHistory>;
