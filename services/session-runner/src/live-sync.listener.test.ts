/**
 * Live writes while another process holds the SQLite lock past the store's wait: nothing the phone
 * sent meanwhile is dropped, and the edit and the ack land after their message, as they came.
 * A real SQLite file locked by another process, a private redis-server for the event log.
 */
import { EventEmitter } from 'node:events';
import type { Message } from '@wa-sync/shared/contracts';
import { EventLog, SessionQueues, createLogger } from '@wa-sync/shared/runtime';
import { suiteRedis } from '../../../test/support/redis-server';
import { holdSqliteLock, suiteBusyStore } from '../../../test/support/store-lock';
import type { WhatsAppClient } from './engine/engine.interface';
import { SimulatedAccount } from './engine/simulated.account';
import { attachLiveSync, pushReactionsSeen } from './live-sync.listener';
import type { MediaRule } from './media.policy';
import { LiveWriteQueue } from './live-write.queue';
import { SessionStatusReporter } from './session-status.reporter';

const suite = suiteRedis();
const SESSION = 'live-busy';
const busy = suiteBusyStore();

it('stores a message, its edit and its ack received during a long lock, in order, once the lock goes', async () => {
  const { store } = busy;
  const logger = createLogger('test', 'silent');
  const log = new EventLog(suite.redis);
  const reporter = new SessionStatusReporter(store, suite.redis, log, logger);
  const account = new SimulatedAccount({ seed: 5, chats: 1, messagesPerChat: 1 });
  const [chat] = account.listChats();
  await store.upsertChats(SESSION, [chat]);
  const [message] = account.latestMessages(chat.id, 1);
  const client = Object.assign(new EventEmitter(), { sessionId: SESSION }) as unknown as WhatsAppClient & EventEmitter;
  const writes = new LiveWriteQueue(logger);
  const queues = new SessionQueues(suite.redis);
  attachLiveSync(client, { store, reporter, queues, logger }, writes);

  const held = await holdSqliteLock(busy.file, 1_500);
  const editedAt = new Date(Date.parse(message.timestamp) + 60_000).toISOString();
  client.emit('message', { ...message, ack: 1 });
  client.emit('message_edit', { chatId: chat.id, id: message.id, body: 'edited while locked', editedAt });
  client.emit('message_ack', { chatId: chat.id, id: message.id, ack: 3 });
  // The lock outlasts the store's wait (100 ms) many times over.
  await held.released;
  await writes.drained();

  const stored = (await store.listMessages(SESSION, chat.id, { limit: 5 })).items;
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ id: message.id, body: 'edited while locked', ack: 3, editedAt });
  const events = (await log.readAfter(SESSION, '0-0')).events.map((e) => e.event);
  expect(events).toEqual(['message:new', 'message:edit', 'message:status']);
  await queues.close();
});

it('stores and announces a live reaction, replaces it, removes it, and stays quiet about a no-op', async () => {
  const { store } = busy;
  const logger = createLogger('test', 'silent');
  const log = new EventLog(suite.redis);
  const reporter = new SessionStatusReporter(store, suite.redis, log, logger);
  const session = 'live-react';
  const account = new SimulatedAccount({ seed: 6, chats: 1, messagesPerChat: 1 });
  const [chat] = account.listChats();
  const [message] = account.latestMessages(chat.id, 1);
  await store.upsertMessages(session, chat.id, [{ ...message, reactions: undefined }]);
  const client = Object.assign(new EventEmitter(), { sessionId: session }) as unknown as WhatsAppClient & EventEmitter;
  const writes = new LiveWriteQueue(logger);
  attachLiveSync(client, { store, reporter, queues: new SessionQueues(suite.redis), logger }, writes);

  const at = (s: number) => new Date(Date.parse(message.timestamp) + s * 1000).toISOString();
  const react = (senderId: string, emoji: string, s: number) => client.emit('message_reaction', { chatId: chat.id, id: message.id, senderId, emoji, timestamp: at(s) });
  react('1@c.us', '👍', 1);
  react('2@c.us', '❤️', 2);
  react('1@c.us', '😂', 3); // one reaction per sender: replaces 👍
  react('2@c.us', '', 4); // removed
  react('3@c.us', '', 5); // nothing to remove: not announced
  await writes.drained();

  expect((await store.getMessage(session, chat.id, message.id))!.reactions).toEqual([{ emoji: '😂', senderId: '1@c.us', timestamp: at(3) }]);
  const events = (await log.readAfter(session, '0-0')).events;
  expect(events.map((e) => [e.event, (e.data as { reactions: unknown[] }).reactions.length])).toEqual([
    ['message:reaction', 1], ['message:reaction', 2], ['message:reaction', 2], ['message:reaction', 1],
  ]);
  expect(events[3].data).toEqual({ sessionId: session, chatId: chat.id, id: message.id, reactions: [{ emoji: '😂', senderId: '1@c.us', timestamp: at(3) }] });
});

