import { Queue } from 'bullmq';
import { createLogger, createRedis, type Redis } from '@wa-sync/shared/runtime';
import { type PrivateRedis, startRedis } from '../../../test/support/redis-server';
import { removeRetiredQueues } from './retired-queues.cleanup';

let server: PrivateRedis;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = createRedis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

it('removes the session-synced jobs nobody consumed, and leaves every other queue alone', async () => {
  const legacy = new Queue('session-synced', { connection: redis });
  const kept = new Queue('chat-save', { connection: redis });
  await legacy.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'session-synced', data: { i } })));
  await kept.add('save-chat', { x: 1 });
  await legacy.close();
  await removeRetiredQueues(redis, createLogger('test', 'silent'));
  expect(await redis.keys('bull:session-synced:*')).toEqual([]);
  expect(await kept.count()).toBe(1);
  await kept.close();
  // Nothing left to remove: a no-op.
  await expect(removeRetiredQueues(redis, createLogger('test', 'silent'))).resolves.toBeUndefined();
});
