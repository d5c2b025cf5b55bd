import { type ChatInput, isGroupChatId, type Message } from '@wa-sync/shared/contracts';
import type * as WAWebJS from 'whatsapp-web.js';
import { type ConversationContext, type WebjsConversationFields, conversationFields, mapParticipants } from './webjs-conversation.mapping';

/**
 * The fields of whatsapp-web.js structures the mapping reads, typed from the library's own
 * `index.d.ts`. Optional where WhatsApp Web leaves them out at runtime even though the typings
 * say otherwise (a chat with no message has no `lastMessage`, notifications have no `ack`).
 */
export type WebjsMessage = Pick<WAWebJS.Message, 'id' | 'body' | 'type' | 'timestamp' | 'hasMedia'> &
  Partial<Pick<WAWebJS.Message, 'ack' | 'author' | 'from' | 'to' | 'fromMe' | 'isStatus' | 'latestEditSenderTimestampMs'>> &
  WebjsConversationFields & {
    /** Present on the library's messages; fetched only for messages with `hasReaction`. */
    getReactions?: () => Promise<WAWebJS.ReactionList[] | undefined>;
  };

/** WhatsApp Web's type of a message deleted for everyone (its text and media are gone). */
export const REVOKED_TYPE = 'revoked';

export type WebjsChat = Pick<WAWebJS.Chat, 'id' | 'name' | 'isGroup' | 'unreadCount' | 'timestamp'> & {
  lastMessage?: Pick<WAWebJS.Message, 'timestamp'> | null;
  /** `GroupChat.participants` (from its groupMetadata); absent on direct chats. */
  participants?: Pick<WAWebJS.GroupParticipant, 'id' | 'isAdmin' | 'isSuperAdmin'>[];
};

/** Stories (status updates) arrive as messages of this pseudo chat; they are not chat history. */
export const STATUS_BROADCAST = 'status@broadcast';
/** Time for a message WhatsApp Web sent without one: stable across syncs, sorts oldest. */
const NO_TIME = new Date(0).toISOString();
/** Seconds beyond this (year 5138) are milliseconds sent by mistake. */
const MAX_SECONDS = 1e11;

