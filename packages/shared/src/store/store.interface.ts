import type { Chat, ChatInput, Contact, MediaDescriptor, MediaStatus, Message, Page, Reaction, Session, SessionStatus, SyncKind, SyncReason, SyncRun } from '../domain.schemas';
import type { SessionWebhook } from '../webhook.schemas';

export interface ChatPageQuery {
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface MessagePageQuery {
  limit: number;
  /** `nextCursor` of the previous page, or an ISO-8601 time: only messages strictly older. */
  before?: string;
}

export interface UpsertResult {
  /** Messages that were not stored before. */
  inserted: number;
  /** Messages already stored (their mutable fields may have been updated). */
  existing: number;
}

export interface RecentHistoryQuery {
  days: number;
  limitPerChat: number;
}

export interface ChatHistory {
  chatId: string;
  lastMessageAt: string | null;
  messages: Message[];
}

/** What the store holds of one chat, as a catch-up compares it with the phone's chat list. */
export interface ChatSyncState {
  id: string;
  lastMessageAt: string | null;
  messageCount: number;
  /** Time of the newest stored message; null when none is stored. */
  newestMessageAt: string | null;
}

export interface SyncRunStart {
  syncId: string;
  sessionId: string;
  reason: SyncReason;
  nChats: number;
  /** Default `full`. */
  kind?: SyncKind;
}

/** Thrown for a cursor the store did not produce; the API turns it into a 400. */
export class InvalidCursorError extends Error {
  constructor(what: string) {
    super(`${what} is not a valid cursor`);
    this.name = 'InvalidCursorError';
  }
}

/**
 * Another process held the store's write lock past the writer's deadline (SQLite with
 * `lockWaitMs`): nothing was written; retry after `retryAfterS`. The API answers a 503 with
 * `Retry-After`.
 */
export class StoreBusyError extends Error {
  constructor(
    waitedMs: number,
    readonly retryAfterS = 1,
  ) {
    super(`the store is locked by another process (waited ${waitedMs} ms)`);
    this.name = 'StoreBusyError';
  }
}

/**
 * Runs an idempotent store write until it gets past a lock held by another process: each
 * StoreBusyError waits its `retryAfterS` and tries again (`onWait` hears of the first wait); any
 * other error is thrown. For writes that must land in order however long the lock lasts.
 */
export async function untilStoreFree<T>(
  write: () => Promise<T>,
  onWait: () => void = () => {},
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let waits = 0; ; waits++) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof StoreBusyError)) throw err;
      if (waits === 0) onWait();
      await sleep(err.retryAfterS * 1000);
    }
  }
}

/** A session's record: status, first-ready instant, webhooks. */
export interface SessionStore {
  /** Creates the session with status `starting` if it does not exist. */
  ensureSession(sessionId: string): Promise<{ session: Session; created: boolean }>;
  getSession(sessionId: string): Promise<Session | null>;
  listSessions(): Promise<Session[]>;
  setSessionStatus(sessionId: string, status: SessionStatus, detail?: string | null): Promise<void>;
  /**
   * Records the session's first `ready` (ISO time) unless one is recorded; resolves to the recorded
   * one. The simulated phone's clock starts there, so its history survives restarts.
   */
  markFirstReady(sessionId: string, at: string): Promise<string>;
  /** Replaces the session's webhooks (secrets included: kept apart from `Session`, never in API answers). */
  setSessionWebhooks(sessionId: string, webhooks: SessionWebhook[]): Promise<void>;
  /** The session's webhooks; empty for an unknown session or one without any. */
  getSessionWebhooks(sessionId: string): Promise<SessionWebhook[]>;
}

