import {
  MongoBulkWriteError,
  MongoServerError,
  type AnyBulkWriteOperation,
  type Collection,
  type Document,
  type IndexDescription,
} from 'mongodb';
import type { Chat, Contact, GroupParticipant, MediaDescriptor, Message, Reaction, SessionStatus, SyncKind, SyncReason, SyncRun } from '../domain.schemas';
import type { MessageExtra } from './store.input';
import type { SessionWebhook } from '../webhook.schemas';

/** Documents as stored: times are BSON Dates, ids are the natural keys (`_id` is the driver's ObjectId). */
export interface SessionDoc {
  sessionId: string;
  status: SessionStatus;
  statusDetail: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The first `ready`; absent until then (documents written before continuous sync have none). */
  firstReadyAt?: Date;
  /** Absent on sessions made before webhooks existed (no migration needed). */
  webhooks?: SessionWebhook[];
}

export interface ChatDoc {
  sessionId: string;
  id: string;
  name: string;
  isGroup: boolean;
  unreadCount: number;
  /** Always present; null for a chat with no message (null sorts after every Date in a descending sort). */
  lastMessageAt: Date | null;
  messageCount: number;
  /** Group members; absent until a chat list brings them. */
  participants?: GroupParticipant[];
}

export interface MessageDoc {
  sessionId: string;
  chatId: string;
  id: string;
  fromMe: boolean;
  author: string | null;
  body: string;
  type: string;
  timestamp: Date;
  ack: number;
  hasMedia: boolean;
  editedAt?: Date | null;
  revoked?: boolean;
  /** Absent for a message without media. */
  media?: MediaDescriptor | null;
  /** The conversation fields it came with (senderName, quoted, …); absent until a fetch brings them. */
  extra?: MessageExtra | null;
  /** Absent until known; then changed by live reactions only. */
  reactions?: Reaction[] | null;
}

export interface ContactDoc extends Contact {
  sessionId: string;
}

export interface SyncRunDoc {
  syncId: string;
  sessionId: string;
  reason: SyncReason;
  /** Absent on runs written before continuous sync: those were full syncs. */
  kind?: SyncKind;
  startedAt: Date;
  finishedAt: Date | null;
  nChats: number;
  chatsFailed: number;
  totalMessages: number;
}

/** The collections the parts of a MongoStore share. */
export interface MongoCollections {
  sessions: Collection<SessionDoc>;
  chats: Collection<ChatDoc>;
  messages: Collection<MessageDoc>;
  syncRuns: Collection<SyncRunDoc>;
  contacts: Collection<ContactDoc>;
}

/** Named, so that `init()` on every start is a no-op and a changed definition fails loudly. */
export const INDEXES: Record<'sessions' | 'chats' | 'messages' | 'sync_runs' | 'contacts', IndexDescription[]> = {
  // listContacts pages by id.
  contacts: [{ name: 'contact_key', key: { sessionId: 1, id: 1 }, unique: true }],
  sessions: [{ name: 'session_key', key: { sessionId: 1 }, unique: true }],
  chats: [
    { name: 'chat_key', key: { sessionId: 1, id: 1 }, unique: true },
    // listChats sort (lastMessageAt desc, id asc) and recentHistory's active-chat scan.
    { name: 'chats_by_activity', key: { sessionId: 1, lastMessageAt: -1, id: 1 } },
  ],
  messages: [
    { name: 'message_key', key: { sessionId: 1, chatId: 1, id: 1 }, unique: true },
    // listMessages / recentHistory sort (timestamp desc, id desc).
    { name: 'messages_by_time', key: { sessionId: 1, chatId: 1, timestamp: -1, id: -1 } },
    // Media counts and the sweep of pending media; only messages with media are in it.
    { name: 'messages_media_status', key: { sessionId: 1, 'media.status': 1 }, partialFilterExpression: { 'media.status': { $exists: true } } },
  ],
  sync_runs: [
    { name: 'sync_key', key: { syncId: 1 }, unique: true },
    { name: 'sync_runs_by_start', key: { sessionId: 1, startedAt: -1 } },
    { name: 'sync_runs_by_finish', key: { sessionId: 1, finishedAt: -1 } },
  ],
};