/** WhatsApp Web's Unix seconds as ISO-8601; null for a missing, zero or unreadable time. */
export function secondsToIso(seconds: number | null | undefined): string | null {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return null;
  const ms = seconds > MAX_SECONDS ? seconds : seconds * 1000;
  const date = new Date(Math.round(ms));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function mapChat(chat: WebjsChat): ChatInput {
  const id = chat.id._serialized;
  const isGroup = Boolean(chat.isGroup) || isGroupChatId(id);
  const participants = isGroup ? mapParticipants(chat.participants) : undefined;
  return {
    id,
    // Contacts saved without a name (and some groups) have an empty title: show the number.
    name: chat.name?.trim() || chat.id.user || id,
    isGroup,
    unreadCount: unreadCount(chat.unreadCount),
    lastMessageAt: latest(secondsToIso(chat.timestamp), secondsToIso(chat.lastMessage?.timestamp)),
    ...(participants ? { participants } : {}),
  };
}

/** "Mark as unread" stores -1: the chat is unread, with no count. */
function unreadCount(n: number | undefined): number {
  if (n === -1) return 1;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

function latest(a: string | null, b: string | null): string | null {
  if (!a || !b) return a ?? b;
  return a > b ? a : b;
}

/** The chat a message belongs to: its id's `remote`, else the other party of from/to. */
export function messageChatId(msg: WebjsMessage): string {
  const remote = msg.id.remote as unknown;
  if (typeof remote === 'string' && remote) return remote;
  // Older WhatsApp Web builds serialize `remote` as a Wid object.
  if (remote && typeof remote === 'object' && '_serialized' in remote) return String(remote._serialized);
  return (msg.id.fromMe ? msg.to : msg.from) ?? '';
}

/**
 * One message in the store's shape. `chatId` is given when the chat is known (a fetch of that
 * chat); otherwise it is read from the message. Throws for a message with no serialized id.
 */
export function mapMessage(msg: WebjsMessage, chatId: string = messageChatId(msg)): Message {
  const id = msg.id?._serialized;
  if (!id) throw new TypeError('whatsapp-web.js message has no id._serialized');
  if (!chatId) throw new TypeError(`message ${id} has no chat id`);
  const fromMe = Boolean(msg.fromMe ?? msg.id.fromMe);
  return {
    id,
    chatId,
    fromMe,
    // The contract keeps author for others' messages in groups; the library also sets it on own ones.
    author: isGroupChatId(chatId) && !fromMe && msg.author ? msg.author : null,
    body: typeof msg.body === 'string' ? msg.body : '',
    type: msg.type || 'unknown',
    timestamp: secondsToIso(msg.timestamp) ?? NO_TIME,
    ack: typeof msg.ack === 'number' && Number.isFinite(msg.ack) ? Math.trunc(msg.ack) : 0,
    hasMedia: Boolean(msg.hasMedia),
    // A fetch after an edit or a delete carries it, so a re-sync keeps (never undoes) them.
    ...editOf(msg),
    ...(msg.type === REVOKED_TYPE ? { body: '', revoked: true } : {}),
  };
}

/** {@link mapMessage} plus what a person sees beyond the text (webjs-conversation.mapping.ts). */
export function mapFullMessage(msg: WebjsMessage, chatId: string = messageChatId(msg), ctx: ConversationContext = {}): Message {
  const m = mapMessage(msg, chatId);
  // A deleted message's file and reply are gone with it.
  if (m.revoked) return { ...m, senderName: m.fromMe ? null : conversationFields(msg, chatId, m.fromMe, ctx).senderName };
  return { ...m, ...conversationFields(msg, chatId, m.fromMe, ctx) };
}

function editOf(msg: WebjsMessage): { editedAt?: string } {
  const at = msToIso(msg.latestEditSenderTimestampMs);
  return at ? { editedAt: at } : {};
}

function msToIso(ms: number | null | undefined): string | null {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return null;
  return new Date(Math.round(ms)).toISOString();
}

/**
 * The library's `message_edit (message, newBody)` as our event. WhatsApp Web stamps the edit in
 * ms; an edit without a stamp is dated when we hear of it.
 */
export function mapEdit(msg: WebjsMessage, newBody: unknown, now: () => Date = () => new Date()): { chatId: string; id: string; body: string; editedAt: string } {
  return {
    chatId: messageChatId(msg),
    id: msg.id._serialized,
    body: typeof newBody === 'string' ? newBody : typeof msg.body === 'string' ? msg.body : '',
    editedAt: msToIso(msg.latestEditSenderTimestampMs) ?? now().toISOString(),
  };
}

/**
 * The library's `message_revoke_everyone (message, revokedMsg?)`: the first is the message whose
 * type turned `revoked`, with the id of the message that was deleted.
 */
export function mapRevoke(msg: WebjsMessage): { chatId: string; id: string } {
  return { chatId: messageChatId(msg), id: msg.id._serialized };
}

/**
 * A fetched chat page: mapped, oldest first, at most `limit` (the most recent). Placeholder
 * models without an id, which WhatsApp Web sometimes yields, are skipped rather than failing the chat.
 */
export function mapMessages(list: readonly WebjsMessage[], chatId: string, limit: number, ctx?: ConversationContext): Message[] {
  const mapped = list.filter((m) => m?.id?._serialized).map((m) => (ctx ? mapFullMessage(m, chatId, ctx) : mapMessage(m, chatId)));
  mapped.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  return limit < mapped.length ? mapped.slice(mapped.length - limit) : mapped;
}

/** Live events worth storing: chat messages, not stories. */
export function isChatMessage(msg: WebjsMessage): boolean {
  return !msg.isStatus && messageChatId(msg) !== STATUS_BROADCAST && Boolean(msg.id?._serialized);
}
