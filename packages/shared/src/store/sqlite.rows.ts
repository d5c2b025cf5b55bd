import type { Chat, GroupParticipant, MediaDescriptor, Message, Reaction, SyncKind, SyncReason, SyncRun } from '../domain.schemas';
import type { MessageExtra } from './store.input';
import { toIso, toIsoOrNull } from './cursor.codec';
import type { ChatRow, MessageRow, SyncRunRow } from './sqlite.statements';

/** SQLite rows (epoch ms, 0/1) to the domain shapes. */
export function toChat(row: ChatRow): Chat {
  return {
    id: row.id,
    name: row.name,
    isGroup: row.is_group === 1,
    unreadCount: row.unread_count,
    lastMessageAt: toIsoOrNull(row.last_message_at),
    messageCount: row.message_count,
    ...(row.participants ? { participants: JSON.parse(row.participants) as GroupParticipant[] } : {}),
  };
}

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    chatId: row.chat_id,
    fromMe: row.from_me === 1,
    author: row.author,
    body: row.body,
    type: row.type,
    timestamp: toIso(row.ts),
    ack: row.ack,
    hasMedia: row.has_media === 1,
    // Only when set, so a message never edited or deleted keeps the documented shape.
    ...(row.edited_at !== null ? { editedAt: toIso(row.edited_at) } : {}),
    ...(row.revoked === 1 ? { revoked: true } : {}),
    ...(row.media !== null ? { media: JSON.parse(row.media) as MediaDescriptor } : {}),
    ...(row.extra !== null ? (JSON.parse(row.extra) as MessageExtra) : {}),
    ...(row.reactions !== null ? { reactions: JSON.parse(row.reactions) as Reaction[] } : {}),
  };
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