/** Chats' metadata and what a catch-up compares with the phone. */
export interface ChatStore {
  /** Upserts chat metadata; keeps messageCount; `participants`, when given, replace the stored ones. */
  upsertChats(sessionId: string, chats: ChatInput[]): Promise<void>;
  /** Newest activity first (lastMessageAt desc, nulls last, then id). */
  listChats(sessionId: string, query: ChatPageQuery): Promise<Page<Chat>>;
  /** One chat, a group with its `participants` when known (lists leave them out). */
  getChat(sessionId: string, chatId: string): Promise<Chat | null>;
  /**
   * Every stored chat of the session with its newest stored message time (for a catch-up);
   * with `before` (ISO-8601), the newest stored message strictly older than it.
   */
  chatSyncStates(sessionId: string, before?: string): Promise<ChatSyncState[]>;
}

/** Messages: batched upserts from syncs, live acks/edits/deletes, pages and recent history. */
export interface MessageStore {
  /**
   * Upserts one chat's batch in one transaction: immutable fields are written once, `ack` only
   * moves up, a message with a newer `editedAt` replaces the text, `revoked` is final (a batch
   * fetched before an edit or delete never undoes it). Updates the chat's messageCount and lastMessageAt.
   * The conversation fields (senderName, quoted, mentions, …) fill a message stored without them
   * (before they existed) and are kept after; `reactions` likewise, then only `setReaction` and
   * `replaceReactions` change them, so a re-fetch never drops a live reaction.
   */
  upsertMessages(sessionId: string, chatId: string, messages: Message[]): Promise<UpsertResult>;
  /** Newest first (timestamp desc, then id desc). */
  listMessages(sessionId: string, chatId: string, query: MessagePageQuery): Promise<Page<Message>>;
  /** Raises a message's ack; returns false when the message is unknown or the ack is not higher. */
  updateMessageAck(sessionId: string, chatId: string, messageId: string, ack: number): Promise<boolean>;
  /**
   * Live edit: replaces the text when `editedAt` is newer than the stored edit; never touches a
   * deleted message. Returns false when nothing changed (unknown message, older edit, deleted).
   */
  editMessage(sessionId: string, chatId: string, messageId: string, body: string, editedAt: string): Promise<boolean>;
  /** Deleted for everyone: `revoked`, body emptied, id kept; final. False when unknown or already revoked. */
  revokeMessage(sessionId: string, chatId: string, messageId: string): Promise<boolean>;
  /** Recent messages of a session grouped by chat, newest chats first. */
  recentHistory(sessionId: string, query: RecentHistoryQuery): Promise<ChatHistory[]>;
}

/** The record of each sync: started, finished with its figures, still open. */
export interface SyncRunStore {
  startSyncRun(run: SyncRunStart): Promise<void>;
  finishSyncRun(syncId: string, result: { nChats: number; chatsFailed: number; totalMessages: number }): Promise<void>;
  getSyncRun(syncId: string): Promise<SyncRun | null>;
  /** The newest sync of the session, finished or not. */
  getLastSyncRun(sessionId: string): Promise<SyncRun | null>;
  /** Every unfinished sync of the session, oldest first (a lost one may sit behind a newer one). */
  openSyncRuns(sessionId: string): Promise<SyncRun[]>;
}

/** A session's media by status, and the bytes of the stored ones (`GET …/media`). */
export type MediaCounts = Record<MediaStatus, number> & { bytes: number };

/** A message that carries a file. */
export interface MediaRef {
  chatId: string;
  messageId: string;
}

/**
 * Media descriptors: the media pipeline's state. A message's descriptor comes with it
 * (`upsertMessages`, as WhatsApp announced it) and is then changed only here.
 */
export interface MediaStore {
  /** One stored message; null when unknown. */
  getMessage(sessionId: string, chatId: string, messageId: string): Promise<Message | null>;
  /**
   * Sets the message's media descriptor. `stored` is final: a duplicate job's late failure never
   * undoes it. False when nothing changed (unknown message, or its file already stored).
   */
  setMedia(sessionId: string, chatId: string, messageId: string, media: MediaDescriptor): Promise<boolean>;
  mediaCounts(sessionId: string): Promise<MediaCounts>;
  /** Up to `limit` messages whose media is `pending` (the media sweep gives them a job again). */
  pendingMedia(sessionId: string, limit: number): Promise<MediaRef[]>;
}

