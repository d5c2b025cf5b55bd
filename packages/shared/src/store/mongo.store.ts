import { MongoClient, type Db } from 'mongodb';
import type { ChatInput, Contact, MediaDescriptor, Message, SessionStatus } from '../domain.schemas';
import { MongoAccess } from './mongo-access.store';
import { MongoAuthStates } from './mongo-auth.store';
import { MongoChats } from './mongo-chats.store';
import { MongoConversations } from './mongo-conversations.store';
import { MongoMedia } from './mongo-media.store';
import { MongoMessages } from './mongo-messages.store';
import { INDEXES, dbNameFromUrl, type MongoCollections } from './mongo.schema';
import { MongoSessions } from './mongo-sessions.store';
import { MongoSyncRuns } from './mongo-sync-runs.store';
import type { ChatPageQuery, MessagePageQuery, ReactionChange, ReactionsSeen, RecentHistoryQuery, Store, SyncRunStart } from './store.interface';
import type { SessionWebhook } from '../webhook.schemas';

export interface MongoStoreOptions {
  /** Overrides the database named in the URL (tests use one database per run). */
  dbName?: string;
}

/**
 * Store on MongoDB. Writes are idempotent upserts keyed by unique indexes, so several sync
 * workers can write the same chat at once. No multi-document transactions (they would need a
 * replica set): a message batch and its chat counters are separate writes, and re-running the
 * batch repairs the counters. The work is in one part per concern (mongo-sessions, -chats,
 * -messages, -sync-runs); this class owns the client and hands each call to its part.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  private readonly client: MongoClient;
  private readonly db: Db;
  private readonly c: MongoCollections;
  private readonly sessions: MongoSessions;
  private readonly chats: MongoChats;
  private readonly messages: MongoMessages;
  private readonly syncRuns: MongoSyncRuns;
  private readonly media: MongoMedia;
  private readonly access: MongoAccess;
  private readonly authStates: MongoAuthStates;
  private readonly conversations: MongoConversations;

  constructor(url: string, options: MongoStoreOptions = {}) {
    // Driver defaults on purpose: a connection pool per client, retryable reads and writes on.
    this.client = new MongoClient(url);
    this.db = this.client.db(options.dbName ?? dbNameFromUrl(url));
    this.c = {
      sessions: this.db.collection('sessions'),
      chats: this.db.collection('chats'),
      messages: this.db.collection('messages'),
      syncRuns: this.db.collection('sync_runs'),
      contacts: this.db.collection('contacts'),
    };
    this.sessions = new MongoSessions(this.c);
    this.chats = new MongoChats(this.c);
    this.messages = new MongoMessages(this.c);
    this.syncRuns = new MongoSyncRuns(this.c);
    this.media = new MongoMedia(this.c);
    this.access = new MongoAccess(this.db);
    this.authStates = new MongoAuthStates(this.db);
    this.conversations = new MongoConversations(this.c);
  }

  async init(): Promise<void> {
    await this.client.connect();
    await Promise.all([
      this.c.sessions.createIndexes(INDEXES.sessions),
      this.c.chats.createIndexes(INDEXES.chats),
      this.c.messages.createIndexes(INDEXES.messages),
      this.c.syncRuns.createIndexes(INDEXES.sync_runs),
      this.c.contacts.createIndexes(INDEXES.contacts),
    ]);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
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
