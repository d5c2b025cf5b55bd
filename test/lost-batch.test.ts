/**
 * A staged batch Redis lost (a Sentinel failover drops acknowledged writes the replica did not
 * have yet; the fetch's completion can survive where its batch did not): the save fetches the
 * chat again instead of failing its attempts and counting the chat as failed. The runner's fetch
 * worker and the sync workers as the services wire them, a private Redis, a SQLite file.
 */
import { Keys, type SyncSnapshot, sessionQueueName } from '@wa-sync/shared/contracts';
import { Queue } from 'bullmq';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const CHATS = 4;
const MESSAGES = 30;
const LIMIT = 20;
const SEED = 11;
const SESSION = 'lost-batch';

let h: SyncHarness;

beforeAll(async () => {
  // The sync workers start only once every batch is staged and one of them is gone.
  h = await SyncHarness.start({ workers: false });
});

afterAll(async () => {
  await h?.stop();
});

it('a chat whose staged batch is gone is fetched again and saved once; the sync ends exact', async () => {
  const account = new SimulatedAccount({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED });
  const lost = account.listChats()[1].id;
  const engine = new SimulatedEngine({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED, fetchLatencyMs: 2, autoScanMs: 10 });
  await h.store.ensureSession(SESSION);
  await h.manager(engine, { limitPerChat: LIMIT }).start(SESSION);
  const syncId = await waitFor('the sync to start', () => (h.events.find((e) => e.event === 'sync_chats')?.data as SyncSnapshot | undefined)?.syncId);
  const staged = () => Promise.all(account.listChats().map((c) => h.redis.exists(Keys.staging(syncId, c.id))));
  await waitFor('every chat staged', async () => (await staged()).every((n) => n === 1), 20_000);
  await h.redis.del(Keys.staging(syncId, lost));

  await h.startWorkers();
  const done = await waitFor('the sync done', () => h.events.map((e) => e.data as SyncSnapshot).find((d) => d?.syncId === syncId && d.done), 30_000);
  expect(done).toMatchObject({ nChats: CHATS, chatsFailed: 0, totalMessagesSynced: CHATS * LIMIT });
  const page = await h.store.listMessages(SESSION, lost, { limit: 100 });
  expect(page.items.map((m) => m.id).sort()).toEqual(account.latestMessages(lost, LIMIT).map((m) => m.id).sort());
  // One more fetch of that chat only, and its batch dropped once saved.
  const queue = new Queue(sessionQueueName(SESSION), { connection: h.redis });
  try {
    const fetches = (await queue.getJobs(['completed'])).filter((j) => j.name === 'fetch-messages');
    const again = fetches.filter((j) => j.id?.includes('-again'));
    expect(again.map((j) => j.data.chatId)).toEqual([lost]);
    expect(fetches).toHaveLength(CHATS + 1);
  } finally {
    await queue.close();
  }
  expect((await staged()).every((n) => n === 0)).toBe(true);
});
