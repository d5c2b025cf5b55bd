/**
 * A sync of more chats than GRAPH_FIRST_CHATS adds its graph in steps behind a gate. The runner
 * dies between two steps (its flow producer fails once, as a kill -9 or a Redis hiccup would
 * make it): finalize must not close the sync over the chats added so far, and the retried
 * sync-start must add the rest exactly once. Real BullMQ, private Redis, SQLite file.
 */
import { CatalogFlow } from '@wa-sync/shared/runtime';
import { GRAPH_FIRST_CHATS, type SyncSnapshot } from '@wa-sync/shared/contracts';
import { SimulatedAccount } from '../services/session-runner/src/engine/simulated.account';
import { SimulatedEngine } from '../services/session-runner/src/engine/simulated.engine';
import { SyncHarness } from './support/sync-harness';
import { waitFor } from './support/wait-for';

const CHATS = GRAPH_FIRST_CHATS + 70;
const MESSAGES = 5;
const SEED = 11;
const SESSION = 'graph-steps';

/** The real flow producer, whose first `addBulk` (the second step of a graph) fails. */
class FlowFailingOnce extends CatalogFlow {
  failures = 0;
  override async addBulk(...args: Parameters<CatalogFlow['addBulk']>): ReturnType<CatalogFlow['addBulk']> {
    if (this.failures++ === 0) throw new Error('injected: the runner died between two steps of the graph');
    return super.addBulk(...args);
  }
}

let h: SyncHarness;
let flow: FlowFailingOnce;

beforeAll(async () => {
  h = await SyncHarness.start();
  flow = new FlowFailingOnce({ connection: h.redis });
});

afterAll(async () => {
  await flow?.close();
  await h?.stop();
});

it('finalize waits for every step of the graph, across a sync-start that failed half-way', async () => {
  const account = new SimulatedAccount({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED });
  const engine = new SimulatedEngine({ chats: CHATS, messagesPerChat: MESSAGES, seed: SEED, autoScanMs: 10 });
  await h.store.ensureSession(SESSION);
  await h.manager(engine, { flow }).start(SESSION);

  const ready = await waitFor('session_ready', () => h.events.find((e) => e.event === 'session_ready'), 30_000);
  expect(flow.failures).toBeGreaterThan(1); // the step failed once, and a retry added it
  expect(ready.data).toMatchObject({ sessionId: SESSION, nChats: CHATS, chatsFailed: 0, totalMessages: CHATS * MESSAGES });

  const syncChats = h.events.filter((e) => e.event === 'sync_chats').map((e) => e.data as SyncSnapshot);
  // One event per chat, each chat once, `done` only on the last: nothing closed the sync early.
  expect(syncChats).toHaveLength(CHATS + 1);
  expect(new Set(syncChats.slice(1).map((s) => s.chatId)).size).toBe(CHATS);
  expect(syncChats.filter((s) => s.done)).toHaveLength(1);
  expect(h.events.filter((e) => e.event === 'session_ready')).toHaveLength(1);

  for (const chat of account.listChats()) {
    const page = await h.store.listMessages(SESSION, chat.id, { limit: 100 });
    expect(page.items.map((m) => m.id).sort()).toEqual(account.latestMessages(chat.id, MESSAGES).map((m) => m.id).sort());
  }
}, 60_000);
