import type { ChatInput, Contact, MediaDescriptor, Message, SessionStatus } from '../domain.schemas';
import { SqliteAccess } from './sqlite-access.store';
import { SqliteAuthStates } from './sqlite-auth.store';
import { SqliteChats } from './sqlite-chats.store';
import { SqliteConnection, type SqliteStoreOptions, isBusy } from './sqlite.connection';
import { SqliteConversations } from './sqlite-conversations.store';
import { SqliteMedia } from './sqlite-media.store';
import { SqliteMessages } from './sqlite-messages.store';
import { SqliteSessions } from './sqlite-sessions.store';
import { SqliteSyncRuns } from './sqlite-sync-runs.store';
import type { ChatPageQuery, MessagePageQuery, ReactionChange, ReactionsSeen, RecentHistoryQuery, Store, SyncRunStart } from './store.interface';
import type { SessionWebhook } from '../webhook.schemas';

export type { SqliteStoreOptions } from './sqlite.connection';

/**
 * Store on one SQLite file (better-sqlite3, synchronous under the hood). Safe to open from several
 * processes at once: WAL, busy_timeout, and every write transaction takes the lock up front.
 * The work is in one part per concern (sqlite-sessions, -chats, -messages, -sync-runs); this class
 * opens the connection and hands each call to its part.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly conn: SqliteConnection;
  private readonly sessions: SqliteSessions;
  private readonly chats: SqliteChats;
  private readonly messages: SqliteMessages;
  private readonly syncRuns: SqliteSyncRuns;
  private readonly media: SqliteMedia;
  private readonly access: SqliteAccess;
  private readonly authStates: SqliteAuthStates;
  private readonly conversations: SqliteConversations;

  /** `path` is a file (its directory is created) or `:memory:`. */
  constructor(
    readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    this.conn = new SqliteConnection(path, options);
    this.sessions = new SqliteSessions(this.conn);
    this.chats = new SqliteChats(this.conn);
    this.messages = new SqliteMessages(this.conn);
    this.syncRuns = new SqliteSyncRuns(this.conn);
    this.media = new SqliteMedia(this.conn);
    this.access = new SqliteAccess(this.conn);
    this.authStates = new SqliteAuthStates(this.conn);
    this.conversations = new SqliteConversations(this.conn);
  }

  async init(): Promise<void> {
    this.conn.init();
    this.messages.prepare();
    this.media.prepare();
    this.access.prepare();
    this.conversations.prepare();
  }

  async close(): Promise<void> {
    await this.messages.flush();
    this.conn.close();
  }

  /** Also needs write access: a handle SQLite opened read-only (file not writable then) fails here. */
  async ping(): Promise<void> {
    this.conn.s.ping.get({});
    try {
      this.conn.db.prepare('DELETE FROM sync_runs WHERE 0').run();
    } catch (err) {
      if (!isBusy(err)) throw err; // locked by a writer: writable
    }
  }

  ensureSession(sessionId: string) {
    return this.sessions.ensureSession(sessionId);
  }
  getSession(sessionId: string) {
    return this.sessions.getSession(sessionId);
  }
  listSessions() {
    return this.sessions.listSessions();
  }
  setSessionStatus(sessionId: string, status: SessionStatus, detail?: string | null) {
    return this.sessions.setSessionStatus(sessionId, status, detail);
  }
  markFirstReady(sessionId: string, at: string) {
    return this.sessions.markFirstReady(sessionId, at);
  }
  setSessionWebhooks(sessionId: string, webhooks: SessionWebhook[]) {
    return this.sessions.setSessionWebhooks(sessionId, webhooks);
  }
  getSessionWebhooks(sessionId: string) {
    return this.sessions.getSessionWebhooks(sessionId);
  }

  upsertChats(sessionId: string, chats: ChatInput[]) {
    return this.chats.upsertChats(sessionId, chats);
  }
  listChats(sessionId: string, query: ChatPageQuery) {
    return this.chats.listChats(sessionId, query);
  }
  getChat(sessionId: string, chatId: string) {
    return this.chats.getChat(sessionId, chatId);
  }
  chatSyncStates(sessionId: string, before?: string) {
    return this.chats.chatSyncStates(sessionId, before);
  }

  upsertMessages(sessionId: string, chatId: string, messages: Message[]) {
    return this.messages.upsertMessages(sessionId, chatId, messages);
  }
  listMessages(sessionId: string, chatId: string, query: MessagePageQuery) {
    return this.messages.listMessages(sessionId, chatId, query);
  }
  updateMessageAck(sessionId: string, chatId: string, messageId: string, ack: number) {
    return this.messages.updateMessageAck(sessionId, chatId, messageId, ack);
  }
  editMessage(sessionId: string, chatId: string, messageId: string, body: string, editedAt: string) {
    return this.messages.editMessage(sessionId, chatId, messageId, body, editedAt);
  }
  revokeMessage(sessionId: string, chatId: string, messageId: string) {
    return this.messages.revokeMessage(sessionId, chatId, messageId);
  }
  recentHistory(sessionId: string, query: RecentHistoryQuery) {
    return this.messages.recentHistory(sessionId, query);
  }

  startSyncRun(run: SyncRunStart) {
    return this.syncRuns.startSyncRun(run);
  }
  finishSyncRun(syncId: string, result: { nChats: number; chatsFailed: number; totalMessages: number }) {
    return this.syncRuns.finishSyncRun(syncId, result);
  }
  getSyncRun(syncId: string) {
    return this.syncRuns.getSyncRun(syncId);
  }
  getLastSyncRun(sessionId: string) {
    return this.syncRuns.getLastSyncRun(sessionId);
  }
  openSyncRuns(sessionId: string) {
    return this.syncRuns.openSyncRuns(sessionId);
  }

  getMessage(sessionId: string, chatId: string, messageId: string) {
    return this.media.getMessage(sessionId, chatId, messageId);
  }
  setMedia(sessionId: string, chatId: string, messageId: string, media: MediaDescriptor) {
    return this.media.setMedia(sessionId, chatId, messageId, media);
  }
  mediaCounts(sessionId: string) {
    return this.media.mediaCounts(sessionId);
  }
  pendingMedia(sessionId: string, limit: number) {
    return this.media.pendingMedia(sessionId, limit);
  }
  ensureSecret(name: string, candidate: string) {
    return this.access.ensureSecret(name, candidate);
  }
  getTokenEpoch(sessionId: string) {
    return this.access.getTokenEpoch(sessionId);
  }
  bumpTokenEpoch(sessionId: string) {
    return this.access.bumpTokenEpoch(sessionId);
  }
  getAuthState(sessionId: string) {
    return this.authStates.getAuthState(sessionId);
  }
  putAuthState(sessionId: string, data: Buffer) {
    return this.authStates.putAuthState(sessionId, data);
  }
  deleteAuthState(sessionId: string) {
    return this.authStates.deleteAuthState(sessionId);
  }

  upsertContacts(sessionId: string, contacts: Contact[]) {
    return this.conversations.upsertContacts(sessionId, contacts);
  }
  listContacts(sessionId: string, query: ChatPageQuery) {
    return this.conversations.listContacts(sessionId, query);
  }
  setReaction(sessionId: string, chatId: string, messageId: string, change: ReactionChange) {
    return this.conversations.setReaction(sessionId, chatId, messageId, change);
  }

  replaceReactions(sessionId: string, chatId: string, seen: ReactionsSeen[]) {
    return this.conversations.replaceReactions(sessionId, chatId, seen);
  }
}
