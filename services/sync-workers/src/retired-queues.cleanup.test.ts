import { Queue } from 'bullmq';
import { createLogger } from '@wa-sync/shared/runtime';
import { suiteRedis } from '../../../test/support/redis-server';
import { removeRetiredQueues } from './retired-queues.cleanup';

const suite = suiteRedis();

it('removes the session-synced jobs nobody consumed, and leaves every other queue alone', async () => {
  const legacy = new Queue('session-synced', { connection: suite.redis });
  const kept = new Queue('chat-save', { connection: suite.redis });
  await legacy.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'session-synced', data: { i } })));
  await kept.add('save-chat', { x: 1 });
  await legacy.close();
  await removeRetiredQueues(suite.redis, createLogger('test', 'silent'));
  expect(await suite.redis.keys('bull:session-synced:*')).toEqual([]);
  expect(await kept.count()).toBe(1);
  await kept.close();
  // Nothing left to remove: a no-op.
  await expect(removeRetiredQueues(suite.redis, createLogger('test', 'silent'))).resolves.toBeUndefined();
});
