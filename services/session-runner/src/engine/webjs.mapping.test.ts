import type * as WAWebJS from 'whatsapp-web.js';
import { type WebjsChat, type WebjsMessage, isChatMessage, mapChat, mapEdit, mapMessage, mapMessages, mapRevoke, messageChatId, secondsToIso } from './webjs.mapping';

// Fixtures are shaped like what whatsapp-web.js hands out, checked against its index.d.ts.
const ME = '15550000001@c.us';
const ALICE = '15551230000@c.us';
const GROUP = '120363025555555555@g.us';
const BOB = '15559870000@c.us';
const T = 1_718_000_000; // 2024-06-10T06:13:20Z

function msgId(fromMe: boolean, remote: string, id: string): WAWebJS.MessageId {
  return { fromMe, remote, id, _serialized: `${fromMe}_${remote}_${id}` };
}

const direct = {
  id: msgId(false, ALICE, '3EB0A1'),
  from: ALICE,
  to: ME,
  fromMe: false,
  author: undefined,
  body: 'hello',
  type: 'chat' as WAWebJS.MessageTypes,
  timestamp: T,
  ack: 3 as WAWebJS.MessageAck,
  hasMedia: false,
  isStatus: false,
} satisfies WebjsMessage & Partial<WAWebJS.Message>;

const inGroup = {
  ...direct,
  id: msgId(false, GROUP, '3EB0B2'),
  from: GROUP,
  author: BOB,
  body: 'hi all',
} satisfies WebjsMessage;

const ownInGroup = {
  ...direct,
  id: msgId(true, GROUP, '3EB0C3'),
  from: ME,
  to: GROUP,
  fromMe: true,
  author: ME, // the library sets it on own group messages too
  ack: 1 as WAWebJS.MessageAck,
} satisfies WebjsMessage;

const image = {
  ...direct,
  id: msgId(false, ALICE, '3EB0D4'),
  type: 'image' as WAWebJS.MessageTypes,
  body: 'a caption',
  hasMedia: true,
} satisfies WebjsMessage;

const chat = {
  id: { server: 'c.us', user: '15551230000', _serialized: ALICE },
  name: 'Alice',
  isGroup: false,
  unreadCount: 2,
  timestamp: T,
  lastMessage: { timestamp: T },
} satisfies WebjsChat;

// The library's own structures fit the mapping's input types (a compile-time check).
const libraryChatFits: (c: WAWebJS.Chat) => WebjsChat = (c) => c;
const libraryMessageFits: (m: WAWebJS.Message) => WebjsMessage = (m) => m;

describe('secondsToIso', () => {
  it('turns WhatsApp seconds into ISO-8601', () => {
    expect(secondsToIso(T)).toBe('2024-06-10T06:13:20.000Z');
  });

  it('reads a millisecond value as milliseconds, and gives null for missing or unreadable times', () => {
    expect(secondsToIso(T * 1000)).toBe('2024-06-10T06:13:20.000Z');
    for (const odd of [undefined, null, 0, -5, Number.NaN, Infinity]) expect(secondsToIso(odd)).toBeNull();
  });
});

describe('mapMessage', () => {
  it('maps a direct message: serialized id, chat, no author', () => {
    expect(mapMessage(direct)).toEqual({
      id: `false_${ALICE}_3EB0A1`,
      chatId: ALICE,
      fromMe: false,
      author: null,
      body: 'hello',
      type: 'chat',
      timestamp: '2024-06-10T06:13:20.000Z',
      ack: 3,
      hasMedia: false,
    });
  });

  it('carries an edit (ms stamp) and a delete for everyone, so a re-sync keeps them', () => {
    const edited = { ...direct, body: 'hello again', latestEditSenderTimestampMs: (T + 60) * 1000 };
    expect(mapMessage(edited)).toMatchObject({ body: 'hello again', editedAt: '2024-06-10T06:14:20.000Z' });
    expect(mapMessage(direct)).not.toHaveProperty('editedAt');
    const revoked = { ...direct, type: 'revoked' as WAWebJS.MessageTypes, body: 'leftover' };
    expect(mapMessage(revoked)).toMatchObject({ id: `false_${ALICE}_3EB0A1`, body: '', revoked: true, type: 'revoked' });
    expect(mapMessage(direct)).not.toHaveProperty('revoked');
  });

  it('maps the live edit and delete events', () => {
    const at = new Date('2024-06-10T07:00:00.000Z');
    expect(mapEdit({ ...inGroup, latestEditSenderTimestampMs: (T + 5) * 1000 }, 'fixed typo')).toEqual({
      chatId: GROUP, id: `false_${GROUP}_3EB0B2`, body: 'fixed typo', editedAt: '2024-06-10T06:13:25.000Z',
    });
    expect(mapEdit(direct, undefined, () => at)).toEqual({ chatId: ALICE, id: `false_${ALICE}_3EB0A1`, body: 'hello', editedAt: at.toISOString() });
    expect(mapRevoke({ ...ownInGroup, type: 'revoked' as WAWebJS.MessageTypes })).toEqual({ chatId: GROUP, id: `true_${GROUP}_3EB0C3` });
  });

  it('keeps the sender of a group message as author', () => {
    expect(mapMessage(inGroup)).toMatchObject({ chatId: GROUP, author: BOB, fromMe: false });
  });

  it('an own message has no author, even in a group, and its chat is the recipient', () => {
    expect(mapMessage(ownInGroup)).toMatchObject({ id: `true_${GROUP}_3EB0C3`, chatId: GROUP, fromMe: true, author: null, ack: 1 });
  });

  it('flags media and keeps the caption as body', () => {
    expect(mapMessage(image)).toMatchObject({ type: 'image', hasMedia: true, body: 'a caption' });
  });

  it('fills odd values with safe ones', () => {
    const odd = { ...direct, body: undefined, type: '', ack: undefined, timestamp: 0, hasMedia: undefined } as unknown as WebjsMessage;
    expect(mapMessage(odd)).toMatchObject({ body: '', type: 'unknown', ack: 0, timestamp: '1970-01-01T00:00:00.000Z', hasMedia: false });
    expect(mapMessage({ ...direct, ack: -1 as WAWebJS.MessageAck })).toMatchObject({ ack: -1 });
  });

  it('takes the chat given by the caller, and refuses a message without id', () => {
    expect(mapMessage(direct, 'other@c.us').chatId).toBe('other@c.us');
    expect(() => mapMessage({ ...direct, id: { ...direct.id, _serialized: '' } })).toThrow(/no id/);
  });
});

