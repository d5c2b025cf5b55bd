import {
  type Contact,
  type GroupParticipant,
  type MediaDescriptor,
  type Message,
  type QuotedMessage,
  QUOTED_BODY_MAX,
  type Reaction,
  isGroupChatId,
} from '@wa-sync/shared/contracts';
import type * as WAWebJS from 'whatsapp-web.js';
import type { ReactionUpdate } from './engine.interface';

/**
 * The parts of a whatsapp-web.js message a person sees beyond its text: who sent it by name, what
 * it replies to, reactions, mentions, forwards, locations, vCards, polls, the file's description.
 * Some are public fields of the library's `Message` (index.d.ts); the rest sits in its raw data
 * (`_data`, the serialized WhatsApp Web model), as `Message.js` itself reads it.
 */

/** A serialized WhatsApp id: a string, or a Wid object on some WhatsApp Web builds. */
type WidLike = string | { _serialized: string } | null | undefined;

/** The raw model fields read here (`msg._data`); none is guaranteed by WhatsApp Web. */
export interface RawMessageData {
  /** The quoted message as the reply carries it (`Message.hasQuotedMsg` is `Boolean(quotedMsg)`). */
  quotedMsg?: { type?: string; body?: string; caption?: string; pollName?: string } | null;
  /** `id.id` of the quoted message. */
  quotedStanzaID?: string;
  /** Who sent the quoted message. */
  quotedParticipant?: WidLike;
  /** The quoted message's chat when it is not this one. */
  quotedRemoteJid?: WidLike;
  mimetype?: string;
  filename?: string;
  size?: number;
  /** The sender's pushname as their phone sent it. */
  notifyName?: string;
  /** Raw poll options: `{ name, localId }`. */
  pollOptions?: Array<{ name: string } | string>;
}

export type WebjsConversationFields = Partial<
  Pick<WAWebJS.Message, 'hasQuotedMsg' | 'hasReaction' | 'mentionedIds' | 'isForwarded' | 'vCards' | 'duration' | 'pollName'>
> & {
  location?: Pick<WAWebJS.Location, 'latitude' | 'longitude'> & Partial<Pick<WAWebJS.Location, 'name' | 'address' | 'description'>>;
  /** The library's field is `string[]` in index.d.ts but holds the raw `{ name, localId }` objects. */
  pollOptions?: Array<{ name: string } | string>;
  _data?: RawMessageData;
};

/** What the mapping needs to know of the account. */
export interface ConversationContext {
  /** The linked account's own id (`client.info.wid._serialized`): tells own quoted messages apart. */
  me?: string;
  /** Saved contact names by id (from `getContacts()`); a missing entry falls back to the pushname. */
  savedName?: (id: string) => string | null | undefined;
}

export const WEBJS_POLL_TYPE = 'poll_creation';

const serialized = (w: WidLike): string | null => (typeof w === 'string' ? w || null : w && typeof w === 'object' && w._serialized ? w._serialized : null);
const text = (s: unknown): string | null => (typeof s === 'string' && s.trim() ? s.trim() : null);
const userOf = (id: string): string => id.split('@')[0];

interface Base {
  id: { _serialized: string; id?: string };
  type?: string;
  body?: string;
  hasMedia?: boolean;
  author?: string;
  from?: string;
}

/** The fields of DESIGN's "Full conversations" found on `msg`; absent when not applicable. */
export function conversationFields(msg: Base & WebjsConversationFields, chatId: string, fromMe: boolean, ctx: ConversationContext): Partial<Message> {
  const out: Partial<Message> = {};
  const raw = msg._data ?? {};
  const group = isGroupChatId(chatId);
  if (fromMe) out.senderName = null;
  else {
    const sender = (group ? msg.author : msg.from) || chatId;
    out.senderName = text(ctx.savedName?.(sender)) ?? text(raw.notifyName) ?? userOf(sender);
  }
  const quoted = mapQuoted(raw, chatId, ctx.me);
  if (quoted) out.quoted = quoted;
  const mentions = (msg.mentionedIds ?? []).map((m) => serialized(m as WidLike)).filter((m): m is string => !!m);
  if (mentions.length) out.mentions = mentions;
  if (msg.isForwarded) out.isForwarded = true;
  if (msg.type === 'location' && msg.location) {
    const latitude = Number(msg.location.latitude);
    const longitude = Number(msg.location.longitude);
    if (Number.isFinite(latitude) && Number.isFinite(longitude)) {
      const l = msg.location;
      out.location = { latitude, longitude, description: text(l.description) ?? (text([l.name, l.address].filter(Boolean).join('\n'))) };
    }
  }
  if (msg.vCards?.length) out.vcards = msg.vCards.filter((v) => typeof v === 'string');
  if (msg.type === WEBJS_POLL_TYPE) {
    const options = msg.pollOptions ?? raw.pollOptions ?? [];
    out.poll = { name: msg.pollName ?? '', options: options.map((o) => (typeof o === 'string' ? o : String(o?.name ?? ''))) };
  }
  if (msg.hasMedia) out.media = mapMedia(raw, msg.duration);
  return out;
}

