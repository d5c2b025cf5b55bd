import { createStore } from '@wa-sync/shared/store';
import { createLogger, createRedis } from '@wa-sync/shared/runtime';
import { buildApp } from './app.factory';
import { closeApiQueues, createApiDeps } from './api.deps';

/**
 * The OpenAPI document as the API serves it at /docs/json, built without a server: an in-memory
 * store and a Redis connection that is never opened (building the routes needs no Redis).
 * For `npm run lint:openapi` and the generated-client test.
 */
export async function buildOpenApiDocument(version = '0.0.0'): Promise<Record<string, unknown>> {
  const store = await createStore('sqlite::memory:');
  const redis = createRedis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const logger = createLogger('openapi', 'silent');
  const deps = createApiDeps({ store, redis, logger }, { limitPerChat: 100, queueRefreshMs: 0, version });
  const app = await buildApp(deps);
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close().catch(() => undefined);
    await closeApiQueues(deps).catch(() => undefined);
    redis.disconnect();
    await store.close();
  }
}
