import type * as WAWebJS from 'whatsapp-web.js';
import { type WebjsContact, mapContacts, mapReactionEvent, mapReactionLists } from './webjs-conversation.mapping';
import { type WebjsChat, type WebjsMessage, mapChat, mapFullMessage } from './webjs.mapping';

// Fixtures shaped like whatsapp-web.js 1.34 objects: public fields as Message.js sets them from the
// raw WhatsApp Web model, and that model as `_data` (quotedMsg, quotedStanzaID, mimetype, …).
const ME = '15550000001@c.us';
const ALICE = '15551230000@c.us';
const BOB = '15559870000@c.us';
const GROUP = '120363025555555555@g.us';
const T = 1_718_000_000;
const ctx = { me: ME, savedName: (id: string) => ({ [ALICE]: 'Alice Smith' } as Record<string, string>)[id] };

function msg(over: Partial<WebjsMessage> & { id: WAWebJS.MessageId }): WebjsMessage {
  return {
    body: '',
    type: 'chat' as WAWebJS.MessageTypes,
    timestamp: T,
    hasMedia: false,
    ack: 1 as WAWebJS.MessageAck,
    fromMe: over.id.fromMe,
    hasQuotedMsg: false,
    hasReaction: false,
    isForwarded: false,
    mentionedIds: [],
    vCards: [],
    location: undefined as unknown as WAWebJS.Location,
    _data: {},
    ...over,
  };
}
const id = (fromMe: boolean, remote: string, key: string, participant?: string): WAWebJS.MessageId =>
  ({ fromMe, remote, id: key, _serialized: `${fromMe}_${remote}_${key}${participant ? `_${participant}` : ''}` });

