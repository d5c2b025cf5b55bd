/**
 * Continuous sync end to end, as a user runs it: `scripts/start.js` runs the three services as
 * processes on a Redis and a SQLite file this test owns, so both outlive a stop of the product.
 * The simulated phone keeps receiving messages while the product is down; the restart must
 * catch up on every one of them, exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Chat, type Message, type SyncSnapshot, Keys } from '@wa-sync/shared/contracts';
import { createRedis } from '@wa-sync/shared/runtime';
import { liveMessageK } from '../services/session-runner/src/engine/simulated.live';
import { httpJson } from './support/http';
import { type PrivateRedis, startRedis } from './support/redis-server';
import { type ServiceStack, startStack } from './support/service-stack';
import { WsClient } from './support/ws-client';
import { waitFor } from './support/wait-for';

const INTERVAL_MS = 20;
const DOWN_MS = 10_000;

let redis: PrivateRedis;
let dir: string;
const stacks: ServiceStack[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-continuous-'));
});

afterAll(async () => {
  for (const s of stacks) await s.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The product on this test's Redis and SQLite file: a stop loses nothing but the processes. */
async function start(db: string, env: Record<string, string>): Promise<ServiceStack> {
  const stack = await startStack({
    REDIS_URL: redis.url,
    STORE_URL: `sqlite:${join(dir, db)}`,
    SIM_AUTO_SCAN_MS: '200',
    SIM_FETCH_LATENCY_MS: '5',
    ...env,
  });
  stacks.push(stack);
  return stack;
}

async function stop(stack: ServiceStack): Promise<void> {
  expect(await stack.stop()).toBe(0);
  stacks.splice(stacks.indexOf(stack), 1);
}

const http = (stack: ServiceStack, method: string, path: string, body?: unknown) => httpJson(stack.url, method, path, body);

async function syncOf(stack: ServiceStack, sessionId: string): Promise<SyncSnapshot | null> {
  const res = await http(stack, 'GET', `/whatsapp-web/session/${sessionId}/sync`);
  return res.status === 200 ? (res.json as SyncSnapshot) : null;
}

/** Every stored message of the session, through the REST API as a client pages it. */
async function storedMessages(stack: ServiceStack, sessionId: string): Promise<Message[]> {
  const chats = (await http(stack, 'GET', `/whatsapp-web/session/${sessionId}/chats?limit=500`)).json.chats as Chat[];
  const all: Message[] = [];
  for (const chat of chats) {
    let before: string | null = null;
    do {
      const q: string = before ? `&before=${encodeURIComponent(before)}` : '';
      const { json } = await http(stack, 'GET', `/whatsapp-web/session/${sessionId}/chats/${encodeURIComponent(chat.id)}/messages?limit=500${q}`);
      all.push(...(json.messages as Message[]));
      before = json.nextCursor;
    } while (before);
  }
  return all;
}

/** Live messages (body `live #k`, edited or deleted) by k; fails on a duplicate k. */
function liveByK(messages: Message[], anchorMs: number): Map<number, Message> {
  const byK = new Map<number, Message>();
  for (const m of messages) {
    if (Date.parse(m.timestamp) <= anchorMs) continue; // history ends at the first ready
    const k = liveMessageK(m.id);
    if (byK.has(k)) throw new Error(`live #${k} stored twice: ${byK.get(k)!.id} and ${m.id}`);
    byK.set(k, m);
  }
  return byK;
}

/** The store has the sync's summary (finalize ran): the session counts as synced from now on. */
async function storedSync(stack: ServiceStack, sessionId: string, syncId: string): Promise<void> {
  await waitFor('the sync summary in the store', async () => (await http(stack, 'GET', `/whatsapp-web/session/${sessionId}`)).json.lastSync?.syncId === syncId);
}

async function fetchStats(sessionId: string): Promise<{ calls: number; messages: number }> {
  const r = createRedis(redis.url);
  try {
    const h = await r.hgetall(Keys.fetchStats(sessionId));
    return { calls: Number(h.calls ?? 0), messages: Number(h.messages ?? 0) };
  } finally {
    await r.quit();
  }
}