describe('messageChatId', () => {
  it('reads id.remote, an older object-shaped remote, or falls back to from/to', () => {
    expect(messageChatId(direct)).toBe(ALICE);
    expect(messageChatId({ ...direct, id: { ...direct.id, remote: { _serialized: GROUP } as unknown as string } })).toBe(GROUP);
    expect(messageChatId({ ...ownInGroup, id: { ...ownInGroup.id, remote: '' } })).toBe(GROUP);
    expect(messageChatId({ ...direct, id: { ...direct.id, remote: '' } })).toBe(ALICE);
  });
});

describe('mapMessages', () => {
  it('orders oldest first, keeps the most recent `limit`, skips placeholders without id', () => {
    const list: WebjsMessage[] = [
      { ...direct, id: msgId(false, ALICE, 'C'), timestamp: T + 20 },
      { ...direct, id: msgId(false, ALICE, 'A'), timestamp: T },
      { ...direct, id: undefined as unknown as WAWebJS.MessageId },
      { ...direct, id: msgId(true, ALICE, 'B'), fromMe: true, timestamp: T + 10 },
    ];
    expect(mapMessages(list, ALICE, 10).map((m) => m.id)).toEqual([`false_${ALICE}_A`, `true_${ALICE}_B`, `false_${ALICE}_C`]);
    expect(mapMessages(list, ALICE, 2).map((m) => m.id)).toEqual([`true_${ALICE}_B`, `false_${ALICE}_C`]);
  });
});

describe('isChatMessage', () => {
  it('leaves out stories', () => {
    expect(isChatMessage(direct)).toBe(true);
    expect(isChatMessage({ ...direct, isStatus: true })).toBe(false);
    expect(isChatMessage({ ...direct, id: msgId(false, 'status@broadcast', 'S1') })).toBe(false);
  });
});

describe('mapChat', () => {
  it('maps a direct chat', () => {
    expect(mapChat(chat)).toEqual({ id: ALICE, name: 'Alice', isGroup: false, unreadCount: 2, lastMessageAt: '2024-06-10T06:13:20.000Z' });
  });

  it('maps a group chat', () => {
    const group = { ...chat, id: { server: 'g.us', user: '120363025555555555', _serialized: GROUP }, name: 'Team', isGroup: true, unreadCount: 0 };
    expect(mapChat(group)).toMatchObject({ id: GROUP, name: 'Team', isGroup: true, unreadCount: 0 });
    // A group is a group by its id even if the flag is missing.
    expect(mapChat({ ...group, isGroup: undefined as unknown as boolean }).isGroup).toBe(true);
  });

  it('falls back to the number when the chat has no name', () => {
    expect(mapChat({ ...chat, name: '' }).name).toBe('15551230000');
    expect(mapChat({ ...chat, name: '  ' }).name).toBe('15551230000');
    expect(mapChat({ ...chat, name: undefined as unknown as string, id: { ...chat.id, user: '' } }).name).toBe(ALICE);
  });

  it('takes lastMessageAt from the chat time or its last message, the later one; null without either', () => {
    expect(mapChat({ ...chat, timestamp: 0, lastMessage: { timestamp: T + 60 } }).lastMessageAt).toBe('2024-06-10T06:14:20.000Z');
    expect(mapChat({ ...chat, timestamp: T + 120, lastMessage: { timestamp: T } }).lastMessageAt).toBe('2024-06-10T06:15:20.000Z');
    expect(mapChat({ ...chat, timestamp: undefined as unknown as number, lastMessage: undefined }).lastMessageAt).toBeNull();
  });

  it('reads "marked as unread" (-1) as one unread, and odd counts as zero', () => {
    expect(mapChat({ ...chat, unreadCount: -1 }).unreadCount).toBe(1);
    expect(mapChat({ ...chat, unreadCount: Number.NaN }).unreadCount).toBe(0);
    expect(mapChat({ ...chat, unreadCount: 2.7 }).unreadCount).toBe(2);
  });
});
