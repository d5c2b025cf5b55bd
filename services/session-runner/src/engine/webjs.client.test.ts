import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@wa-sync/shared/runtime';
import { LINKED_MARKER, type LibraryClient, WebjsClient, startError } from './webjs.client';
import type { WebjsChat, WebjsMessage } from './webjs.mapping';
import type { WebjsContact } from './webjs-conversation.mapping';
import { waitFor } from '../../../../test/support/wait-for';

/** Stands in for whatsapp-web.js's Client: tests emit its events and script its calls. */
class FakeLibrary extends EventEmitter implements LibraryClient {
  initialize = jest.fn(async () => {});
  destroy = jest.fn(async () => {});
  logout = jest.fn(async () => {});
  requestPairingCode = jest.fn(async (_phone: string, _notify?: boolean) => 'ABCD1234');
  chats: WebjsChat[] = [];
  messages: WebjsMessage[] = [];
  fetchDelayMs = 0;
  fetchLimits: number[] = [];
  async getChats(): Promise<WebjsChat[]> {
    return this.chats;
  }
  contacts: WebjsContact[] = [];
  async getContacts(): Promise<WebjsContact[]> {
    return this.contacts;
  }
  /** Per message id: what its `downloadMedia()` does (a value, undefined = expired, an Error = throws); absent = no such message. */
  media = new Map<string, { mimetype: string; data: string; filename?: string | null } | undefined | Error>();
  async getMessageById(id: string) {
    if (!this.media.has(id)) return null;
    const what = this.media.get(id);
    return {
      downloadMedia: async () => {
        if (what instanceof Error) throw what;
        return what;
      },
    };
  }
  async getChatById() {
    return {
      fetchMessages: async ({ limit }: { limit: number }) => {
        this.fetchLimits.push(limit);
        await new Promise((r) => setTimeout(r, this.fetchDelayMs));
        return this.messages;
      },
    };
  }
}

const logger = createLogger('test', 'silent');
const ALICE = '15551230000@c.us';
let dir: string;
let lib: FakeLibrary;
let client: WebjsClient;
let events: Array<[string, unknown]>;

