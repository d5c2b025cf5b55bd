import { z } from 'zod';

/** Session ids are used in queue names and URLs: keep them to this alphabet. */
export const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'session id must match ^[A-Za-z0-9_-]{1,64}$');

/** WhatsApp group chats end in `@g.us` (direct chats in `@c.us` / `@lid`). */
export function isGroupChatId(chatId: string): boolean {
  return chatId.endsWith('@g.us');
}

export const SESSION_STATUSES = [
  'starting',
  'qr',
  'authenticated',
  'ready',
  'disconnected',
  'failed',
  'stopped',
] as const;
export const SessionStatus = z.enum(SESSION_STATUSES);
export type SessionStatus = z.infer<typeof SessionStatus>;

/** A chat as the engine reports it and the store keeps it (messageCount is derived by the store). */
export const ChatInput = z.object({
  id: z.string().min(1),
  name: z.string(),
  isGroup: z.boolean(),
  unreadCount: z.number().int().nonnegative(),
  /** ISO-8601, null for a chat with no message. */
  lastMessageAt: z.string().nullable(),
});
export type ChatInput = z.infer<typeof ChatInput>;

export const Chat = ChatInput.extend({
  /** Messages stored for this chat. */
  messageCount: z.number().int().nonnegative(),
});
export type Chat = z.infer<typeof Chat>;

export const Message = z.object({
  /** Serialized id as WhatsApp Web writes it, e.g. `false_123@c.us_3EB0…`. */
  id: z.string().min(1),
  chatId: z.string().min(1),
  fromMe: z.boolean(),
  /** Sender in a group chat; null in direct chats and for own messages. */
  author: z.string().nullable(),
  body: z.string(),
  type: z.string(),
  /** ISO-8601. */
  timestamp: z.string(),
  /** WhatsApp ack: -1 error, 0 pending, 1 server, 2 device, 3 read, 4 played. Never goes down. */
  ack: z.number().int(),
  hasMedia: z.boolean(),
});
export type Message = z.infer<typeof Message>;

export interface Session {
  sessionId: string;
  status: SessionStatus;
  /** Free-text detail of the status (loading screen, failure reason). */
  statusDetail: string | null;
  createdAt: string;
  updatedAt: string;
  lastSync: SyncRun | null;
}

/** Bookkeeping of one sync of one session, kept by the store. */
export interface SyncRun {
  syncId: string;
  sessionId: string;
  reason: SyncReason;
  startedAt: string;
  finishedAt: string | null;
  nChats: number;
  chatsFailed: number;
  totalMessages: number;
  done: boolean;
}

export const SyncReason = z.enum(['ready', 'manual', 'reconnect']);
export type SyncReason = z.infer<typeof SyncReason>;

/** The progress of one sync: the payload of `sync_chats` and of `GET …/sync`. */
export interface SyncSnapshot {
  sessionId: string;
  syncId: string;
  nChats: number;
  /** Finished chats (saved or failed); never goes down for a client. */
  currentChat: number;
  /** The chat this event is about (absent on the first event). */
  chatId?: string;
  /** Messages stored for `chatId` in this sync. */
  messagesSynced: number;
  totalMessagesSynced: number;
  chatsFailed: number;
  done: boolean;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
