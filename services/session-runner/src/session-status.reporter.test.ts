/**
 * A status written while another process holds the SQLite lock past the store's wait is stored
 * and announced once the lock goes, instead of failing the event that set it (a `ready` that
 * failed there never asked for its sync). A real SQLite file locked by another process, a private
 * redis-server for the event log.
 */
import { EventLog, createLogger } from '@wa-sync/shared/runtime';
import { suiteRedis } from '../../../test/support/redis-server';
import { holdSqliteLock, suiteBusyStore } from '../../../test/support/store-lock';
import { SessionStatusReporter } from './session-status.reporter';

const suite = suiteRedis();
const busy = suiteBusyStore();

it('stores and announces a status set during a lock longer than the store waits', async () => {
  const log = new EventLog(suite.redis);
  const { store } = busy;
  const reporter = new SessionStatusReporter(store, suite.redis, log, createLogger('test', 'silent'));
  await reporter.status('s1', 'authenticated');

  const held = await holdSqliteLock(busy.file, 1_500);
  const writing = reporter.status('s1', 'ready');
  await held.released;
  await writing;

  expect((await store.getSession('s1'))?.status).toBe('ready');
  const events = (await log.readAfter('s1', '0-0')).events.map((e) => [e.event, (e.data as { status: string }).status]);
  expect(events).toEqual([
    ['status', 'authenticated'],
    ['status', 'ready'],
  ]);
});
