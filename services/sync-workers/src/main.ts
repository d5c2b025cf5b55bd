import { hostname } from 'node:os';
import { describeStoreUrl, openStoreUrlUntilReady } from '@wa-sync/shared/store';
import { createLogger, createRedis, ProcessHealth, Shutdown } from '@wa-sync/shared/runtime';
import { deliveryConfigFromEnv, envWebhookRefusal } from './delivery.config';
import { env } from './env';
import { removeRetiredQueues } from './retired-queues.cleanup';
import { startSyncWorkers } from './sync.workers';

/** How long a save waits asynchronously for another process's SQLite lock before it is put back. */
const STORE_LOCK_WAIT_MS = 2_000;

async function main(): Promise<void> {
  const delivery = deliveryConfigFromEnv(env);
  const refusal = await envWebhookRefusal(delivery);
  if (refusal) {
    process.stderr.write(`wa-sync: invalid environment\n  WEBHOOK_URL: ${refusal}\n`);
    process.exit(1);
  }
  const logger = createLogger('sync-workers', env.LOG_LEVEL);
  const shutdown = new Shutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
  shutdown.installSignalHandlers();

  const redis = createRedis(env.REDIS_URL);
  // Neither Redis nor the store being down stops the process: it waits for them (one line per change).
  const health = new ProcessHealth('sync-workers', `${hostname()}-${process.pid}`, logger);
  health.watchRedis(redis);
  health.report(redis);
  // A locked SQLite file is waited for asynchronously, never by blocking the event loop (which would
  // stop the job-lock renewals, and BullMQ would take the saves for stalled); then the save is retried.
  // An unavailable store puts the jobs back the same way until it is back.
  const store = openStoreUrlUntilReady(env.STORE_URL, { sqlite: { lockWaitMs: STORE_LOCK_WAIT_MS } }, (a) => health.set('store', a.state, a.error));
  await removeRetiredQueues(redis, logger).catch((err) => logger.warn({ err: (err as Error).message }, 'could not remove retired queues'));
  const workers = startSyncWorkers({
    store,
    redis,
    logger,
    concurrency: env.SYNC_CONCURRENCY,
    eventLogMaxLen: env.EVENT_LOG_MAXLEN,
    lockDurationMs: env.JOB_LOCK_MS,
    stalledIntervalMs: env.STALLED_CHECK_MS,
    delivery,
  });

  // workers.close() takes no new job and waits for the active ones. A job cut off by the deadline
  // keeps its lock until it expires; then BullMQ's stalled check hands it to another worker, and
  // the save is idempotent (upsert, chat counted once).
  shutdown
    .add('workers', () => workers.close())
    .add('health report', () => health.stop())
    .add('store', () => store.close())
    .add('redis', () => redis.quit());
  logger.info(
    { store: describeStoreUrl(env.STORE_URL), concurrency: env.SYNC_CONCURRENCY, shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS },
    'sync workers started',
  );
}

main().catch((err) => {
  process.stderr.write(`sync-workers failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