function message(id: string, t: number, over: Partial<WebjsMessage> = {}): WebjsMessage {
  return {
    id: { fromMe: false, remote: ALICE, id, _serialized: `false_${ALICE}_${id}` },
    body: id,
    type: 'chat' as WebjsMessage['type'],
    timestamp: t,
    hasMedia: false,
    ack: 1 as WebjsMessage['ack'],
    ...over,
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-webjs-client-'));
  lib = new FakeLibrary();
  client = new WebjsClient('s1', () => lib, { authPath: join(dir, 'session-s1'), fetchTimeoutMs: 200, getChatsTimeoutMs: 200, startTimeoutMs: 200 }, logger);
  events = [];
  for (const e of ['qr', 'authenticated', 'auth_failure', 'ready', 'disconnected', 'state', 'message', 'message_ack', 'message_edit', 'message_revoke_everyone'] as const) {
    client.on(e, (...args: unknown[]) => events.push([e, args[0]]));
  }
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('WebjsClient', () => {
  it('asks the library for a pairing code only while a QR is shown', async () => {
    await client.start();
    await expect(client.requestPairingCode('12025550108')).rejects.toThrow(/not waiting for a link/);
    lib.emit('qr', 'ref-1');
    await expect(client.requestPairingCode('12025550108')).resolves.toBe('ABCD1234');
    expect(lib.requestPairingCode).toHaveBeenCalledWith('12025550108', true);
    lib.emit('authenticated');
    await expect(client.requestPairingCode('12025550108')).rejects.toThrow(/not waiting for a link/);
  });

  it('translates the library lifecycle into our events, every QR refresh included', async () => {
    await client.start();
    lib.emit('qr', 'ref-1');
    lib.emit('qr', 'ref-2');
    lib.emit('loading_screen', 40, 'WhatsApp');
    lib.emit('authenticated');
    lib.emit('change_state', 'CONNECTED');
    lib.emit('ready');
    lib.emit('auth_failure', 'bad session');
    lib.emit('disconnected', 'CONFLICT');
    expect(events).toEqual([
      ['qr', 'ref-1'],
      ['qr', 'ref-2'],
      ['state', 'loading chats 40%'],
      ['authenticated', undefined],
      ['state', 'connection CONNECTED'],
      ['ready', undefined],
      ['auth_failure', 'bad session'],
      ['disconnected', 'CONFLICT'],
    ]);
  });

  it('marks the auth directory as linked once authenticated', async () => {
    await client.start();
    lib.emit('authenticated');
    await waitFor('the linked marker', () => existsSync(join(dir, 'session-s1', LINKED_MARKER)), 10_000);
  });

  it('forwards live messages once (message_create, not also message), skips stories, maps acks', async () => {
    await client.start();
    lib.emit('ready');
    const m = message('M1', 1_718_000_000);
    lib.emit('message_create', m);
    lib.emit('message', m); // the library's incoming subset of message_create
    lib.emit('message_create', message('S1', 1_718_000_000, { isStatus: true }));
    lib.emit('message_ack', m, 3);
    const live = events.filter(([e]) => e === 'message' || e === 'message_ack');
    expect(live).toEqual([
      ['message', expect.objectContaining({ id: `false_${ALICE}_M1`, chatId: ALICE, timestamp: '2024-06-10T06:13:20.000Z' })],
      ['message_ack', { chatId: ALICE, id: `false_${ALICE}_M1`, ack: 3 }],
    ]);
  });

  it('forwards edits and deletes for everyone of chat messages, not of stories', async () => {
    await client.start();
    lib.emit('ready');
    lib.emit('message_edit', message('M2', 1_718_000_000, { body: 'new', latestEditSenderTimestampMs: 1_718_000_030_000 }), 'new', 'old');
    lib.emit('message_edit', message('S2', 1_718_000_000, { isStatus: true }), 'x', 'y');
    lib.emit('message_revoke_everyone', message('M3', 1_718_000_000, { type: 'revoked' as WebjsMessage['type'], body: '' }), null);
    const live = events.filter(([e]) => e === 'message_edit' || e === 'message_revoke_everyone');
    expect(live).toEqual([
      ['message_edit', { chatId: ALICE, id: `false_${ALICE}_M2`, body: 'new', editedAt: '2024-06-10T06:13:50.000Z' }],
      ['message_revoke_everyone', { chatId: ALICE, id: `false_${ALICE}_M3` }],
    ]);
  });

  it('refuses to list or fetch before ready', async () => {
    await client.start();
    await expect(client.getChats()).rejects.toThrow(/not ready/);
    await expect(client.fetchMessages(ALICE, { limit: 5 })).rejects.toThrow(/not ready/);
  });

  it('fetches with a finite limit, oldest first, and times out a stuck fetch', async () => {
    await client.start();
    lib.emit('ready');
    lib.messages = [message('B', 1_718_000_100), message('A', 1_718_000_000)];
    expect((await client.fetchMessages(ALICE, { limit: 10 })).map((m) => m.body)).toEqual(['A', 'B']);
    expect(lib.fetchLimits).toEqual([10]);
    await expect(client.fetchMessages(ALICE, { limit: Infinity })).rejects.toThrow(RangeError);
    lib.fetchDelayMs = 1_000;
    await expect(client.fetchMessages(ALICE, { limit: 10 })).rejects.toThrow(/timed out after 200 ms/);
  });

  it('downloads media: base64 decoded, undefined or a vanished message is expired, a library error rejects', async () => {
    await client.start();
    lib.emit('ready');
    const hint = { mimetype: null, size: null, live: false };
    const bytes = Buffer.from('%PDF-1.4 a file');
    lib.media.set('false_x_1', { mimetype: 'application/pdf', data: bytes.toString('base64'), filename: 'a.pdf' });
    lib.media.set('false_x_2', undefined);
    lib.media.set('false_x_3', new Error('Evaluation failed: network'));
    await expect(client.downloadMedia(ALICE, 'false_x_1', hint)).resolves.toEqual({ status: 'ok', data: bytes, mimetype: 'application/pdf', filename: 'a.pdf' });
    await expect(client.downloadMedia(ALICE, 'false_x_2', hint)).resolves.toEqual({ status: 'expired' });
    await expect(client.downloadMedia(ALICE, 'no-such-message', hint)).resolves.toEqual({ status: 'expired' });
    await expect(client.downloadMedia(ALICE, 'false_x_3', hint)).rejects.toThrow(/network/);
  });

  it('lists chats without the status pseudo chat', async () => {
    await client.start();
    lib.emit('ready');
    lib.chats = [
      { id: { server: 'c.us', user: '15551230000', _serialized: ALICE }, name: 'Alice', isGroup: false, unreadCount: 0, timestamp: 1_718_000_000 },
      { id: { server: 'broadcast', user: 'status', _serialized: 'status@broadcast' }, name: '', isGroup: false, unreadCount: 0, timestamp: 0 },
    ];
    expect((await client.getChats()).map((c) => c.id)).toEqual([ALICE]);
  });

  it('a failed start rejects with a readable reason and closes the browser it left open', async () => {
    lib.initialize.mockRejectedValueOnce(new Error('net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/'));
    await expect(client.start()).rejects.toThrow('cannot reach WhatsApp Web (net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/): check the network');
    expect(lib.destroy).toHaveBeenCalled();
  });

  it('a start that hangs times out', async () => {
    lib.initialize.mockImplementationOnce(() => new Promise(() => {}));
    await expect(client.start()).rejects.toThrow(/did not load within 200 ms/);
    expect(lib.destroy).toHaveBeenCalled();
  });

  it('a start that cannot build the library (no Chromium) rejects', async () => {
    const broken = new WebjsClient('s2', () => { throw new Error('Chromium not found at /nope'); }, { authPath: join(dir, 'x'), fetchTimeoutMs: 1, getChatsTimeoutMs: 1, startTimeoutMs: 1 }, logger);
    await expect(broken.start()).rejects.toThrow('Chromium not found at /nope');
  });

  it('stop({logout}) logs out, closes the browser and removes the auth directory, even if logout fails', async () => {
    mkdirSync(join(dir, 'session-s1'), { recursive: true });
    writeFileSync(join(dir, 'session-s1', LINKED_MARKER), 'x');
    await client.start();
    lib.logout.mockRejectedValueOnce(new Error('page gone'));
    await client.stop({ logout: true });
    expect(lib.logout).toHaveBeenCalled();
    expect(lib.destroy).toHaveBeenCalled();
    expect(existsSync(join(dir, 'session-s1'))).toBe(false);
    // Late library events after stop are dropped.
    lib.emit('ready');
    expect(events.some(([e]) => e === 'ready')).toBe(false);
  });

  it('stop without logout keeps the auth', async () => {
    mkdirSync(join(dir, 'session-s1'), { recursive: true });
    await client.start();
    await client.stop({ logout: false });
    expect(lib.logout).not.toHaveBeenCalled();
    expect(existsSync(join(dir, 'session-s1'))).toBe(true);
  });
});

describe('WebjsClient conversations', () => {
  it('names senders by saved contact once getContacts ran, reads reactions only of messages that have some', async () => {
    await client.start();
    lib.emit('ready');
    lib.contacts = [{ id: { server: 'c.us', user: '15551230000', _serialized: ALICE }, number: '15551230000', isBusiness: false, isMyContact: true, name: 'Alice Smith', pushname: 'Ali' }];
    const getReactions = jest.fn(async () => [{ id: '👍', aggregateEmoji: '👍', hasReactionByMe: true, senders: [{ senderId: '15550000001@c.us', reaction: '👍', timestamp: 1_718_000_050 }] }]);
    const none = jest.fn(async () => undefined);
    lib.messages = [
      message('A', 1_718_000_000, { from: ALICE, _data: { notifyName: 'Ali' }, hasReaction: true, getReactions } as unknown as Partial<WebjsMessage>),
      message('B', 1_718_000_100, { from: ALICE, hasReaction: false, getReactions: none } as Partial<WebjsMessage>),
    ];
    expect((await client.fetchMessages(ALICE, { limit: 10 }))[0].senderName).toBe('Ali');
    expect(await client.getContacts()).toEqual([{ id: ALICE, name: 'Alice Smith', pushname: 'Ali', number: '15551230000', isBusiness: false, isMyContact: true }]);
    const [a, b] = await client.fetchMessages(ALICE, { limit: 10 });
    expect(a).toMatchObject({ senderName: 'Alice Smith', reactions: [{ emoji: '👍', senderId: '15550000001@c.us', timestamp: '2024-06-10T06:14:10.000Z' }] });
    expect(b).not.toHaveProperty('reactions');
    expect(none).not.toHaveBeenCalled();
  });

  it('with reactionState, says `[]` for a message without reactions and leaves out one whose reactions could not be read', async () => {
    await client.start();
    lib.emit('ready');
    const removedAll = jest.fn(async () => [{ id: '👍', aggregateEmoji: '👍', hasReactionByMe: false, senders: [{ senderId: '15550000001@c.us', reaction: '', timestamp: 1_718_000_050 }] }]);
    const broken = jest.fn(async () => {
      throw new Error('Evaluation failed');
    });
    lib.messages = [
      message('A', 1_718_000_000, { from: ALICE, hasReaction: false } as Partial<WebjsMessage>),
      message('B', 1_718_000_100, { from: ALICE, hasReaction: true, getReactions: removedAll } as unknown as Partial<WebjsMessage>),
      message('C', 1_718_000_200, { from: ALICE, hasReaction: true, getReactions: broken } as unknown as Partial<WebjsMessage>),
    ];
    const [a, b, c] = await client.fetchMessages(ALICE, { limit: 10, reactionState: true });
    expect(a.reactions).toEqual([]);
    expect(b.reactions).toEqual([]);
    expect(c).not.toHaveProperty('reactions');
    expect(broken).toHaveBeenCalledTimes(1);
  });

  it('forwards message_reaction: set and removed', async () => {
    const got: unknown[] = [];
    client.on('message_reaction', (r) => got.push(r));
    await client.start();
    lib.emit('ready');
    const msgId = { fromMe: true, remote: ALICE, id: '3EB0AA', _serialized: `true_${ALICE}_3EB0AA` };
    lib.emit('message_reaction', { id: {}, orphan: 0, timestamp: 1_718_000_000, reaction: '😂', read: false, msgId, senderId: ALICE, ack: 0 });
    lib.emit('message_reaction', { id: {}, orphan: 0, timestamp: 1_718_000_010, reaction: '', read: false, msgId, senderId: ALICE, ack: 0 });
    expect(got).toEqual([
      { chatId: ALICE, id: msgId._serialized, senderId: ALICE, emoji: '😂', timestamp: '2024-06-10T06:13:20.000Z' },
      { chatId: ALICE, id: msgId._serialized, senderId: ALICE, emoji: '', timestamp: '2024-06-10T06:13:30.000Z' },
    ]);
  });
});

describe('helpers', () => {
  it('startError keeps one line of a long launch error and reads string throws', () => {
    expect(startError(new Error('Failed to launch the browser process!\n[1:1] lots of browser log')).message).toBe('Failed to launch the browser process!');
    expect(startError('auth timeout').message).toMatch(/auth timeout/);
  });
});
