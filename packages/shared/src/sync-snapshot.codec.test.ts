/**
 * The `sync_chats` fields have one definition, the `SyncSnapshot` schema: the progress scripts
 * announce the hash decoded by Lua generated from it, and the reader decodes it the same way.
 * Real Lua on a private redis-server.
 */
import { suiteRedis } from '../../../test/support/redis-server';
import { SyncSnapshot } from './domain.schemas';
import { EventLog } from './event-log.stream';
import { Keys } from './redis.keys';
import { SyncLedger } from './sync-ledger.store';
import { SNAPSHOT_FIELDS, SNAPSHOT_LUA_FN, snapshotFromHash, snapshotToHash } from './sync-snapshot.codec';

const suite = suiteRedis();

async function loggedSyncChats(sessionId: string): Promise<unknown[]> {
  const entries = await new EventLog(suite.redis).tail(sessionId, 100);
  return entries.filter((e) => e.event === 'sync_chats').map((e) => e.data);
}

it('derives every field, and its encoding, from the schema', () => {
  expect(SNAPSHOT_FIELDS.map((f) => f.name)).toEqual(Object.keys(SyncSnapshot.shape));
  expect(SNAPSHOT_FIELDS.find((f) => f.name === 'chatId')).toMatchObject({ kind: 'string', optional: true });
  expect(SNAPSHOT_FIELDS.find((f) => f.name === 'done')).toMatchObject({ kind: 'boolean', optional: false });
  for (const { name } of SNAPSHOT_FIELDS) expect(SNAPSHOT_LUA_FN).toContain(`'${name}'`);
});

it('announces exactly the snapshot the reader reads, first event and per chat, strictly parsed', async () => {
  const progress = new SyncLedger(suite.redis);
  await progress.begin('codec', 'sync-1', 2, 'catch-up');
  await progress.recordChat({ sessionId: 'codec', syncId: 'sync-1', chatId: 'c1@c.us', messages: 7, failed: false });
  await progress.recordChat({ sessionId: 'codec', syncId: 'sync-1', chatId: 'c2@c.us', messages: 0, failed: true, error: 'gone' });

  const logged = (await loggedSyncChats('codec')).map((d) => SyncSnapshot.strict().parse(d));
  expect(logged).toEqual([
    { sessionId: 'codec', syncId: 'sync-1', kind: 'catch-up', nChats: 2, currentChat: 0, messagesSynced: 0, totalMessagesSynced: 0, chatsFailed: 0, done: false },
    { sessionId: 'codec', syncId: 'sync-1', kind: 'catch-up', nChats: 2, currentChat: 1, chatId: 'c1@c.us', messagesSynced: 7, totalMessagesSynced: 7, chatsFailed: 0, done: false },
    { sessionId: 'codec', syncId: 'sync-1', kind: 'catch-up', nChats: 2, currentChat: 2, chatId: 'c2@c.us', messagesSynced: 0, totalMessagesSynced: 7, chatsFailed: 1, done: true },
  ]);
  expect(await progress.get('sync-1')).toEqual(logged[2]);
});

it('round-trips a snapshot through the hash encoding, and reads an unreadable hash as none', async () => {
  const snapshot: SyncSnapshot = { sessionId: 's', syncId: 'x', kind: 'full', nChats: 3, currentChat: 1, chatId: 'c', messagesSynced: 2, totalMessagesSynced: 2, chatsFailed: 0, done: false };
  const pairs = snapshotToHash(snapshot);
  await suite.redis.hset(Keys.syncProgress('roundtrip'), ...pairs);
  expect(snapshotFromHash(await suite.redis.hgetall(Keys.syncProgress('roundtrip')))).toEqual(snapshot);
  expect(snapshotFromHash({ syncId: 'x', nChats: 'many' })).toBeNull();
  expect(snapshotFromHash({})).toBeNull();
});

it('a sync begun before kinds existed is announced as full, not dropped', async () => {
  // The hash an older version wrote: no `kind`.
  await suite.redis.hset(Keys.syncProgress('legacy'), 'sessionId', 'old', 'syncId', 'legacy', 'nChats', 1, 'currentChat', 0, 'messagesSynced', 0, 'totalMessagesSynced', 0, 'chatsFailed', 0, 'done', 0);
  await new SyncLedger(suite.redis).recordChat({ sessionId: 'old', syncId: 'legacy', chatId: 'c', messages: 1, failed: false });
  const [event] = await loggedSyncChats('old');
  expect(SyncSnapshot.parse(event)).toMatchObject({ kind: 'full', done: true, chatId: 'c' });
});
