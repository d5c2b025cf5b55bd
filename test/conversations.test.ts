/**
 * Full conversations end to end: the three services as processes (scripts/start.js) on a
 * simulated account, read back through the REST API and the WebSocket as a client would.
 * Sender names match /contacts, replies quote what the store holds, groups answer their members,
 * and a live reaction reaches the socket and the store; a removed one disappears from both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Chat, Contact, Message } from '@wa-sync/shared/contracts';
import { liveMessageK } from '../services/session-runner/src/engine/simulated.live';
import { httpJson } from './support/http';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { type ServiceStack, startStack } from './support/service-stack';
import { WsClient } from './support/ws-client';
import { waitFor } from './support/wait-for';

const S = 'conv';
let redis: PrivateRedis;
let dir: string;
let stack: ServiceStack;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-conv-'));
  stack = await startStack({
    REDIS_URL: redis.url,
    STORE_URL: `sqlite:${join(dir, 'conv.db')}`,
    MEDIA_URL: `file:${join(dir, 'media')}`,
    SIM_AUTO_SCAN_MS: '100',
    SIM_FETCH_LATENCY_MS: '2',
    SIM_CHATS: '12',
    SIM_MESSAGES_PER_CHAT: '60',
    SIM_LIVE_INTERVAL_MS: '100',
    SIM_REACT_EVERY: '2',
  });
});
afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string) => {
  const res = await httpJson(stack.url, 'GET', `/whatsapp-web/session/${S}${path}`);
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return res.json;
};

async function allContacts(): Promise<Contact[]> {
  const out: Contact[] = [];
  let cursor: string | null = null;
  do {
    const page: { contacts: Contact[]; nextCursor: string | null } = await get(`/contacts?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.contacts);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

async function storedMessages(chats: Chat[]): Promise<Message[]> {
  const out: Message[] = [];
  for (const c of chats) out.push(...(await get(`/chats/${encodeURIComponent(c.id)}/messages?limit=500`)).messages);
  return out;
}

it('stores what a person sees: sender names as /contacts has them, quotes of stored messages, group members, live reactions', async () => {
  const ws = await WsClient.connect(stack.wsUrl);
  ws.send('join-session', { sessionId: S });
  await ws.waitFor('joined');
  expect((await httpJson(stack.url, 'POST', `/whatsapp-web/session/${S}`)).status).toBe(201);
  await ws.waitFor('sync_chats', (d) => d.done, 120_000);

  const chats: Chat[] = (await get('/chats?limit=500')).chats;
  const messages = await storedMessages(chats);
  const contacts = new Map((await allContacts()).map((c) => [c.id, c]));
  expect(contacts.size).toBeGreaterThan(12);

  // Names: the contact's saved name, else pushname, else number, for every message of someone else.
  const others = messages.filter((m) => !m.fromMe);
  expect(others.length).toBeGreaterThan(100);
  for (const m of others) {
    const c = contacts.get(m.author ?? m.chatId);
    expect({ id: m.id, senderName: m.senderName }).toEqual({ id: m.id, senderName: c ? c.name ?? c.pushname ?? c.number : 'no contact' });
  }
  for (const m of messages.filter((x) => x.fromMe)) expect(m.senderName ?? null).toBeNull();

  // Replies: what the reply carries is what the store holds of the quoted message.
  const byId = new Map(messages.map((m) => [m.id, m]));
  const replies = messages.filter((m) => m.quoted && byId.has(m.quoted.id));
  expect(replies.length).toBeGreaterThan(5);
  for (const r of replies) {
    const q = byId.get(r.quoted!.id)!;
    expect(r.quoted).toEqual({ id: q.id, fromMe: q.fromMe, author: q.author, type: q.type, body: q.body.slice(0, 1000) });
  }

  // A group answers its members; every author of the group is one of them.
  const group = chats.find((c) => c.isGroup)!;
  const one: Chat = await get(`/chats/${encodeURIComponent(group.id)}`);
  expect(one.participants!.length).toBeGreaterThanOrEqual(3);
  expect(one.participants!.some((p) => p.isAdmin)).toBe(true);
  const members = new Set(one.participants!.map((p) => p.id));
  for (const m of messages.filter((x) => x.chatId === group.id && x.author)) expect(members.has(m.author!)).toBe(true);
  expect(chats.every((c) => !('participants' in c))).toBe(true);
  expect((await httpJson(stack.url, 'GET', `/whatsapp-web/session/${S}/chats/nope@c.us`)).json.error.code).toBe('chat_not_found');

  // Live: a reaction (SIM_REACT_EVERY=2), and a removed one (every second reaction goes again).
  const removed = await ws.waitFor('message:reaction', (d) => d.reactions.length === 0, 60_000);
  const added = ws.of('message:reaction').find((d) => d.id === removed.id && d.reactions.length === 1)!;
  expect(added.reactions[0]).toEqual({ emoji: expect.any(String), senderId: expect.any(String), timestamp: expect.any(String) });
  // Every second reacted message (k % 4 === 2) keeps its reaction for good.
  const kept = await ws.waitFor('message:reaction', (d) => d.reactions.length === 1 && liveMessageK(d.id) % 4 === 2, 60_000);
  await waitFor('the reactions in the store', async () => {
    const stored = await storedMessages(chats.filter((c) => c.id === removed.chatId || c.id === kept.chatId));
    const r = stored.find((m) => m.id === removed.id);
    const k = stored.find((m) => m.id === kept.id);
    return r?.reactions?.length === 0 && JSON.stringify(k?.reactions) === JSON.stringify(kept.reactions);
  });
  ws.close();
});