const DUPLICATE_KEY = 11000;

/**
 * Two upserts of the same new key can both miss and both insert; the unique index fails one with
 * E11000. Run again, the loser matches the winner's document and updates it instead.
 */
export async function retryOnDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof MongoServerError && !(err instanceof MongoBulkWriteError) && err.code === DUPLICATE_KEY) {
      return write();
    }
    throw err;
  }
}

/**
 * Unordered bulk upsert; returns how many documents it inserted. Operations that lost an insert
 * race (E11000) are retried once; any other error is thrown.
 */
export async function bulkUpsert<T extends Document>(
  collection: Collection<T>,
  ops: AnyBulkWriteOperation<T>[],
): Promise<number> {
  try {
    return (await collection.bulkWrite(ops, { ordered: false })).upsertedCount;
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const failed = err.result.getWriteErrors();
    const onlyRaces = failed.length > 0 && failed.every((e) => e.code === DUPLICATE_KEY);
    if (!onlyRaces || err.result.getWriteConcernError()) throw err;
    // WriteError.index is the position in `ops` (the driver maps it back from its sub-batches).
    const again = await collection.bulkWrite(
      failed.map((e) => ops[e.index]),
      { ordered: false },
    );
    return err.result.upsertedCount + again.upsertedCount;
  }
}

/**
 * The database named in the URL path (`mongodb://host/wa-sync` → `wa-sync`); `wa-sync` when the
 * URL names none (the driver would silently use `test`).
 */
export function dbNameFromUrl(url: string): string {
  const afterScheme = url.replace(/^mongodb(\+srv)?:\/\//i, '');
  const beforeQuery = afterScheme.split(/[?#]/)[0];
  const hosts = beforeQuery.slice(beforeQuery.lastIndexOf('@') + 1);
  const slash = hosts.indexOf('/');
  const name = slash === -1 ? '' : decodeURIComponent(hosts.slice(slash + 1));
  return name === '' ? 'wa-sync' : name;
}

export function toChat(doc: ChatDoc): Chat {
  return {
    id: doc.id,
    name: doc.name,
    isGroup: doc.isGroup,
    unreadCount: doc.unreadCount,
    lastMessageAt: doc.lastMessageAt ? doc.lastMessageAt.toISOString() : null,
    messageCount: doc.messageCount,
    ...(doc.participants ? { participants: doc.participants } : {}),
  };
}

export function toMessage(doc: MessageDoc): Message {
  return {
    id: doc.id,
    chatId: doc.chatId,
    fromMe: doc.fromMe,
    author: doc.author ?? null,
    body: doc.body,
    type: doc.type,
    timestamp: doc.timestamp.toISOString(),
    ack: doc.ack,
    hasMedia: doc.hasMedia,
    ...(doc.editedAt ? { editedAt: doc.editedAt.toISOString() } : {}),
    ...(doc.revoked ? { revoked: true } : {}),
    ...(doc.media ? { media: doc.media } : {}),
    ...(doc.extra ?? {}),
    ...(doc.reactions ? { reactions: doc.reactions } : {}),
  };
}

export function toSyncRun(doc: SyncRunDoc): SyncRun {
  return {
    syncId: doc.syncId,
    sessionId: doc.sessionId,
    reason: doc.reason,
    kind: doc.kind ?? 'full',
    startedAt: doc.startedAt.toISOString(),
    finishedAt: doc.finishedAt ? doc.finishedAt.toISOString() : null,
    nChats: doc.nChats,
    chatsFailed: doc.chatsFailed,
    totalMessages: doc.totalMessages,
    done: doc.finishedAt !== null && doc.finishedAt !== undefined,
  };
}
