import type { FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Store, type StoreOptions, createStore } from '@wa-sync/shared/store';
import { type Redis, createLogger, createRedis } from '@wa-sync/shared/runtime';
import { buildApp } from '../../services/api/src/app.factory';
import { type ApiDeps, type ApiSettings, closeApiQueues, createApiDeps } from '../../services/api/src/api.deps';
import { SocketHub } from '../../services/api/src/ws/socket.hub';

export interface ApiFixture {
  app: FastifyInstance;
  deps: ApiDeps;
  hub: SocketHub;
  store: Store;
  /** Every log line the app wrote, as JSON text. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * The API as main.ts wires it, against a real Redis and a real SQLite file, for `inject` and
 * `injectWS`. The command connection has a short commandTimeout, as in production.
 */
export async function startApi(
  /**
   * One Redis for everything, or the command connection through another address (a proxy that
   * can stall) than the bus's, with its own command timeout (500 ms, as in production, otherwise).
   */
  redisUrl: string | { commands: string; bus: string; commandTimeoutMs?: number },
  options: Partial<ApiSettings> = {},
  storeUrl?: string,
  /** As main.ts opens it (STORE_LOCK_WAIT_MS default). */
  storeOptions: StoreOptions = { sqlite: { lockWaitMs: 5_000 } },
): Promise<ApiFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sync-api-'));
  const store = await createStore(storeUrl ?? `sqlite:${join(dir, 'api.db')}`, storeOptions);
  // A short disconnectTimeout: tests that stop Redis would otherwise keep Jest waiting 2 s on close.
  const urls = typeof redisUrl === 'string' ? { commands: redisUrl, bus: redisUrl } : redisUrl;
  const redis: Redis = createRedis(urls.commands, { commandTimeout: urls.commandTimeoutMs ?? 500, disconnectTimeout: 100 });
  const subscriber = createRedis(urls.bus, { disconnectTimeout: 100 });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('api', 'info', sink);
  const hub = new SocketHub();
  const deps = createApiDeps(
    { store, redis, subscriber, logger },
    { limitPerChat: 20, queueRefreshMs: 0, healthTimeoutMs: 500, ...options },
  );
  const app = await buildApp(deps, hub);
  await app.ready();
  return {
    app,
    deps,
    hub,
    store,
    logs,
    async close() {
      await app.close();
      // injectWS sockets are in-memory streams that never end: the server side would wait for the
      // end of the close handshake (ws's 30 s timer) and keep Jest alive.
      for (const client of app.websocketServer.clients) client.terminate();
      await closeApiQueues(deps);
      await store.close();
      subscriber.disconnect();
      redis.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
