/**
 * The sync ledger, real Lua on a private redis-server. A save of a sync whose progress record Redis
 * lost: nothing can count it, so it fails for good, but its batch and its place in the
 * back-pressure window are freed all the same (else the window holds back the fetches of the
 * session until its entries go stale). And a sync's end frees only that sync and starts the
 * request queued behind it.
 */
import { UnrecoverableError } from 'bullmq';
import { suiteRedis } from '../../../test/support/redis-server';
import { Keys } from './redis.keys';
import { SessionQueues } from './session.queues';
import { SyncLedger } from './sync-ledger.store';
import { SyncGoneError } from './sync-ledger.types';

const suite = suiteRedis();

it('frees the batch and the window place of a chat whose sync Redis lost, and throws SyncGoneError (unrecoverable)', async () => {
  const syncId = 'gone-1';
  const stagingKey = Keys.staging(syncId, 'c@c.us');
  await suite.redis.set(stagingKey, '[]');
  await suite.redis.zadd(Keys.stagedChats(syncId), Date.now(), 'c@c.us');

  const recording = new SyncLedger(suite.redis).recordChat({ sessionId: 's', syncId, chatId: 'c@c.us', messages: 0, failed: false }, { stagingKey });
  await expect(recording).rejects.toBeInstanceOf(SyncGoneError);
  await expect(recording).rejects.toBeInstanceOf(UnrecoverableError);
  expect(await suite.redis.exists(stagingKey)).toBe(0);
  expect(await suite.redis.zcard(Keys.stagedChats(syncId))).toBe(0);
  // Nothing was counted or announced for it.
  expect(await suite.redis.exists(Keys.syncProgress(syncId), Keys.syncFinished(syncId))).toBe(0);
});

it('end releases only the sync that ended, then starts the queued request in its place', async () => {
  const queues = new SessionQueues(suite.redis);
  try {
    const ledger = new SyncLedger(suite.redis);
    const running = await ledger.request(queues, { sessionId: 'e', reason: 'manual', limitPerChat: 5, chatIds: ['a@c.us'] });
    const queued = await ledger.request(queues, { sessionId: 'e', reason: 'ready', limitPerChat: 5 });
    expect(queued).toMatchObject({ coalesced: false, queued: true });
    // A late end of some older sync frees nothing: the running one keeps coalescing.
    expect(await ledger.end(queues, 'e', 'older')).toBeNull();
    expect(await ledger.request(queues, { sessionId: 'e', reason: 'manual', limitPerChat: 5, chatIds: ['a@c.us'] })).toEqual({ syncId: running.syncId, coalesced: true });
    // The running one ends: the queued full sync starts, its sync-start job added under its id.
    expect(await ledger.end(queues, 'e', running.syncId)).toBe(queued.syncId);
    expect(await queues.get('e').getJob(queued.syncId)).toBeDefined();
    expect(await ledger.end(queues, 'e', running.syncId)).toBeNull();
  } finally {
    await queues.close();
  }
});
