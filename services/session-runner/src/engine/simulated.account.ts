import { mulberry32, type Rng } from './simulated.random';
import type { ChatInput, Contact, GroupParticipant, Message } from '@wa-sync/shared/contracts';
import { draw, fmix32, hashSeed2, hex668, hex88, isoSecond, seedDraws } from './simulated.draw';
import { type ExtrasChat, addHistoryExtras, pendingMedia, quoteOf } from './simulated.extras';
import { displayName, simulatedContact } from './simulated.people';
import { CAPTIONS, FILES, FIRST, GROUPS, LAST, LOCATION_BODIES, PHONE_PLANS, PHRASES } from './simulated.words';

export { fmix32 };

/**
 * Deterministic simulated WhatsApp account: a seed gives the same chats and messages on every run.
 * The chat list is built up front (cheap); messages are derived per message from
 * hash(seed, chat, k) with k counted from the newest, so fetching the `limit` most recent
 * messages of one chat costs O(limit), whatever the size of the account. History messages are
 * made without a closure, `Date` or intermediate string each (`simulated.draw.ts`): a first sync
 * generates every message of the account, 200,000 for 2,000 chats × 100.
 */

/**
 * Default "now" of the generated history when none is given (tests, benches). The engine passes
 * the session's first `ready` instead, so a demo's history ends when the session was linked.
 */
export const SIM_BASE_TIME_MS = Date.UTC(2025, 0, 15, 12, 0, 0);

export { mulberry32, type Rng };

/** Folds integers into one 32-bit seed. */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32((h ^ fmix32(Math.floor(p) >>> 0)) + 0x7f4a7c15);
  return h;
}

/** FNV-1a, to turn a session id into a seed part. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const digits = (r: Rng, n: number): string => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');

/** Type weights: mostly text, like a real account. */
const TYPES: readonly [string, number][] = [
  ['chat', 0.75], ['image', 0.09], ['ptt', 0.05], ['video', 0.03], ['document', 0.03], ['sticker', 0.03], ['location', 0.02],
];
const MEDIA_TYPES = new Set(['image', 'video', 'ptt', 'document', 'sticker']);
/** Live message k carries a file when k % LIVE_MEDIA_EVERY === 3, of these types in turn. */
export const LIVE_MEDIA_EVERY = 7;
const LIVE_MEDIA_TYPES = ['image', 'ptt', 'document', 'sticker', 'video', 'audio'];
/** SIM_MEDIA_BYTES default: the size simulated files are announced (and made) around. */
export const SIM_MEDIA_BYTES_DEFAULT = 16384;

/** Newest-activity gap between consecutive chats of the list (chat 0 is the most recent). */
const CHAT_SLOT_SEC = 20 * 60;

interface SimChat extends ExtrasChat {
  input: Omit<ChatInput, 'lastMessageAt'>;
  /** Salt of the per-message details (simulated.extras.ts), apart from the message's own draws. */
  extraSalt: number;
  /** Group members and their admin flags (the first one created the group). */
  members: GroupParticipant[];
  /** Salt of the chat's per-message seeds and id suffixes. */
  salt: number;
  /** Average seconds between two messages of this chat. */
  slotSec: number;
  /** Time of the newest history message, relative to the history's base time (<= 0). */
  newestOffsetMs: number;
  fromMeRate: number;
  /** Id heads of the chat's history messages: `true_<chat>_3EB0`, `false_<chat>_`. */
  ownIdPrefix: string;
  otherIdPrefix: string;
  /** `_<participant>`, the id tail of a group member's message, per participant. */
  authorSuffixes: string[];
}

export interface SimulatedAccountOptions {
  seed: number;
  chats: number;
  messagesPerChat: number;
  /** "Now" of the generated history (epoch ms); default SIM_BASE_TIME_MS. Each call may pass another. */
  baseTimeMs?: number;
  /** Media files are announced around this size (SIM_MEDIA_BYTES); default SIM_MEDIA_BYTES_DEFAULT. */
  mediaBytes?: number;
}

