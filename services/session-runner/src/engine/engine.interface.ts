import type { ChatInput, Contact, Message } from '@wa-sync/shared/contracts';

/**
 * One sender's reaction on a message changed: set, replaced (one reaction per sender) or removed
 * (`emoji` empty, as WhatsApp Web reports a removal).
 */
export interface ReactionUpdate {
  chatId: string;
  /** The message reacted to. */
  id: string;
  senderId: string;
  /** The emoji; '' when the sender removed their reaction. */
  emoji: string;
  /** ISO-8601. */
  timestamp: string;
}

/** What a client tells the session runner; mirrors whatsapp-web.js events. */
export interface ClientEvents {
  /** A new QR code to scan (each refresh). */
  qr: (qr: string) => void;
  authenticated: () => void;
  /** Authentication was refused; the stored auth is no longer valid. */
  auth_failure: (message: string) => void;
  ready: () => void;
  /** The client is gone; a logout is reason `LOGOUT`. */
  disconnected: (reason: string) => void;
  /** Free-text status detail (loading screen percent, connection state). */
  state: (detail: string) => void;
  /** A message arrived or was sent after `ready`. */
  message: (message: Message) => void;
  /** A message's delivery status moved. */
  message_ack: (update: { chatId: string; id: string; ack: number }) => void;
  /** A message's text was edited (`editedAt` ISO-8601). */
  message_edit: (update: { chatId: string; id: string; body: string; editedAt: string }) => void;
  /** A message was deleted for everyone: its id stays, its content is gone. */
  message_revoke_everyone: (update: { chatId: string; id: string }) => void;
  /** A reaction was sent, changed or removed (whatsapp-web.js `message_reaction`). */
  message_reaction: (update: ReactionUpdate) => void;
}

/** What the store knows of a media message when its file is asked for (the simulated phone makes the file from it). */
export interface MediaHint {
  mimetype: string | null;
  /** Bytes, as WhatsApp announced it; null when unknown. */
  size: number | null;
  /** The message came live (after the client was ready), not from history. */
  live: boolean;
}

/** A downloaded file, whole (whatsapp-web.js hands it over as base64), or WhatsApp no longer has it. */
export type MediaDownload = { status: 'ok'; data: Buffer; mimetype: string | null; filename: string | null } | { status: 'expired' };

export interface FetchOptions {
  /** Most recent messages to return; always finite. */
  limit: number;
  /**
   * Every message carries `reactions` as the phone has them now, `[]` when it has none; only one
   * whose reactions could not be read goes without (a catch-up compares them with the store's).
   * Without it, a message without reactions may leave the field out.
   */
  reactionState?: boolean;
}

/** One linked WhatsApp account. */
export interface WhatsAppClient {
  readonly sessionId: string;
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
  /** Starts the client; lifecycle is reported through events. */
  start(): Promise<void>;
  /** Stops the client; `logout` also unlinks the device and forgets its auth. */
  stop(options: { logout: boolean }): Promise<void>;
  /** Every chat of the account; groups carry their `participants`. */
  getChats(): Promise<ChatInput[]>;
  /** The account's contacts (address book and the people it has chats or groups with). */
  getContacts(): Promise<Contact[]>;
  /**
   * Link by phone number instead of the QR: resolves to the code the user types on the phone
   * (WhatsApp → Linked devices → Link with phone number). Only while the QR is shown; rejects
   * with a `NotLinkingError` otherwise. Absent on engines that cannot do it.
   */
  requestPairingCode?(phoneNumber: string): Promise<string>;
  /** The chat's most recent messages, oldest first; rejects on a transient failure. */
  fetchMessages(chatId: string, options: FetchOptions): Promise<Message[]>;
  /**
   * The message's file. `expired` when WhatsApp no longer has it (not worth a retry); rejects on
   * any other failure (the media job retries).
   */
  downloadMedia(chatId: string, messageId: string, hint: MediaHint): Promise<MediaDownload>;
}

export interface WhatsAppEngine {
  readonly name: 'simulated' | 'webjs';
  createClient(sessionId: string): WhatsAppClient;
  /** True when a linked device's auth is kept for the session: it can start without a QR scan. */
  hasAuth(sessionId: string): Promise<boolean>;
  /** Forgets the session's auth (after a logout or a refused auth); no-op when there is none. */
  removeAuth(sessionId: string): Promise<void>;
}

/** A pairing code was asked for while the client is not waiting for a link (already linked, stopped). */
export class NotLinkingError extends Error {
  override readonly name = 'NotLinkingError';
}
