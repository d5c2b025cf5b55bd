/**
 * A queue opened on a connection that times commands out (the API's: a request is a 503 after
 * REDIS_COMMAND_TIMEOUT_MS, not a hang) must not be broken for good by one slow moment at its
 * start. BullMQ checks the server's version once per queue (INFO) and keeps that promise: a check
 * that timed out made every later call on the queue fail with "Command timed out", forever
 * (/readyz said `broker: unknown: Command timed out` for the life of the API).
 */
import { createRedis } from './redis.client';
import { openInspectQueue } from './catalog.queue';
import { suiteRedis } from '../../../test/support/redis-server';

const suite = suiteRedis();

it('answers once Redis does, though Redis did not answer for longer than the command timeout when the queue was opened', async () => {
  const timed = createRedis(suite.url, { commandTimeout: 100 });
  await new Promise<void>((resolve) => (timed.status === 'ready' ? resolve() : timed.once('ready', () => resolve())));
  // Every client's commands wait 600 ms: a server stalled (a long script, a fork, a loaded host).
  await suite.redis.call('CLIENT', 'PAUSE', '600', 'ALL');
  const queue = openInspectQueue('slow-start', { connection: timed });
  queue.on('error', () => undefined);
  try {
    await new Promise((r) => setTimeout(r, 800));
    await expect(queue.getJobCounts('waiting', 'completed')).resolves.toEqual({ waiting: 0, completed: 0 });
  } finally {
    await queue.close();
    timed.disconnect();
  }
});