/** One sender's reaction on a message: `emoji` '' removes it (WhatsApp keeps one per sender). */
export interface ReactionChange {
  senderId: string;
  emoji: string;
  /** ISO-8601. */
  timestamp: string;
}

/** The reactions a fetch read on one message: what the phone has now, `[]` when none. */
export interface ReactionsSeen {
  id: string;
  reactions: Reaction[];
}

/**
 * Contacts and reactions (DESIGN "Full conversations"). Group members come with the chats
 * (`ChatInput.participants`, answered by `getChat`); the other message fields with the messages.
 */
export interface ConversationStore {
  /** Upserts the session's contacts by id: what the phone says last wins. */
  upsertContacts(sessionId: string, contacts: Contact[]): Promise<void>;
  /** The session's contacts by id (byte order), paged like the chats. */
  listContacts(sessionId: string, query: ChatPageQuery): Promise<Page<Contact>>;
  /**
   * Live reaction: replaces the sender's reaction on a stored message, or removes it (`emoji` '').
   * Resolves to the message's reactions after the change; null when nothing changed (unknown
   * message, a removal of no reaction, the same reaction again).
   */
  setReaction(sessionId: string, chatId: string, messageId: string, change: ReactionChange): Promise<Reaction[] | null>;
  /**
   * What a catch-up or a manual re-sync read of the reactions of stored messages: where a
   * message's stored reactions differ from the ones seen (as sets of sender and emoji), the seen
   * ones replace them, so a reaction sent or removed while no runner listened is caught up too.
   * Messages not stored are left to their save. One transaction; resolves to the messages that
   * changed, with their reactions after.
   */
  replaceReactions(sessionId: string, chatId: string, seen: ReactionsSeen[]): Promise<ReactionsSeen[]>;
}

/**
 * What session tokens need to outlive every API process (and Redis): a signing secret all
 * processes agree on, and a revocation epoch per session.
 */
export interface AccessStore {
  /**
   * Keeps `candidate` under `name` unless a value is kept already (atomic create-if-absent);
   * resolves to the kept value, so two processes generating at once end up with the same one.
   */
  ensureSecret(name: string, candidate: string): Promise<string>;
  /** The session's token epoch: 0 until its tokens are first revoked. */
  getTokenEpoch(sessionId: string): Promise<number>;
  /** Revokes every token of the session minted so far by raising its epoch by one; resolves to the new epoch. */
  bumpTokenEpoch(sessionId: string): Promise<number>;
}

/**
 * A linked session's WhatsApp credentials (WA_AUTH_STORE=store), as one opaque blob per session, so
 * any runner on any host takes a session over without a QR. Written by one upsert (never half);
 * the bytes are secrets: never logged.
 */
export interface AuthStateStore {
  /** Null when the session has none. */
  getAuthState(sessionId: string): Promise<Buffer | null>;
  /** Replaces the session's blob whole. */
  putAuthState(sessionId: string, data: Buffer): Promise<void>;
  /** No-op when absent. */
  deleteAuthState(sessionId: string): Promise<void>;
}

/**
 * Where chats and messages live. Every implementation passes `store.contract.ts`.
 * Writes are idempotent: a message is keyed by (sessionId, chatId, id) and stored once.
 * Each implementation is split the same way: one part per interface above, one class composing them.
 */
export interface Store extends SessionStore, ChatStore, MessageStore, SyncRunStore, MediaStore, AccessStore, ConversationStore, AuthStateStore {
  readonly kind: 'sqlite' | 'mongodb' | 'postgres';
  /** Creates tables/collections and indexes; safe to call on every start. */
  init(): Promise<void>;
  close(): Promise<void>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
}
