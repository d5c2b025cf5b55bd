import { Chat, Message, SessionId } from '@wa-sync/shared/contracts';
import { z } from 'zod';
import { named } from '../openapi/schema.names';

export { SessionParams } from './common.schemas';

named('Chat', Chat);
named('Message', Message);

const Limit = z.coerce.number().int().min(1).max(500).default(50);

export const ChatsQuery = z.object({
  limit: Limit,
  /** `nextCursor` of the previous page. */
  cursor: z.string().min(1).optional(),
});

export const MessagesParams = z.object({ id: SessionId, chatId: z.string().min(1).max(256) });

export const MessagesQuery = z.object({
  limit: Limit,
  /** `nextCursor` of the previous page, or an ISO-8601 time: only older messages. */
  before: z.string().min(1).optional(),
});

export const ChatPage = named('ChatPage', z.object({ chats: z.array(Chat), nextCursor: z.string().nullable() }));
export const MessagePage = named('MessagePage', z.object({ messages: z.array(Message), nextCursor: z.string().nullable() }));
