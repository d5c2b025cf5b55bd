import { z } from 'zod';

/** An ISO-8601 time (`date-time` in the OpenAPI document; the store writes them, so not re-validated). */
export const IsoDateTime = z.string().meta({ format: 'date-time' });

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
  lastMessageAt: IsoDateTime.nullable(),
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
  timestamp: IsoDateTime,
  /** WhatsApp ack: -1 error, 0 pending, 1 server, 2 device, 3 read, 4 played. Never goes down. */
  ack: z.number().int(),
  hasMedia: z.boolean(),
  /** When the text was last edited (live sync); absent or null when never edited. */
  editedAt: IsoDateTime.nullable().optional(),
  /** Deleted for everyone: the id stays, the body is emptied. */
  revoked: z.boolean().optional(),
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
  /** `full` unless the store recorded a catch-up. */
  kind?: SyncKind;
  startedAt: string;
  finishedAt: string | null;
  nChats: number;
  chatsFailed: number;
  totalMessages: number;
  done: boolean;
}

export const SyncReason = z.enum(['ready', 'manual', 'reconnect']);
export type SyncReason = z.infer<typeof SyncReason>;

/** `full`: every chat's last messages (first sync, manual); `catch-up`: only what moved since the store's state. */
export const SyncKind = z.enum(['full', 'catch-up']);
export type SyncKind = z.infer<typeof SyncKind>;

/** The progress of one sync: the payload of `sync_chats` and of `GET …/sync`. */
export const SyncSnapshot = z.object({
  sessionId: z.string(),
  syncId: z.string(),
  kind: SyncKind,
  nChats: z.number().int().nonnegative(),
  /** Finished chats (saved or failed); never goes down for a client. */
  currentChat: z.number().int().nonnegative(),
  /** The chat this event is about (absent on the first event). */
  chatId: z.string().optional(),
  /** Messages stored for `chatId` in this sync. */
  messagesSynced: z.number().int().nonnegative(),
  totalMessagesSynced: z.number().int().nonnegative(),
  chatsFailed: z.number().int().nonnegative(),
  done: z.boolean(),
});
export type SyncSnapshot = z.infer<typeof SyncSnapshot>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
