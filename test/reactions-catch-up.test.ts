/**
 * Reactions that change while no runner listens (services as processes, a private Redis, SQLite):
 * WhatsApp sends no event for them afterwards, so the catch-up of the next runner reads them off
 * the chats' newest messages. A reaction removed while the runner was down (killed with SIGKILL)
 * is gone from the store and announced on the socket; every live message ends with the reactions
 * the phone has.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@wa-sync/shared/contracts';
import { type Store, createStore } from '@wa-sync/shared/store';
import { liveMessageK, REACT_AFTER, UNREACT_AFTER } from '../services/session-runner/src/engine/simulated.live';
import { httpJson, sessionMessages } from './support/http';
import { type PrivateRedis, freePort, startRedis } from './support/redis-server';
import { ServiceGroup } from './support/service-process';
import { waitFor } from './support/wait-for';
import { WsClient } from './support/ws-client';

const SESSION = 'react-away';
/** A live message every second; every second one gets a reaction 2 s later, every fourth loses it 3 s after that. */
const INTERVAL_MS = 1000;
let dir: string;
let redis: PrivateRedis;
let store: Store;
let base: string;
const services = new ServiceGroup();
const logs = () => services.logs();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-sync-react-away-'));
  redis = await startRedis();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  services.env = {
    REDIS_URL: redis.url,
    STORE_URL: `sqlite:${join(dir, 'wa.db')}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    WA_AUTH_DIR: join(dir, 'auth'),
    SIM_KEEP_AUTH: 'true',
    SIM_AUTO_SCAN_MS: '100',
    SIM_CHATS: '4',
    SIM_MESSAGES_PER_CHAT: '20',
    SIM_FETCH_LATENCY_MS: '5',
    SIM_LIVE_INTERVAL_MS: String(INTERVAL_MS),
    SIM_REACT_EVERY: '2',
    RUNNER_LEASE_MS: '2000',
    WA_JOB_LOCK_MS: '2000',
    WA_STALLED_CHECK_MS: '1000',
  };
  const api = services.start('api');
  services.start('sync-workers');
  await api.waitForOutput(/api listening/);
  store = await createStore(services.env.STORE_URL);
}, 120_000);

afterAll(async () => {
  await services.killAll();
  await store?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const liveMessages = async () => (await sessionMessages(base, SESSION)).filter((m) => /^live #\d+$/.test(m.body));

/** How many reactions live message `m` has on the phone at `nowMs` (SIM_REACT_EVERY=2). */
function phoneReactions(m: Message, nowMs: number): number {
  const k = liveMessageK(m.id);
  const arrival = Date.parse(m.timestamp);
  if (k % 2 !== 0 || nowMs < arrival + REACT_AFTER * INTERVAL_MS) return 0;
  return k % 4 === 0 && nowMs >= arrival + UNREACT_AFTER * INTERVAL_MS ? 0 : 1;
}

it('a reaction removed while the runner was down is gone after the next runner\'s catch-up, and announced', async () => {
  const ws = await WsClient.connect(`${base.replace('http', 'ws')}/ws`);
  ws.send('join-session', { sessionId: SESSION });
  await ws.waitFor('joined');
  const first = services.start('session-runner', { RUNNER_ID: 'runner-a' });
  expect((await httpJson(base, 'POST', `/whatsapp-web/session/${SESSION}`)).status).toBe(201);
  await ws.waitFor('sync_chats', (d) => d.done, 120_000);

  // A reaction that the phone takes back 3 s later: the runner is killed before that.
  const doomed = await ws.waitFor('message:reaction', (d) => d.reactions.length === 1 && liveMessageK(d.id) % 4 === 0, 60_000);
  first.child.kill('SIGKILL');
  await first.exited;
  const stored = async () => (await store.getMessage(SESSION, doomed.chatId, doomed.id))?.reactions;
  expect(await stored()).toHaveLength(1);

  // Down until the phone has removed it (and a little more, for other changes to pile up).
  const removedAt = Date.parse((await store.getMessage(SESSION, doomed.chatId, doomed.id))!.timestamp) + UNREACT_AFTER * INTERVAL_MS;
  await new Promise((r) => setTimeout(r, Math.max(0, removedAt - Date.now()) + 2 * INTERVAL_MS));
  expect(await stored()).toHaveLength(1);

  services.start('session-runner', { RUNNER_ID: 'runner-b' });
  const gone = await ws.waitFor('message:reaction', (d) => d.id === doomed.id && d.reactions.length === 0, 60_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${logs()}`);
  });
  expect(gone).toEqual({ sessionId: SESSION, chatId: doomed.chatId, id: doomed.id, reactions: [] });
  expect(await stored()).toEqual([]);

  // Every live message the store holds has the reactions the phone has (where none changed in the last 1.5 s).
  let wrong: string[] = [];
  await waitFor('the store to agree with the phone', async () => {
    const now = Date.now();
    const live = await liveMessages();
    wrong = live
      .filter((m) => phoneReactions(m, now) === phoneReactions(m, now - 1500) && (m.reactions?.length ?? 0) !== phoneReactions(m, now))
      .map((m) => `${m.body}: ${m.reactions?.length ?? 0} stored, ${phoneReactions(m, now)} on the phone`);
    return live.length > 10 && wrong.length === 0;
  }, 30_000, () => `${wrong.join('; ')}\n${logs()}`);
  ws.close();
}, 180_000);