export class SimulatedAccount {
  /** Messages generated so far: lets tests prove that listing chats generates none. */
  messagesGenerated = 0;
  readonly chatIds: string[] = [];
  /** The linked account's own id: `fromMe` reactions and mentions of me. */
  readonly meId: string;
  private readonly chats = new Map<string, SimChat>();
  private contactList?: Contact[];

  constructor(readonly options: SimulatedAccountOptions) {
    // One sequential stream for the list: chat i only depends on chats before it,
    // so a larger SIM_CHATS keeps the first chats of a smaller one.
    const r = mulberry32(hashSeed(options.seed, 0xc4a7));
    this.meId = `${phone(mulberry32(hashSeed(options.seed, 0x3e3e)))}@c.us`;
    let groupSlot = 0;
    for (let i = 0; i < options.chats; i++) {
      // One group in every block of 4 chats, at a random place: 25% even for small accounts.
      if (i % 4 === 0) groupSlot = Math.floor(r() * 4);
      const chat = this.makeChat(r, i, i % 4 === groupSlot);
      this.chats.set(chat.input.id, chat);
      this.chatIds.push(chat.input.id);
    }
  }

  hasChat(chatId: string): boolean {
    return this.chats.has(chatId);
  }

  get baseTimeMs(): number {
    return this.options.baseTimeMs ?? SIM_BASE_TIME_MS;
  }

  /** Every chat, newest activity first, groups with their members; fresh objects, safe to mutate. */
  listChats(baseMs = this.baseTimeMs): ChatInput[] {
    return this.chatIds.map((id) => {
      const chat = this.chats.get(id)!;
      const input: ChatInput = { ...chat.input, lastMessageAt: this.lastMessageAt(id, baseMs) };
      if (chat.input.isGroup) input.participants = chat.members.map((p) => ({ ...p }));
      return input;
    });
  }

  /**
   * The account's contacts: the other side of every direct chat and every group member, once
   * each, in order of first appearance; a pure function of the seed (fresh objects).
   */
  contacts(): Contact[] {
    if (!this.contactList) {
      const seen = new Map<string, Contact>();
      for (const id of this.chatIds) {
        const chat = this.chats.get(id)!;
        if (!chat.input.isGroup && !seen.has(id)) seen.set(id, this.contactOf(chat.input.id, chat.input.name));
        for (const p of chat.participants) if (!seen.has(p)) seen.set(p, this.contactOf(p, 'member'));
      }
      this.contactList = [...seen.values()];
    }
    return this.contactList.map((c) => ({ ...c }));
  }

  /** ISO time of the chat's newest history message; null without messages. */
  lastMessageAt(chatId: string, baseMs = this.baseTimeMs): string | null {
    const chat = this.requireChat(chatId);
    return this.options.messagesPerChat > 0 ? new Date(floorSec(baseMs + chat.newestOffsetMs)).toISOString() : null;
  }

  /** The `limit` most recent messages of a chat, oldest first; throws for an unknown chat. */
  latestMessages(chatId: string, limit: number, baseMs = this.baseTimeMs): Message[] {
    const chat = this.requireChat(chatId);
    const count = Math.min(Math.max(0, Math.floor(limit)), this.options.messagesPerChat);
    const out: Message[] = new Array(count);
    for (let k = 0; k < count; k++) out[count - 1 - k] = this.historyMessage(chat, k, baseMs);
    return out;
  }

  messages(chatId: string, baseMs = this.baseTimeMs): Message[] {
    return this.latestMessages(chatId, this.options.messagesPerChat, baseMs);
  }

