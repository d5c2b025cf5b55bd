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

export const GroupParticipant = z.object({ id: z.string(), isAdmin: z.boolean() });
export type GroupParticipant = z.infer<typeof GroupParticipant>;

/** A chat as the engine reports it and the store keeps it (messageCount is derived by the store). */
export const ChatInput = z.object({
  id: z.string().min(1),
  name: z.string(),
  isGroup: z.boolean(),
  unreadCount: z.number().int().nonnegative(),
  /** ISO-8601, null for a chat with no message. */
  lastMessageAt: IsoDateTime.nullable(),
  /** Group members (groups only; `GET …/chats/:chatId` answers them, chat lists leave them out). */
  participants: z.array(GroupParticipant).optional(),
});
export type ChatInput = z.infer<typeof ChatInput>;

export const Chat = ChatInput.extend({
  /** Messages stored for this chat. */
  messageCount: z.number().int().nonnegative(),
});
export type Chat = z.infer<typeof Chat>;

/** Longest quoted body kept on a reply. */
export const QUOTED_BODY_MAX = 1000;

export const QuotedMessage = z.object({
  id: z.string(),
  fromMe: z.boolean(),
  author: z.string().nullable(),
  type: z.string(),
  /** Cut at QUOTED_BODY_MAX characters. */
  body: z.string(),
});
export type QuotedMessage = z.infer<typeof QuotedMessage>;

export const Reaction = z.object({
  emoji: z.string(),
  senderId: z.string(),
  timestamp: IsoDateTime,
});
export type Reaction = z.infer<typeof Reaction>;

export const MessageLocation = z.object({
  latitude: z.number(),
  longitude: z.number(),
  description: z.string().nullable(),
});
export type MessageLocation = z.infer<typeof MessageLocation>;

export const MessagePoll = z.object({ name: z.string(), options: z.array(z.string()) });
export type MessagePoll = z.infer<typeof MessagePoll>;

/**
 * Where a media file stands: `pending` until the media job ends; `stored` (in the blob store,
 * whole), `skipped` (policy or too large, `error` says which), `expired` (WhatsApp no longer has
 * it; not retried), `failed` (after the job's retries).
 */
export const MEDIA_STATUSES = ['pending', 'stored', 'skipped', 'expired', 'failed'] as const;
export const MediaStatus = z.enum(MEDIA_STATUSES);
export type MediaStatus = z.infer<typeof MediaStatus>;

export const MediaDescriptor = z.object({
  mimetype: z.string().nullable(),
  filename: z.string().nullable(),
  /** Bytes: as WhatsApp announced it until stored, then the stored file's size. */
  size: z.number().int().nonnegative().nullable(),
  /** Hex SHA-256 of the stored file (its blob key); null until stored. */
  sha256: z.string().nullable(),
  durationSeconds: z.number().nonnegative().nullable(),
  status: MediaStatus,
  /** Why it is skipped (`policy`, `too_large`) or failed; null otherwise. */
  error: z.string().nullable(),
});
export type MediaDescriptor = z.infer<typeof MediaDescriptor>;

/** A contact of the linked account (`GET …/contacts`). */
export const Contact = z.object({
  id: z.string().min(1),
  /** The name saved in the phone's address book; null when not saved. */
  name: z.string().nullable(),
  /** The name the contact set in their profile; null when empty. */
  pushname: z.string().nullable(),
  number: z.string().nullable(),
  isBusiness: z.boolean(),
  isMyContact: z.boolean(),
});
export type Contact = z.infer<typeof Contact>;


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
  // Full conversations: absent or null when not applicable, never invented.
  /** Display name of the sender: saved contact name, else pushname, else the number; null for own messages. */
  senderName: z.string().nullable().optional(),
  /** The message this one replies to, as WhatsApp carried it in the reply (even if not stored itself). */
  quoted: QuotedMessage.nullable().optional(),
  /** Ids of the contacts mentioned. */
  mentions: z.array(z.string()).optional(),
  /** Forwarded by the sender. */
  isForwarded: z.boolean().optional(),
  /** Current reactions; a removed reaction disappears. */
  reactions: z.array(Reaction).optional(),
  location: MessageLocation.nullable().optional(),
  /** vCard texts of a contact message. */
  vcards: z.array(z.string()).optional(),
  poll: MessagePoll.nullable().optional(),
  /** For `hasMedia`: the file's descriptor and where its download stands. */
  media: MediaDescriptor.nullable().optional(),
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