it('a catch-up\'s reading of reactions lines up with the live ones: it removes what went while away, a live one after it wins', async () => {
  const { store } = busy;
  const logger = createLogger('test', 'silent');
  const log = new EventLog(suite.redis);
  const reporter = new SessionStatusReporter(store, suite.redis, log, logger);
  const session = 'live-react-seen';
  const account = new SimulatedAccount({ seed: 7, chats: 1, messagesPerChat: 3 });
  const [chat] = account.listChats();
  const [m1, m2] = account.latestMessages(chat.id, 3).map((m) => ({ ...m, reactions: undefined }));
  await store.upsertMessages(session, chat.id, [m1, m2]);
  const client = Object.assign(new EventEmitter(), { sessionId: session }) as unknown as WhatsAppClient & EventEmitter;
  const writes = new LiveWriteQueue(logger);
  attachLiveSync(client, { store, reporter, queues: new SessionQueues(suite.redis), logger }, writes);
  const at = (s: number) => new Date(Date.parse(m1.timestamp) + s * 1000).toISOString();
  const like = { emoji: '👍', senderId: '1@c.us', timestamp: at(1) };
  client.emit('message_reaction', { chatId: chat.id, id: m1.id, ...like });
  client.emit('message_reaction', { chatId: chat.id, id: m2.id, ...like });
  await writes.drained();

  // Under a lock, so all three wait in the queue: the reading (m1's reaction gone, m2's kept), then a live one on m2.
  const held = await holdSqliteLock(busy.file, 500);
  pushReactionsSeen(writes, { store, reporter }, session, chat.id, [
    { id: m1.id, reactions: [] },
    { id: m2.id, reactions: [{ ...like, timestamp: at(9) }] },
  ]);
  client.emit('message_reaction', { chatId: chat.id, id: m2.id, senderId: '2@c.us', emoji: '🔥', timestamp: at(10) });
  await held.released;
  await writes.drained();

  expect((await store.getMessage(session, chat.id, m1.id))!.reactions).toEqual([]);
  expect((await store.getMessage(session, chat.id, m2.id))!.reactions).toEqual([like, { emoji: '🔥', senderId: '2@c.us', timestamp: at(10) }]);
  const events = (await log.readAfter(session, '0-0')).events.map((e) => [e.event, e.data]);
  expect(events.slice(2)).toEqual([
    ['message:reaction', { sessionId: session, chatId: chat.id, id: m1.id, reactions: [] }],
    ['message:reaction', { sessionId: session, chatId: chat.id, id: m2.id, reactions: [like, { emoji: '🔥', senderId: '2@c.us', timestamp: at(10) }] }],
  ]);
});

it('stores a live file the media rule leaves out as skipped at once, adding a download job only for the one it keeps', async () => {
  const { store } = busy;
  const logger = createLogger('test', 'silent');
  const log = new EventLog(suite.redis);
  const reporter = new SessionStatusReporter(store, suite.redis, log, logger);
  const session = 'live-media-rule';
  const chatId = '15550000009@c.us';
  const withFile = (id: string, size: number): Message => ({
    id: `false_${chatId}_${id}`,
    chatId,
    fromMe: false,
    author: null,
    body: '',
    type: 'image',
    timestamp: new Date(Date.UTC(2024, 5, 3)).toISOString(),
    ack: 1,
    hasMedia: true,
    media: { mimetype: 'image/png', filename: null, size, sha256: null, durationSeconds: null, status: 'pending', error: null },
  });
  const queues = new SessionQueues(suite.redis);
  const run = async (media: MediaRule, messages: Message[]) => {
    const client = Object.assign(new EventEmitter(), { sessionId: session }) as unknown as WhatsAppClient & EventEmitter;
    const writes = new LiveWriteQueue(logger);
    attachLiveSync(client, { store, reporter, queues, logger, media }, writes);
    for (const m of messages) client.emit('message', m);
    await writes.drained();
  };
  try {
    await run({ policy: 'off', maxBytes: 1 << 20 }, [withFile('OFF', 10)]);
    await run({ policy: 'all', maxBytes: 1000 }, [withFile('BIG', 5000), withFile('KEPT', 10)]);
    const status = async (id: string) => (await store.getMessage(session, chatId, `false_${chatId}_${id}`))?.media;
    expect(await status('OFF')).toMatchObject({ status: 'skipped', error: 'policy' });
    expect(await status('BIG')).toMatchObject({ status: 'skipped', error: 'too_large' });
    expect(await status('KEPT')).toMatchObject({ status: 'pending', error: null });
    // Announced as stored: a client sees the skip in message:new itself.
    const announced = (await log.readAfter(session, '0-0')).events.map((e) => [e.event, (e.data as Message).media?.status]);
    expect(announced).toEqual([['message:new', 'skipped'], ['message:new', 'skipped'], ['message:new', 'pending']]);
    const jobs = await queues.get(session).getJobs(['waiting', 'prioritized', 'delayed']);
    expect(jobs.map((j) => ('messageId' in j.data ? j.data.messageId : j.name))).toEqual([`false_${chatId}_KEPT`]);
  } finally {
    await queues.close();
  }
});