  /**
   * Live message k of the account, as it arrived (see simulated.live.ts): a pure function of the
   * seed, the chat and k. The id ends in k as 8 hex digits, so it never collides within the chat.
   */
  liveMessage(chatId: string, k: number, timestampMs: number): Message {
    const chat = this.requireChat(chatId);
    const r = mulberry32(hashSeed(chat.salt, k, 0x11fe));
    const fromMe = r() < chat.fromMeRate;
    const author = chat.input.isGroup && !fromMe ? pick(r, chat.participants) : null;
    const head = fromMe
      ? `3EB0${hex(Math.floor(r() * 0x100000000), 8)}`
      : `${hex(Math.floor(r() * 0x1000000), 6)}${hex(Math.floor(r() * 0x1000000), 6)}`;
    const id = `${fromMe}_${chatId}_${head}${hex(k >>> 0, 8)}${author ? `_${author}` : ''}`;
    // Some live messages carry a file (caption `live #k`), for the live media policy.
    const type = k % LIVE_MEDIA_EVERY === 3 ? LIVE_MEDIA_TYPES[Math.floor(k / LIVE_MEDIA_EVERY) % LIVE_MEDIA_TYPES.length] : 'chat';
    const message: Message = {
      id,
      chatId,
      fromMe,
      author,
      body: `live #${k}`,
      type,
      timestamp: new Date(timestampMs).toISOString(),
      ack: fromMe ? 1 : 0,
      hasMedia: type !== 'chat',
      senderName: fromMe ? null : author ? chat.senderNames[chat.participants.indexOf(author)] : chat.directName,
    };
    if (type !== 'chat') message.media = pendingMedia(type, id, '', this.mediaBytes, type === 'ptt' || type === 'audio' || type === 'video' ? 1 + (k % 30) : null);
    return message;
  }

  /** What the extras of a live chat need (reactions by SimulatedLive). */
  extrasChat(chatId: string): ExtrasChat {
    return this.requireChat(chatId);
  }

  private get mediaBytes(): number {
    return this.options.mediaBytes ?? SIM_MEDIA_BYTES_DEFAULT;
  }

  private contactOf(id: string, name: string | 'member'): Contact {
    // A direct chat named by its number is a contact WhatsApp has no saved name for.
    const saved = name === 'member' ? 'member' : { name: name.startsWith('+') ? null : name };
    return simulatedContact(this.options.seed, id, saved);
  }

  private requireChat(chatId: string): SimChat {
    const chat = this.chats.get(chatId);
    if (!chat) throw new Error(`unknown chat ${chatId}`);
    return chat;
  }

  private makeChat(r: Rng, index: number, isGroup: boolean): SimChat {
    let id: string;
    do id = isGroup ? `120363${digits(r, 12)}@g.us` : `${phone(r)}@c.us`;
    while (this.chats.has(id));
    let name: string;
    if (isGroup) name = pick(r, GROUPS);
    else if (r() < 0.1) name = `+${id.slice(0, -5)}`; // unsaved contact: WhatsApp shows the number
    else name = `${pick(r, FIRST)} ${pick(r, LAST)}`;
    const participants = isGroup
      ? Array.from({ length: 3 + Math.floor(r() * 10) }, () => `${phone(r)}@c.us`)
      : [];
    const unread = r() < (isGroup ? 0.5 : 0.3) ? 1 + Math.floor(r() * (isGroup ? 40 : 5)) : 0;
    // Log-uniform 2 min .. 8 h between messages: some chats are chatty, some quiet.
    const slotSec = Math.round(Math.exp(Math.log(120) + r() * Math.log(28800 / 120)));
    const newestOffsetMs = -(index * CHAT_SLOT_SEC + Math.floor(r() * CHAT_SLOT_SEC)) * 1000;
    const salt = hashSeed(this.options.seed, index, 0x5a17);
    const people = participants.map((p) => this.contactOf(p, 'member'));
    return {
      input: { id, name, isGroup, unreadCount: Math.min(unread, this.options.messagesPerChat) },
      salt,
      extraSalt: hashSeed(salt, 0xe7a5),
      chatId: id,
      isGroup,
      meId: this.meId,
      senderNames: people.map(displayName),
      directName: isGroup ? '' : displayName(this.contactOf(id, name)),
      // The creator (first) is an admin, and about one member in five.
      members: participants.map((p, i) => ({ id: p, isAdmin: i === 0 || (fmix32(salt ^ i) & 0xff) < 52 })),
      slotSec,
      newestOffsetMs,
      fromMeRate: isGroup ? 0.2 : 0.45,
      participants,
      ownIdPrefix: `true_${id}_3EB0`,
      otherIdPrefix: `false_${id}_`,
      authorSuffixes: participants.map((p) => `_${p}`),
    };
  }

