import type { Chat, GroupParticipant, MediaDescriptor, Message, SyncKind, SyncReason, SyncRun } from '../domain.schemas';
import { toIso, toIsoOrNull } from './cursor.codec';
import { decodeText } from './pg.text';

/** Rows as node-postgres returns them (pg.connection: int8 as numbers, jsonb parsed). */
export interface ChatRow {
  id: string;
  name: string;
  is_group: boolean;
  unread_count: number;
  last_message_at: number | null;
  message_count: number;
  /** Read by getChat only. */
  participants?: GroupParticipant[] | null;
}

export interface MessageRow {
  id: string;
  chat_id: string;
  from_me: boolean;
  author: string | null;
  body: string;
  type: string;
  ts: number;
  ack: number;
  has_media: boolean;
  edited_at: number | null;
  revoked: boolean;
  media: MediaDescriptor | null;
  extra: Record<string, unknown> | null;
}

export interface SyncRunRow {
  sync_id: string;
  session_id: string;
  reason: string;
  kind: string;
  started_at: number;
  finished_at: number | null;
  n_chats: number;
  chats_failed: number;
  total_messages: number;
}

export const CHAT_COLUMNS = 'id, name, is_group, unread_count, last_message_at, message_count';
export const MESSAGE_COLUMNS = 'id, chat_id, from_me, author, body, type, ts, ack, has_media, edited_at, revoked, media, extra';
export const SYNC_RUN_COLUMNS = 'sync_id, session_id, reason, kind, started_at, finished_at, n_chats, chats_failed, total_messages';

export function toChat(row: ChatRow): Chat {
  return {
    id: row.id,
    name: decodeText(row.name),
    isGroup: row.is_group,
    unreadCount: row.unread_count,
    lastMessageAt: toIsoOrNull(row.last_message_at),
    messageCount: row.message_count,
    ...(row.participants ? { participants: row.participants } : {}),
  };
}

export function toMessage(row: MessageRow): Message {
  return {
    // The fields beyond the columns, first: the columns always win.
    ...(row.extra ?? {}),
    id: row.id,
    chatId: row.chat_id,
    fromMe: row.from_me,
    author: decodeText(row.author),
    body: decodeText(row.body),
    type: decodeText(row.type),
    timestamp: toIso(row.ts),
    ack: row.ack,
    hasMedia: row.has_media,
    // Only when set, so a message never edited or deleted keeps the documented shape.
    ...(row.edited_at !== null ? { editedAt: toIso(row.edited_at) } : {}),
    ...(row.revoked ? { revoked: true } : {}),
    ...(row.media !== null ? { media: row.media } : {}),
  };
}

/** Message fields kept in columns; any other field of a Message goes to `extra`. */
const COLUMN_FIELDS = new Set(['id', 'chatId', 'fromMe', 'author', 'body', 'type', 'timestamp', 'ack', 'hasMedia', 'editedAt', 'revoked', 'media']);

/** The message's fields beyond the columns (null when it has none), for `extra`. */
export function extraOf(m: Message): Record<string, unknown> | null {
  let extra: Record<string, unknown> | null = null;
  for (const key in m) {
    const value = (m as Record<string, unknown>)[key];
    if (COLUMN_FIELDS.has(key) || value === undefined) continue;
    (extra ??= {})[key] = value;
  }
  return extra;
}

export function toSyncRun(row: SyncRunRow): SyncRun {
  return {
    syncId: row.sync_id,
    sessionId: row.session_id,
    reason: row.reason as SyncReason,
    kind: row.kind as SyncKind,
    startedAt: toIso(row.started_at),
    finishedAt: toIsoOrNull(row.finished_at),
    nChats: row.n_chats,
    chatsFailed: row.chats_failed,
    totalMessages: row.total_messages,
    done: row.finished_at !== null,
  };
}