describe('continuous sync end to end', () => {
  it('live edits and deletes reach the store and the socket; a 10 s stop loses no message and stores none twice', async () => {
    const env = { SIM_LIVE_INTERVAL_MS: String(INTERVAL_MS), SIM_CHATS: '2', SIM_MESSAGES_PER_CHAT: '20', SIM_EDIT_EVERY: '7', SIM_REVOKE_EVERY: '11' };
    let stack = await start('live.db', env);
    const ws = await WsClient.connect(stack.wsUrl);
    ws.send('join-session', { sessionId: 'phone' });
    await ws.waitFor('joined');
    expect((await http(stack, 'POST', '/whatsapp-web/session/phone')).status).toBe(201);
    const first = await ws.waitFor('sync_chats', (d) => d.done);
    expect(first).toMatchObject({ kind: 'full', nChats: 2, chatsFailed: 0 });

    // Live traffic: new messages, an edit and a delete for everyone, as socket events.
    const edit = await ws.waitFor('message:edit');
    const revoke = await ws.waitFor('message:revoke');
    expect(ws.of('message:new').length).toBeGreaterThan(10);
    expect(edit).toEqual({ sessionId: 'phone', chatId: expect.any(String), id: expect.any(String), body: `live #${liveMessageK(edit.id)} (edited)`, editedAt: expect.any(String) });
    expect(liveMessageK(edit.id) % 7).toBe(0);
    expect(revoke).toEqual({ sessionId: 'phone', chatId: expect.any(String), id: expect.any(String) });
    expect(liveMessageK(revoke.id) % 11).toBe(0);
    ws.close();
    // …and in the store, through the API.
    const before = await storedMessages(stack, 'phone');
    expect(before.find((m) => m.id === edit.id)).toMatchObject({ body: edit.body, editedAt: edit.editedAt });
    expect(before.find((m) => m.id === revoke.id)).toMatchObject({ body: '', revoked: true });

    // The product stops; the phone does not.
    await storedSync(stack, 'phone', first.syncId);
    const stoppedAt = Date.now();
    await stop(stack);
    const statsBefore = await fetchStats('phone');
    await new Promise((r) => setTimeout(r, DOWN_MS));
    const restartAt = Date.now();
    stack = await start('live.db', env);
    const catchUp = await waitFor('the catch-up', async () => {
      const s = await syncOf(stack, 'phone');
      return s && s.syncId !== first.syncId && s.done ? s : null;
    });
    expect(catchUp).toMatchObject({ kind: 'catch-up', chatsFailed: 0 });
    const readyAgainAt = Date.now();
    // Invariant 5: once saved, no message body stays in Redis, however much the catch-up fetched.
    await storedSync(stack, 'phone', catchUp.syncId);
    const r = createRedis(redis.url);
    expect(await r.keys('wa-sync:staging:*')).toEqual([]);
    await r.quit();
    const statsAfter = await fetchStats('phone');

    // Messages keep arriving while the chats are read one after another: judge what had arrived
    // (and had time to be stored live) before the reading began.
    const readFrom = Date.now() - 500;
    const stored = await storedMessages(stack, 'phone');
    // The phone's clock started at the first ready: the oldest live message is #1.
    const anchorMs = Math.min(...stored.filter((m) => m.body === 'live #1').map((m) => Date.parse(m.timestamp))) - INTERVAL_MS;
    const byK = liveByK(stored, anchorMs);
    const latest = Math.floor((readFrom - anchorMs) / INTERVAL_MS);
    for (const k of byK.keys()) if (k > latest) byK.delete(k);
    expect(latest).toBeGreaterThanOrEqual(Math.floor((restartAt - anchorMs) / INTERVAL_MS));
    const missing = Array.from({ length: latest }, (_, i) => i + 1).filter((k) => !byK.has(k));
    const at = (t: number) => Math.floor((t - anchorMs) / INTERVAL_MS);
    // Where the k's fall (stop, restart) says which part of the sync lost them.
    expect({ missing, stoppedAtK: at(stoppedAt), restartAtK: at(restartAt) }).toEqual({ missing: [], stoppedAtK: at(stoppedAt), restartAtK: at(restartAt) });
    for (const [k, m] of byK) {
      if (m.revoked) expect(k % 11).toBe(0);
      else expect(m.body).toMatch(new RegExp(`^live #${k}( \\(edited\\))?$`));
    }
    // One chat got more than 300 messages while nothing was running.
    const whileDown = new Map<string, number>();
    for (const m of byK.values()) {
      const t = Date.parse(m.timestamp);
      if (t > stoppedAt && t < restartAt) whileDown.set(m.chatId, (whileDown.get(m.chatId) ?? 0) + 1);
    }
    expect(Math.max(...whileDown.values())).toBeGreaterThan(300);
    process.stdout.write(
      `continuous sync: down ${((restartAt - stoppedAt) / 1000).toFixed(1)} s, live messages per chat while down ${JSON.stringify([...whileDown.values()])}, ` +
        `catch-up ${catchUp.nChats} chats / ${catchUp.totalMessagesSynced} messages in ${statsAfter.calls - statsBefore.calls} fetches ` +
        `(${statsAfter.messages - statsBefore.messages} messages read from the phone), done ${((readyAgainAt - restartAt) / 1000).toFixed(1)} s after the restart\n`,
    );
    await stop(stack);
  });

  it('a restart with nothing new on the phone fetches no message', async () => {
    // On its own: nothing left running by the test above, an empty Redis.
    for (const leftover of [...stacks]) await stop(leftover);
    const r = createRedis(redis.url);
    await r.flushall();
    await r.quit();
    let stack = await start('quiet.db', { SIM_CHATS: '6', SIM_MESSAGES_PER_CHAT: '30' });
    expect((await http(stack, 'POST', '/whatsapp-web/session/quiet')).status).toBe(201);
    const first = await waitFor('the first sync', async () => {
      const s = await syncOf(stack, 'quiet');
      return s?.done ? s : null;
    });
    expect(first).toMatchObject({ kind: 'full', nChats: 6, totalMessagesSynced: 6 * 30 });
    await storedSync(stack, 'quiet', first.syncId);
    const afterFirst = await fetchStats('quiet');
    expect(afterFirst.calls).toBe(6);
    await stop(stack);

    stack = await start('quiet.db', { SIM_CHATS: '6', SIM_MESSAGES_PER_CHAT: '30' });
    const again = await waitFor('the catch-up', async () => {
      const s = await syncOf(stack, 'quiet');
      return s && s.syncId !== first.syncId && s.done ? s : null;
    });
    expect(again).toMatchObject({ kind: 'catch-up', nChats: 0, totalMessagesSynced: 0, done: true });
    expect(await fetchStats('quiet')).toEqual(afterFirst);
    // `done` comes before finalize writes the summary (session_ready marks that), as after the first sync.
    await storedSync(stack, 'quiet', again.syncId);
    const session = await http(stack, 'GET', '/whatsapp-web/session/quiet');
    expect(session.json.lastSync).toMatchObject({ syncId: again.syncId, done: true });
    const chats = (await http(stack, 'GET', '/whatsapp-web/session/quiet/chats')).json.chats as Chat[];
    expect(chats.map((c) => c.messageCount)).toEqual(Array(6).fill(30));
    await stop(stack);
  });
});
