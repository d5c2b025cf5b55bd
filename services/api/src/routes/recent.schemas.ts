import { Message } from '@wa-sync/shared/contracts';
import { z } from 'zod';

export { SessionParams } from './common.schemas';

/** Desktop bootstrap window (seed 000): chats active in the last `days`, their last `limit` messages. */
export const Days = z.coerce.number().int().min(1).max(90).default(7);
export const PerChatLimit = z.coerce.number().int().min(1).max(100).default(50);

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
