import { FlowProducer } from 'bullmq';
import { EventLog, SessionQueues, Shutdown, SyncProgress, createLogger, createRedis, createStore, describeStoreUrl } from '@wa-sync/shared';
import { createCommandsWorker } from './commands.worker';
import { createEngine } from './engine/engine.factory';
import { env } from './env';
import { SessionStatusReporter } from './session-status';
import { SessionManager } from './session.manager';

async function main(): Promise<void> {
  const logger = createLogger('session-runner', env.LOG_LEVEL);
  const shutdown = new Shutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
  shutdown.installSignalHandlers();

  const redis = createRedis(env.REDIS_URL);
  const store = await createStore(env.STORE_URL);
  const engine = createEngine(env, logger, { store });
  const queues = new SessionQueues(redis, logger);
  const flow = new FlowProducer({ connection: redis });
  const sessions = new SessionManager({
    engine,
    store,
    redis,
    progress: new SyncProgress(redis, env.EVENT_LOG_MAXLEN),
    queues,
    flow,
    reporter: new SessionStatusReporter(store, redis, new EventLog(redis, { maxLen: env.EVENT_LOG_MAXLEN, logger }), logger),
    logger,
    limitPerChat: env.SYNC_LIMIT_PER_CHAT,
    catchUpMaxPerChat: env.SYNC_CATCHUP_MAX_PER_CHAT,
    concurrency: env.WA_FETCH_CONCURRENCY,
    fetchPauseMs: env.WA_FETCH_PAUSE_MS,
    restoreConcurrency: env.WA_RESTORE_CONCURRENCY,
    reconnect: { baseDelayMs: env.WA_RECONNECT_BASE_MS, maxDelayMs: env.WA_RECONNECT_MAX_MS, maxAttempts: env.WA_RECONNECT_ATTEMPTS },
    // Outlives a getChats call even if renewals stall; see SessionManagerDeps.lockDurationMs.
    lockDurationMs: Math.max(120_000, Math.ceil(env.WA_GET_CHATS_TIMEOUT_MS / 2)),
  });
  const commands = createCommandsWorker(sessions, redis, logger);

  shutdown
    .add('commands worker', () => commands.close())
    .add('sessions', () => sessions.closeAll())
    .add('queues', async () => {
      await flow.close();
      await queues.close();
    })
    .add('store', () => store.close())
    .add('redis', () => redis.quit());

  const restored = await sessions.restore();
  logger.info(
    { engine: engine.name, store: describeStoreUrl(env.STORE_URL), restored, fetchConcurrency: env.WA_FETCH_CONCURRENCY, fetchPauseMs: env.WA_FETCH_PAUSE_MS },
    'session runner started',
  );
}

main().catch((err) => {
  process.stderr.write(`session-runner failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
