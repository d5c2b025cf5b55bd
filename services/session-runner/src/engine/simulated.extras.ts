import { type MediaDescriptor, type Message, QUOTED_BODY_MAX, type QuotedMessage } from '@wa-sync/shared/contracts';
import { draw, isoSecond } from './simulated.draw';
import { EMOJIS, FIRST, LAST, LOCATION_BODIES, PLACES, POLLS } from './simulated.words';

/**
 * What a simulated history message carries beyond its text (DESIGN "Full conversations"): the
 * sender's name, replies, mentions, forwards, reactions, locations, vCards, polls and media
 * descriptors. Drawn from the module stream (`simulated.draw.ts`) after the message's own draws,
 * from a seed of its own, so ids, times and senders are the same as without these details.
 */

/** What the extras need to know of a chat. */
export interface ExtrasChat {
  isGroup: boolean;
  chatId: string;
  /** Group members; empty for a direct chat. */
  participants: string[];
  /** Display names, index for index with `participants`. */
  senderNames: string[];
  /** Direct chat: how the other party shows. */
  directName: string;
  /** The linked account's own id (reactions and mentions by me). */
  meId: string;
}

/** WhatsApp's mimetypes of the simulated media types (the bytes follow them, see the media helper). */
export const SIM_MEDIA_MIMETYPES: Record<string, string> = {
  image: 'image/png',
  sticker: 'image/webp',
  ptt: 'audio/ogg; codecs=opus',
  audio: 'audio/ogg',
  video: 'video/mp4',
  document: 'application/pdf',
};
export const SIM_MEDIA_TYPES = new Set(Object.keys(SIM_MEDIA_MIMETYPES));

/**
 * The size WhatsApp announces for a simulated media message: within ±25 % of `mediaBytes`
 * (SIM_MEDIA_BYTES), a pure function of the message id. The simulated file is exactly this long.
 */
export function simulatedMediaSize(messageId: string, mediaBytes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < messageId.length; i++) h = Math.imul(h ^ messageId.charCodeAt(i), 0x01000193) >>> 0;
  return Math.max(64, Math.round(mediaBytes * (0.75 + (h / 4294967296) * 0.5)));
}

/** The descriptor a media message starts with: what WhatsApp announces, `pending` until the media job. */
export function pendingMedia(type: string, id: string, body: string, mediaBytes: number, durationSeconds: number | null): MediaDescriptor {
  return {
    mimetype: SIM_MEDIA_MIMETYPES[type] ?? 'application/octet-stream',
    filename: type === 'document' ? body : null,
    size: simulatedMediaSize(id, mediaBytes),
    sha256: null,
    durationSeconds,
    status: 'pending',
    error: null,
  };
}

function durationOf(type: string): number | null {
  if (type === 'ptt') return 2 + Math.floor(draw() * 58);
  if (type === 'audio') return 30 + Math.floor(draw() * 210);
  if (type === 'video') return 5 + Math.floor(draw() * 85);
  return null;
}

const drawIndex = (n: number): number => Math.floor(draw() * n);

function vcardOf(first: string, last: string, number: string): string {
  return `BEGIN:VCARD\nVERSION:3.0\nN:${last};${first};;;\nFN:${first} ${last}\nTEL;type=CELL;type=VOICE;waid=${number}:+${number}\nEND:VCARD`;
}

/**
 * Adds the details to `m` (history message k of the chat, made by its own draws, `senderName`
 * set) in place. The caller has seeded the module stream for this message. Returns the k of the
 * older message it replies to, or -1: the caller makes that one (which reseeds the stream) and
 * sets `quoted` with {@link quoteOf}.
 */
export function addHistoryExtras(m: Message, chat: ExtrasChat, k: number, tsMs: number, baseMs: number, mediaBytes: number): number {
  // Types the original mix does not draw: some voice notes are audio files, some texts polls or contacts.
  if (m.type === 'ptt' && draw() < 0.3) m.type = 'audio'; // still hasMedia
  else if (m.type === 'chat') {
    const x = draw();
    if (x < 0.015) {
      const [name, options] = POLLS[drawIndex(POLLS.length)];
      m.type = 'poll_creation';
      m.body = name;
      m.poll = { name, options: [...options] };
    } else if (x < 0.03) {
      const number = chat.isGroup && chat.participants.length ? chat.participants[drawIndex(chat.participants.length)].split('@')[0] : `4917${String(10_000_000 + drawIndex(89_999_999))}`;
      m.type = 'vcard';
      m.body = vcardOf(FIRST[drawIndex(FIRST.length)], LAST[drawIndex(LAST.length)], number);
      m.vcards = [m.body];
    }
  }
  if (m.type === 'location') {
    const [name, latitude, longitude] = PLACES[Math.max(0, LOCATION_BODIES.indexOf(m.body))];
    m.location = { latitude, longitude, description: name };
  }
  if (m.hasMedia) {
    m.media = pendingMedia(m.type, m.id, m.body, mediaBytes, durationOf(m.type));
  }
  if (chat.isGroup && m.type === 'chat' && chat.participants.length > 1 && draw() < 0.08) {
    const who = chat.participants[drawIndex(chat.participants.length)];
    m.mentions = [who];
    m.body = `@${who.split('@')[0]} ${m.body}`;
  }
  if (!m.fromMe && m.type !== 'poll_creation' && draw() < 0.04) m.isForwarded = true;
  if (k >= 1 && draw() < 0.06) {
    const senders = new Set<string>();
    const n = draw() < 0.3 ? 2 : 1;
    for (let i = 0; i < n; i++) senders.add(reactorOf(m, chat, draw()));
    m.reactions = [...senders].map((senderId) => ({
      emoji: EMOJIS[drawIndex(EMOJIS.length)],
      senderId,
      timestamp: isoSecond(Math.min(baseMs, tsMs + (1 + drawIndex(600)) * 1000)),
    }));
  }
  return m.type !== 'poll_creation' && draw() < 0.1 ? k + 1 + drawIndex(6) : -1;
}

/** A reply's `quoted`: what WhatsApp carries of the replied-to message. */
export function quoteOf(q: Message): QuotedMessage {
  return { id: q.id, fromMe: q.fromMe, author: q.author, type: q.type, body: q.body.length > QUOTED_BODY_MAX ? q.body.slice(0, QUOTED_BODY_MAX) : q.body };
}

/** Who reacts to `m`: in a direct chat the other side of it; in a group a member other than the author, or me. */
export function reactorOf(m: Message, chat: ExtrasChat, x: number): string {
  if (!chat.isGroup) return m.fromMe ? chat.chatId : chat.meId;
  const others = chat.participants.filter((p) => p !== m.author);
  if (m.fromMe || x < 0.2 || others.length === 0) return m.fromMe && others.length ? others[Math.floor(x * others.length)] : chat.meId;
  return others[Math.floor(((x - 0.2) / 0.8) * others.length)];
}