describe('full messages from whatsapp-web.js', () => {
  it('names the sender: saved name, else the pushname WhatsApp sent (notifyName), else the number; own messages none', () => {
    const fromAlice = msg({ id: id(false, ALICE, 'A1'), from: ALICE, body: 'hi', _data: { notifyName: 'Ali 🌻' } });
    expect(mapFullMessage(fromAlice, ALICE, ctx).senderName).toBe('Alice Smith');
    const fromBob = msg({ id: id(false, GROUP, 'B1', BOB), from: GROUP, author: BOB, body: 'yo', _data: { notifyName: 'Bobby' } });
    expect(mapFullMessage(fromBob, GROUP, ctx).senderName).toBe('Bobby');
    const noName = msg({ id: id(false, GROUP, 'B2', BOB), from: GROUP, author: BOB, body: 'yo', _data: { notifyName: '' } });
    expect(mapFullMessage(noName, GROUP, ctx).senderName).toBe('15559870000');
    const own = msg({ id: id(true, GROUP, '3EB0C3'), from: ME, to: GROUP, author: ME, _data: { notifyName: 'Me' } });
    expect(mapFullMessage(own, GROUP, ctx).senderName).toBeNull();
  });

  it('rebuilds the quoted id from the raw data: another member in a group, my own message, a deleted one', () => {
    const replyInGroup = msg({
      id: id(false, GROUP, 'R1', ALICE), from: GROUP, author: ALICE, body: 'agreed', hasQuotedMsg: true,
      _data: { quotedMsg: { type: 'chat', body: 'pizza tonight?' }, quotedStanzaID: '3EB0Q1', quotedParticipant: BOB },
    });
    expect(mapFullMessage(replyInGroup, GROUP, ctx).quoted).toEqual({ id: `false_${GROUP}_3EB0Q1_${BOB}`, fromMe: false, author: BOB, type: 'chat', body: 'pizza tonight?' });
    const replyToMe = msg({
      id: id(false, ALICE, 'R2'), from: ALICE, body: 'ok', hasQuotedMsg: true,
      _data: { quotedMsg: { type: 'image', caption: 'view from the top' }, quotedStanzaID: '3EB0Q2', quotedParticipant: { _serialized: ME } },
    });
    expect(mapFullMessage(replyToMe, ALICE, ctx).quoted).toEqual({ id: `true_${ALICE}_3EB0Q2`, fromMe: true, author: null, type: 'image', body: 'view from the top' });
    const replyToDeleted = msg({
      id: id(false, ALICE, 'R3'), from: ALICE, body: '?', hasQuotedMsg: true,
      _data: { quotedMsg: { type: 'revoked', body: 'leftover' }, quotedStanzaID: '3EB0Q3', quotedParticipant: ALICE },
    });
    expect(mapFullMessage(replyToDeleted, ALICE, ctx).quoted).toEqual({ id: `false_${ALICE}_3EB0Q3`, fromMe: false, author: null, type: 'revoked', body: '' });
    const long = msg({ id: id(false, ALICE, 'R4'), from: ALICE, hasQuotedMsg: true, _data: { quotedMsg: { type: 'chat', body: 'x'.repeat(5000) }, quotedStanzaID: 'Q4', quotedParticipant: ALICE } });
    expect(mapFullMessage(long, ALICE, ctx).quoted!.body).toHaveLength(1000);
    expect(mapFullMessage(msg({ id: id(false, ALICE, 'N'), from: ALICE, body: 'plain' }), ALICE, ctx)).not.toHaveProperty('quoted');
  });

  it('describes a file from the raw data (duration is a string), pending its download', () => {
    const voice = msg({ id: id(false, ALICE, 'V1'), from: ALICE, type: 'ptt' as WAWebJS.MessageTypes, hasMedia: true, duration: '7', _data: { mimetype: 'audio/ogg; codecs=opus', size: 11230 } });
    expect(mapFullMessage(voice, ALICE, ctx).media).toEqual({ mimetype: 'audio/ogg; codecs=opus', filename: null, size: 11230, sha256: null, durationSeconds: 7, status: 'pending', error: null });
    const doc = msg({ id: id(false, ALICE, 'D1'), from: ALICE, type: 'document' as WAWebJS.MessageTypes, hasMedia: true, body: 'the contract', _data: { mimetype: 'application/pdf', filename: 'contract.pdf', size: 52000 } });
    expect(mapFullMessage(doc, ALICE, ctx).media).toMatchObject({ mimetype: 'application/pdf', filename: 'contract.pdf', size: 52000, durationSeconds: null });
    // A file WhatsApp no longer offers (no directPath) is not media for the library.
    expect(mapFullMessage({ ...doc, hasMedia: false }, ALICE, ctx)).not.toHaveProperty('media');
  });

  it('carries mentions, forwards, a location, vCards and a poll', () => {
    const m = mapFullMessage(msg({ id: id(false, GROUP, 'M1', ALICE), from: GROUP, author: ALICE, body: '@15559870000 look', mentionedIds: [BOB], isForwarded: true }), GROUP, ctx);
    expect(m).toMatchObject({ mentions: [BOB], isForwarded: true });
    expect(mapFullMessage(msg({ id: id(false, ALICE, 'N1'), from: ALICE }), ALICE, ctx)).not.toHaveProperty('isForwarded');
    const location = { latitude: 52.521918, longitude: 13.413215, name: 'Alexanderplatz', address: 'Berlin', description: 'Alexanderplatz\nBerlin' } as unknown as WAWebJS.Location;
    expect(mapFullMessage(msg({ id: id(false, ALICE, 'L1'), from: ALICE, type: 'location' as WAWebJS.MessageTypes, location }), ALICE, ctx).location)
      .toEqual({ latitude: 52.521918, longitude: 13.413215, description: 'Alexanderplatz\nBerlin' });
    const card = 'BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;waid=15559870000:+1 555 987 0000\nEND:VCARD';
    expect(mapFullMessage(msg({ id: id(false, ALICE, 'C1'), from: ALICE, type: 'vcard' as WAWebJS.MessageTypes, body: card, vCards: [card] }), ALICE, ctx).vcards).toEqual([card]);
    // The library copies the raw `{ name, localId }` options into pollOptions, whatever index.d.ts says.
    const poll = msg({ id: id(false, ALICE, 'P1'), from: ALICE, type: 'poll_creation' as WAWebJS.MessageTypes, body: 'Dinner?', pollName: 'Dinner?',
      pollOptions: [{ name: 'Pizza', localId: 0 }, { name: 'Sushi', localId: 1 }] as unknown as string[] });
    expect(mapFullMessage(poll, ALICE, ctx).poll).toEqual({ name: 'Dinner?', options: ['Pizza', 'Sushi'] });
  });

  it('maps getReactions() and skips a removed reaction (empty text)', () => {
    const sender = (senderId: string, reaction: string, timestamp: number) => ({ senderId, reaction, timestamp, id: { _serialized: 'x' }, orphan: 0, read: true, msgId: {}, ack: 1 }) as unknown as WAWebJS.Reaction;
    expect(mapReactionLists([
      { id: '👍', aggregateEmoji: '👍', hasReactionByMe: false, senders: [sender(BOB, '👍', T + 5), sender(ALICE, '', T + 9)] },
      { id: '❤️', aggregateEmoji: '❤️', hasReactionByMe: true, senders: [sender(ME, '❤️', T + 7)] },
    ] as WAWebJS.ReactionList[])).toEqual([
      { emoji: '👍', senderId: BOB, timestamp: '2024-06-10T06:13:25.000Z' },
      { emoji: '❤️', senderId: ME, timestamp: '2024-06-10T06:13:27.000Z' },
    ]);
    expect(mapReactionLists(undefined)).toEqual([]);
  });

  it('maps the message_reaction event: set, and removed (empty reaction text)', () => {
    const parent = { fromMe: false, remote: GROUP, id: '3EB0B2', participant: BOB, _serialized: `false_${GROUP}_3EB0B2_${BOB}` };
    const event = (reaction: string) => ({ id: { _serialized: 'r' }, orphan: 0, orphanReason: null, timestamp: T + 0.5, reaction, read: false, msgId: parent, senderId: ALICE, ack: 0 }) as unknown as WAWebJS.Reaction;
    expect(mapReactionEvent(event('🔥'))).toEqual({ chatId: GROUP, id: parent._serialized, senderId: ALICE, emoji: '🔥', timestamp: '2024-06-10T06:13:20.500Z' });
    expect(mapReactionEvent(event(''))).toMatchObject({ id: parent._serialized, senderId: ALICE, emoji: '' });
    expect(mapReactionEvent({ ...event('x'), msgId: undefined } as unknown as WAWebJS.Reaction)).toBeNull();
  });

  it('maps contacts: no saved name and empty pushnames are null; groups and the account itself are left out', () => {
    const contact = (over: Partial<WebjsContact>): WebjsContact => ({
      id: { server: 'c.us', user: '15551230000', _serialized: ALICE }, number: '15551230000', isBusiness: false, isMyContact: true,
      isGroup: false, isMe: false, isUser: true, name: 'Alice Smith', pushname: 'Ali', ...over,
    });
    expect(mapContacts([
      contact({}),
      contact({ id: { server: 'c.us', user: '15559870000', _serialized: BOB }, number: '15559870000', name: undefined, pushname: '', isMyContact: false, isBusiness: true }),
      contact({ id: { server: 'g.us', user: '120363025555555555', _serialized: GROUP }, isGroup: true, isUser: false }),
      contact({ id: { server: 'c.us', user: '15550000001', _serialized: ME }, isMe: true }),
    ])).toEqual([
      { id: ALICE, name: 'Alice Smith', pushname: 'Ali', number: '15551230000', isBusiness: false, isMyContact: true },
      { id: BOB, name: null, pushname: null, number: '15559870000', isBusiness: true, isMyContact: false },
    ]);
  });

  it('gives a group chat its participants, a super admin counted as admin', () => {
    const wid = (p: string) => ({ server: 'c.us', user: p.split('@')[0], _serialized: p });
    const group: WebjsChat = {
      id: { server: 'g.us', user: '120363025555555555', _serialized: GROUP }, name: 'Flat 3B', isGroup: true, unreadCount: 0, timestamp: T,
      participants: [{ id: wid(ME), isAdmin: false, isSuperAdmin: true }, { id: wid(ALICE), isAdmin: true, isSuperAdmin: false }, { id: wid(BOB), isAdmin: false, isSuperAdmin: false }],
    };
    expect(mapChat(group).participants).toEqual([{ id: ME, isAdmin: true }, { id: ALICE, isAdmin: true }, { id: BOB, isAdmin: false }]);
  });
});