/**
 * The replied-to message from the reply's raw data. The library only exposes `hasQuotedMsg` and an
 * async `getQuotedMessage()` (a page call per message); the id is rebuilt as WhatsApp Web writes
 * it: `<fromMe>_<chat>_<stanza id>`, plus `_<author>` for another member's message in a group.
 * A reply to a message deleted since keeps what the reply carried (often type `revoked`, no text).
 */
export function mapQuoted(raw: RawMessageData, chatId: string, me: string | undefined): QuotedMessage | null {
  const q = raw.quotedMsg;
  if (!q || !raw.quotedStanzaID) return null;
  const remote = serialized(raw.quotedRemoteJid) ?? chatId;
  const participant = serialized(raw.quotedParticipant);
  const fromMe = !!participant && !!me && participant === me;
  const author = isGroupChatId(remote) && !fromMe ? participant : null;
  const body = q.type === 'revoked' ? '' : (q.body || q.caption || q.pollName || '');
  return {
    id: `${fromMe}_${remote}_${raw.quotedStanzaID}${author ? `_${author}` : ''}`,
    fromMe,
    author,
    type: q.type || 'unknown',
    body: typeof body === 'string' ? body.slice(0, QUOTED_BODY_MAX) : '',
  };
}

/** What WhatsApp announces of a file; `pending` until the media job downloads it. */
export function mapMedia(raw: RawMessageData, duration: unknown): MediaDescriptor {
  const seconds = typeof duration === 'number' ? duration : typeof duration === 'string' ? Number.parseFloat(duration) : Number.NaN;
  return {
    mimetype: text(raw.mimetype),
    filename: text(raw.filename),
    size: typeof raw.size === 'number' && Number.isFinite(raw.size) && raw.size >= 0 ? Math.floor(raw.size) : null,
    sha256: null,
    durationSeconds: Number.isFinite(seconds) && seconds >= 0 ? seconds : null,
    status: 'pending',
    error: null,
  };
}

/** `message.getReactions()`: one list per emoji, each with its senders; a removed one has an empty text. */
export function mapReactionLists(lists: readonly Pick<WAWebJS.ReactionList, 'senders'>[] | undefined | null): Reaction[] {
  const out: Reaction[] = [];
  for (const list of lists ?? []) {
    for (const s of list.senders ?? []) {
      const senderId = serialized(s.senderId as WidLike);
      if (!s.reaction || !senderId) continue;
      out.push({ emoji: s.reaction, senderId, timestamp: secondsIso(s.timestamp) });
    }
  }
  return out;
}

/** The library's `message_reaction` (a `Reaction`, `msgId` the parent message's key): set, changed, or removed (empty text). */
export function mapReactionEvent(r: Pick<WAWebJS.Reaction, 'msgId' | 'senderId' | 'reaction' | 'timestamp'>, now: () => Date = () => new Date()): ReactionUpdate | null {
  const key = r.msgId as unknown as { _serialized?: string; remote?: WidLike; fromMe?: boolean } | undefined;
  const id = key?._serialized;
  const senderId = serialized(r.senderId as WidLike);
  if (!id || !senderId) return null;
  const chatId = serialized(key.remote) ?? id.split('_')[1];
  if (!chatId) return null;
  const timestamp = typeof r.timestamp === 'number' && r.timestamp > 0 ? secondsIso(r.timestamp) : now().toISOString();
  return { chatId, id, senderId, emoji: typeof r.reaction === 'string' ? r.reaction : '', timestamp };
}

function secondsIso(s: number): string {
  const ms = s > 1e11 ? s : s * 1000;
  return Number.isFinite(ms) && ms > 0 ? new Date(Math.round(ms)).toISOString() : new Date(0).toISOString();
}

export type WebjsContact = Pick<WAWebJS.Contact, 'id' | 'number' | 'isBusiness' | 'isMyContact'> &
  Partial<Pick<WAWebJS.Contact, 'name' | 'pushname' | 'isGroup' | 'isMe' | 'isUser'>>;

/** People only (no groups, not the account itself); empty names are null, the number from the id when missing. */
export function mapContacts(list: readonly WebjsContact[]): Contact[] {
  const seen = new Set<string>();
  const out: Contact[] = [];
  for (const c of list) {
    const id = c?.id?._serialized;
    if (!id || c.isGroup || c.isMe || isGroupChatId(id) || id.endsWith('@broadcast') || seen.has(id)) continue;
    seen.add(id);
    out.push({
      id,
      name: text(c.name),
      pushname: text(c.pushname),
      number: text(c.number) ?? text(c.id.user),
      isBusiness: Boolean(c.isBusiness),
      isMyContact: Boolean(c.isMyContact),
    });
  }
  return out;
}

/** `GroupChat.participants`: a super admin (the creator) is an admin. */
export function mapParticipants(list: readonly Pick<WAWebJS.GroupParticipant, 'id' | 'isAdmin' | 'isSuperAdmin'>[] | undefined): GroupParticipant[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.filter((p) => p?.id?._serialized).map((p) => ({ id: p.id._serialized, isAdmin: Boolean(p.isAdmin || p.isSuperAdmin) }));
}
