import { describeStoreUrl, openStoreUrlUntilReady } from '@wa-sync/shared/store';
import { blobStoreConfig, createBlobStore } from '@wa-sync/shared/blob';
import { createLogger, createRedis, ProcessHealth, Shutdown } from '@wa-sync/shared/runtime';
import { createEngine } from './engine/engine.factory';
import { env } from './env';
import { ThreadedGraphFlow } from './graph.writer';
import { MediaSlots } from './media-slots.semaphore';
import { createRunner } from './runner.factory';

/**
 * How long a runner write (a status, a sync's chat list, a live message) waits for another
 * process's SQLite lock before StoreBusyError. Long: the runner's writes are few and ordered, so
 * waiting is right; a live write or a sync-start that still finds the lock is tried again later.
 */
const STORE_LOCK_WAIT_MS = 60_000;
/**
 * Each attempt still waits this long inside SQLite first: the ordinary contention of the other
 * processes' short commits (and a reader's brief busy moments in WAL) passes as it did with the
 * old synchronous wait, and only a long lock falls through to the asynchronous retries. The runner
 * serves no clients, so a stall this short costs nothing.
 */
const STORE_BUSY_SLICE_MS = 100;

async function main(): Promise<void> {
  const logger = createLogger('session-runner', env.LOG_LEVEL);
  const shutdown = new Shutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
  shutdown.installSignalHandlers();

  const redis = createRedis(env.REDIS_URL);
  // Neither Redis nor the store being down stops the process: it waits for them (one line per change).
  const health = new ProcessHealth('session-runner', env.RUNNER_ID, logger);
  health.watchRedis(redis);
  health.report(redis);
  // The lock of another process is waited for asynchronously: the event loop keeps renewing leases
  // and job locks meanwhile (a synchronous wait froze them, and a long lock could cost the lease).
  const store = openStoreUrlUntilReady(
    env.STORE_URL,
    { sqlite: { lockWaitMs: STORE_LOCK_WAIT_MS, busyTimeoutMs: STORE_BUSY_SLICE_MS } },
    (a) => health.set('store', a.state, a.error),
  );
  const subscriber = createRedis(env.REDIS_URL);
  subscriber.on('error', () => undefined); // `health` logs the outage once, from the command connection
  // A bad MEDIA_URL stops the runner at env parsing; a blob store it cannot reach yet is waited for (media jobs are put back).
  const blobs = env.MEDIA_DOWNLOAD === 'off' && env.WA_AUTH_STORE !== 'blob' ? null : await createBlobStore(blobStoreConfig(env), { writerThread: true });
  const engine = createEngine(env, logger, { store, redis, blobs });
  const runner = createRunner(
    { engine, store, redis, subscriber, logger, flow: new ThreadedGraphFlow(env.REDIS_URL, redis, logger) },
    {
      runnerId: env.RUNNER_ID,
      leaseMs: env.RUNNER_LEASE_MS,
      maxSessions: env.RUNNER_MAX_SESSIONS ?? null,
      maxRssMb: env.RUNNER_MAX_RSS_MB ?? null,
      rebalance: env.RUNNER_REBALANCE,
      limitPerChat: env.SYNC_LIMIT_PER_CHAT,
      catchUpMaxPerChat: env.SYNC_CATCHUP_MAX_PER_CHAT,
      fetchConcurrency: env.WA_FETCH_CONCURRENCY,
      fetchPauseMs: env.WA_FETCH_PAUSE_MS,
      restoreConcurrency: env.WA_RESTORE_CONCURRENCY,
      reconnect: { baseDelayMs: env.WA_RECONNECT_BASE_MS, maxDelayMs: env.WA_RECONNECT_MAX_MS, maxAttempts: env.WA_RECONNECT_ATTEMPTS },
      jobLockMs: env.WA_JOB_LOCK_MS,
      stalledCheckMs: env.WA_STALLED_CHECK_MS,
      eventLogMaxLen: env.EVENT_LOG_MAXLEN,
      media: { policy: env.MEDIA_DOWNLOAD, maxBytes: env.MEDIA_MAX_BYTES, blobs: env.MEDIA_DOWNLOAD === 'off' ? null : blobs, slots: new MediaSlots(env.MEDIA_CONCURRENCY) },
      mediaSweepMs: env.MEDIA_SWEEP_MS,
    },
  );

  // Clients stop (active jobs finish first) before the leases go, so no two run for one session.
  shutdown
    .add('runner', () => runner.close())
    .add('health report', () => health.stop())
    .add('store', () => store.close())
    .add('blobs', async () => blobs?.close())
    .add('redis', () => redis.quit());

  await runner.start();
  logger.info(
    {
      runnerId: env.RUNNER_ID,
      engine: engine.name,
      authStore: env.WA_AUTH_STORE,
      store: describeStoreUrl(env.STORE_URL),
      owned: runner.ownership.owned(),
      leaseMs: env.RUNNER_LEASE_MS,
      maxSessions: env.RUNNER_MAX_SESSIONS ?? null,
      fetchConcurrency: env.WA_FETCH_CONCURRENCY,
      fetchPauseMs: env.WA_FETCH_PAUSE_MS,
      media: { policy: env.MEDIA_DOWNLOAD, store: blobs?.description ?? null, concurrency: env.MEDIA_CONCURRENCY },
    },
    'session runner started',
  );
}

main().catch((err) => {
  process.stderr.write(`session-runner failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
