import type { ChatInput, Contact, MediaDescriptor, Message, SessionStatus } from '../domain.schemas';
import { PgAccess } from './pg-access.store';
import { PgAuthStates } from './pg-auth.store';
import { PgChats } from './pg-chats.store';
import { PgConversations } from './pg-conversations.store';
import { PgConnection, type PgStoreOptions } from './pg.connection';
import { PgMedia } from './pg-media.store';
import { PgMessages } from './pg-messages.store';
import { migratePg } from './pg.schema';
import { PgSessions } from './pg-sessions.store';
import { PgSyncRuns } from './pg-sync-runs.store';
import type { ChatPageQuery, MessagePageQuery, ReactionChange, ReactionsSeen, RecentHistoryQuery, Store, SyncRunStart } from './store.interface';
import type { SessionWebhook } from '../webhook.schemas';

export type { PgStoreOptions } from './pg.connection';

/**
 * Store on PostgreSQL (node-postgres, one pool per process). Several processes and hosts write
 * at once: every write is one idempotent statement (or one transaction) keyed by primary keys, and
 * a message batch moves its chat's counters in the same statement, so counts stay exact. The work
 * is in one part per concern (pg-sessions, -chats, -messages, -sync-runs, -media, -access); this class owns the
 * pool and hands each call to its part.
 */
export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly conn: PgConnection;
  private readonly sessions: PgSessions;
  private readonly chats: PgChats;
  private readonly messages: PgMessages;
  private readonly syncRuns: PgSyncRuns;
  private readonly media: PgMedia;
  private readonly access: PgAccess;
  private readonly authStates: PgAuthStates;
  private readonly conversations: PgConversations;

  /** `url`: postgres://user[:pass]@host[:port]/db[?pool_max=N&…] (node-postgres's connection string). */
  constructor(url: string, options: PgStoreOptions = {}) {
    this.conn = new PgConnection(url, options);
    this.sessions = new PgSessions(this.conn);
    this.chats = new PgChats(this.conn);
    this.messages = new PgMessages(this.conn);
    this.syncRuns = new PgSyncRuns(this.conn);
    this.media = new PgMedia(this.conn);
    this.access = new PgAccess(this.conn);
    this.authStates = new PgAuthStates(this.conn);
    this.conversations = new PgConversations(this.conn);
  }

  /** Creates or upgrades the schema (wa_sync_migrations); safe on every start, from every process. */
  async init(): Promise<void> {
    await migratePg(this.conn);
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  /**
   * Also needs write access: a server that takes connections but refuses writes (a standby after a
   * failover, a database set read-only) fails here with 25006, as its writes would.
   */
  async ping(): Promise<void> {
    const { rows } = await this.conn.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro");
    if (rows[0].ro === 'on') {
      throw Object.assign(new Error('the PostgreSQL server accepts no writes (a standby, or the database is read-only)'), { code: '25006' });
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