  /**
   * Message k (0 = newest) of the chat's history: a pure function of (seed, chat, k), drawn from
   * one mulberry32 stream in a fixed order (jitter, sender, author, type, id, body, ack), then its
   * conversation details from a stream of their own (simulated.extras.ts).
   */
  private historyMessage(chat: SimChat, k: number, baseMs: number): Message {
    this.messagesGenerated++;
    return this.conversationMessage(chat, k, baseMs, true);
  }

  private conversationMessage(chat: SimChat, k: number, baseMs: number, withReply: boolean): Message {
    const message = this.baseMessage(chat, k, baseMs);
    seedDraws(hashSeed2(chat.extraSalt, k));
    const quoteK = addHistoryExtras(message, chat, k, this.lastTsMs, baseMs, this.mediaBytes);
    // Last: making the quoted message reseeds the module stream.
    if (withReply && quoteK >= 0 && quoteK < this.options.messagesPerChat) message.quoted = quoteOf(this.conversationMessage(chat, quoteK, baseMs, false));
    return message;
  }

  /** Time (ms) of the last message baseMessage made, so the extras need not parse it back. */
  private lastTsMs = 0;

  /** The message's own draws: id, time, sender, type, text, ack; and the sender's name. */
  private baseMessage(chat: SimChat, k: number, baseMs: number): Message {
    seedDraws(hashSeed2(chat.salt, k));
    // Slot k minus a jitter smaller than the slot: strictly decreasing with k, by >= 1 s.
    const jitter = k === 0 ? 0 : Math.floor(draw() * chat.slotSec);
    const timestampMs = floorSec(baseMs + chat.newestOffsetMs) - (k * chat.slotSec + jitter) * 1000;
    const fromMe = draw() < chat.fromMeRate;
    const authorIndex = chat.input.isGroup && !fromMe ? Math.floor(draw() * chat.participants.length) : -1;
    const type = drawType();
    // 20 hex: WhatsApp Web's own messages start with 3EB0; the last 8 are a bijection of k,
    // so ids never collide within a chat.
    const tail = fmix32((k ^ chat.salt) >>> 0);
    const key = fromMe
      ? chat.ownIdPrefix + hex88(Math.floor(draw() * 0x100000000), tail)
      : chat.otherIdPrefix + hex668(Math.floor(draw() * 0x1000000), Math.floor(draw() * 0x1000000), tail);
    const id = authorIndex === -1 ? key : key + chat.authorSuffixes[authorIndex];
    const body = drawBody(type);
    let ack: number;
    if (fromMe) ack = k < 3 ? 1 + Math.floor(draw() * 3) : draw() < 0.9 ? 3 : 2;
    else ack = k < 3 ? Math.floor(draw() * 3) : 3;
    this.lastTsMs = timestampMs;
    return {
      id,
      chatId: chat.input.id,
      fromMe,
      author: authorIndex === -1 ? null : chat.participants[authorIndex],
      body,
      type,
      timestamp: isoSecond(timestampMs),
      ack,
      hasMedia: MEDIA_TYPES.has(type),
      senderName: fromMe ? null : authorIndex >= 0 ? chat.senderNames[authorIndex] : chat.directName,
    };
  }
}

/** WhatsApp times have whole seconds. */
function floorSec(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function phone(r: Rng): string {
  const [cc, prefix, rest] = pick(r, PHONE_PLANS);
  return `${cc}${prefix}${digits(r, rest)}`;
}

/** `pickType` on the module stream. */
function drawType(): string {
  let x = draw();
  for (const [type, weight] of TYPES) if ((x -= weight) < 0) return type;
  return 'chat';
}

const drawFrom = (list: readonly string[]): string => list[Math.floor(draw() * list.length)];

/** The body of a history message of this type, on the module stream. */
function drawBody(type: string): string {
  switch (type) {
    case 'chat':
      // One phrase, or two joined by a space.
      return draw() < 0.7 ? drawFrom(PHRASES) : `${drawFrom(PHRASES)} ${drawFrom(PHRASES)}`;
    case 'image':
    case 'video':
      return draw() < 0.4 ? drawFrom(CAPTIONS) : '';
    case 'document':
      return drawFrom(FILES);
    case 'location':
      return drawFrom(LOCATION_BODIES);
    default:
      return ''; // ptt, sticker: media without caption
  }
}
