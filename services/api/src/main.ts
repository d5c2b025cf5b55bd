import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeStoreUrl, openStoreUrlUntilReady } from '@wa-sync/shared/store';
import { createLogger, createRedis, type Logger, type Redis, Shutdown, webhookUrlPolicy } from '@wa-sync/shared/runtime';
import { blobStoreConfig, createBlobStore } from '@wa-sync/shared/blob';
import { buildApp } from './app.factory';
import { closeApiQueues, createApiDeps } from './api.deps';
import { env } from './env';
import { SocketHub } from './ws/socket.hub';

async function main(): Promise<void> {
  const logger = createLogger('api', env.LOG_LEVEL);
  const shutdown = new Shutdown(logger, env.SHUTDOWN_TIMEOUT_MS);
  shutdown.installSignalHandlers();

  // Requests use this connection: a command waits for a reconnect at most REDIS_COMMAND_TIMEOUT_MS,
  // then the request is a 503 instead of hanging.
  const redis = createRedis(env.REDIS_URL, { commandTimeout: env.REDIS_COMMAND_TIMEOUT_MS });
  const subscriber = createRedis(env.REDIS_URL);
  watchRedis(redis, 'commands', logger);
  watchRedis(subscriber, 'events', logger);
  // Opens in the background and keeps retrying: /readyz says `store: down` meanwhile, requests get 503 store_unavailable.
  const store = openStoreUrlUntilReady(env.STORE_URL, { sqlite: { lockWaitMs: env.STORE_LOCK_WAIT_MS } }, (a) => {
    if (a.state === 'up') logger.info('store available');
    else logger.warn({ state: a.state, err: a.error }, 'store unavailable: retrying until it is back (/readyz is 503 meanwhile)');
  });
  const hub = new SocketHub();
  const deps = createApiDeps({ store, redis, subscriber, logger }, {
    limitPerChat: env.SYNC_LIMIT_PER_CHAT,
    eventLogMaxLen: env.EVENT_LOG_MAXLEN,
    apiKey: env.API_KEY,
    apiKeys: env.API_KEYS,
    maxPendingConnectionsPerIp: env.MAX_PENDING_CONNECTIONS_PER_IP,
    bullBoardReadOnly: env.BULL_BOARD_READ_ONLY,
    queueRefreshMs: env.QUEUE_REFRESH_MS,
    rateLimit: { max: env.RATE_LIMIT_MAX, windowMs: env.RATE_LIMIT_WINDOW_MS },
    trustProxy: env.TRUST_PROXY,
    healthTimeoutMs: env.HEALTH_TIMEOUT_MS,
    version: packageVersion(),
    corsOrigins: env.CORS_ORIGINS,
    tokenSecret: env.TOKEN_SECRET,
    webhookSecretKey: env.WEBHOOK_SECRET_KEY,
    webhookPolicy: webhookUrlPolicy({ allowPrivate: env.WEBHOOK_ALLOW_PRIVATE, allowedHosts: env.WEBHOOK_ALLOWED_HOSTS }),
    blobs: await createBlobStore(blobStoreConfig(env)),
  });
  const app = await buildApp(deps, hub);

  // app.close(): stop accepting, close every WebSocket with 1001, let running requests finish.
  shutdown
    .add('http and websockets', () => app.close())
    .add('queues', () => closeApiQueues(deps))
    .add('store', () => store.close())
    .add('redis', async () => {
      await subscriber.quit();
      await redis.quit();
    });

  await app.listen({ port: env.PORT, host: env.HOST });
  logger.info(
    { url: `http://${env.HOST}:${env.PORT}`, store: describeStoreUrl(env.STORE_URL), auth: env.API_KEY || env.API_KEYS.length ? `${(env.API_KEY ? 1 : 0) + env.API_KEYS.length} operator key(s)` : 'open' },
    'api listening',
  );
}

/** One line when Redis goes away and one when it is back, not one per reconnect attempt. */
function watchRedis(connection: Redis, name: string, logger: Logger): void {
  let lost = false;
  connection.on('error', (err: Error) => logger.debug({ connection: name, err: err.message }, 'redis error'));
  connection.on('reconnecting', () => {
    if (!lost) logger.warn({ connection: name }, 'redis connection lost: reconnecting (/readyz is 503 meanwhile)');
    lost = true;
  });
  connection.on('ready', () => {
    if (lost) logger.info({ connection: name }, 'redis connection restored');
    lost = false;
  });
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

main().catch((err) => {
  process.stderr.write(`api failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
