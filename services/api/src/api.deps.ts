import { type CatalogQueueOf, QueueName } from '@wa-sync/shared/contracts';
import { SessionTokens } from './auth/session-token.service';
import type { Store } from '@wa-sync/shared/store';
import type { BlobStore } from '@wa-sync/shared/blob';
import { EventLog, type Logger, openCatalogQueue, type Redis, SessionQueues, SyncLedger, WebhookSecretCipher, type WebhookUrlPolicy } from '@wa-sync/shared/runtime';
import type { NamedKey } from './auth/operator-key.registry';

/** Everything the routes need, built once in main.ts (or by a test). */
export interface ApiDeps {
  store: Store;
  /**
   * Commands and wa-sync keys; BullMQ queues share it. main.ts gives it a `commandTimeout`, so a
   * request fails with a 503 instead of hanging while Redis is down.
   */
  redis: Redis;
  ledger: SyncLedger;
  /** The per-session event logs: replay for WS `since` and SSE `Last-Event-ID`. */
  events: EventLog;
  sessionQueues: SessionQueues;
  commands: CatalogQueueOf<typeof QueueName.sessionCommands>;
  logger: Logger;
  /** Default `limitPerChat` of a manual sync. */
  limitPerChat: number;
  /** The operator key (API_KEY, named `default`); with `apiKeys`, auth is on when either is set. */
  apiKey?: string;
  /** More operator keys (API_KEYS=name:key,…), all accepted: rotation without downtime. */
  apiKeys?: NamedKey[];
  /** A client address may hold at most this many connections that have not authenticated yet (auth on only; default 256). */
  maxPendingConnectionsPerIp?: number;
  /** A request must arrive whole within this long, or its connection is closed (default 10000). */
  requestTimeoutMs?: number;
  /** A dedicated subscriber connection: session events reach the sockets and the metrics through it. */
  subscriber?: Redis;
  /** Bull Board cannot change jobs or queues (default true). */
  bullBoardReadOnly?: boolean;
  /** Per-session queues are rediscovered at most this often, for Bull Board and /metrics (default 5000). */
  queueRefreshMs?: number;
  /** On session creation and sync-chats, per API key or IP (default 30 per 60 s). */
  rateLimit?: { max: number; windowMs: number };
  /** Client IPs from X-Forwarded-For (default false). */
  trustProxy?: boolean;
  /** /readyz probes and /metrics queue counts give up after this long (default 2000). */
  healthTimeoutMs?: number;
  /** EVENT_LOG_MAXLEN (default 2000). */
  eventLogMaxLen?: number;
  /** `POST …/pairing-code` waits this long for the session runner's answer (default 30000). */
  pairingTimeoutMs?: number;
  /** The built dashboard served at `/` (default services/api/dist/public). */
  dashboardDir?: string;
  /** The API's version, for the OpenAPI document. */
  version?: string;
  /** CORS_ORIGINS: origins allowed for HTTP, SSE and the WebSocket upgrade; empty = same origin only. */
  corsOrigins?: string[];
  /** WebSocket ping interval; a socket that missed two pongs is dropped (default 30000). */
  wsPingIntervalMs?: number;
  /** SSE comment heartbeat interval (default 15000). */
  sseHeartbeatMs?: number;
  /** An SSE stream or WebSocket with more bytes queued than this is dropped (default 8 MiB). */
  streamMaxBufferedBytes?: number;
  /** TOKEN_SECRET; absent: a secret generated once and kept in the store. */
  tokenSecret?: string;
  /** Session tokens: mint, verify, revoke (built by createApiDeps from `store` and `tokenSecret`). */
  tokens: SessionTokens;
  /** WEBHOOK_SECRET_KEY: session webhook secrets are sealed with it before the store sees them. */
  webhookSecretKey?: string;
  /** Seals webhook secrets (built by createApiDeps from `webhookSecretKey`; without a key it leaves them as they are). */
  webhookSecrets: WebhookSecretCipher;
  /** Where media files are (MEDIA_URL), for the media route; absent: it answers 503. */
  blobs?: BlobStore;
  /** The SSRF rule on session webhooks (WEBHOOK_ALLOW_PRIVATE, WEBHOOK_ALLOWED_HOSTS); default: the strict rule. */
  webhookPolicy?: WebhookUrlPolicy;
}

/** What an API process connects to itself; the queues and the progress reader are built on them. */
export type ApiConnections = Pick<ApiDeps, 'store' | 'redis' | 'subscriber' | 'logger'>;
export type ApiSettings = Omit<ApiDeps, keyof ApiConnections | 'ledger' | 'events' | 'sessionQueues' | 'commands' | 'tokens' | 'webhookSecrets'>;

/** The API's deps as main.ts (and the tests' API fixture) build them. Close with `closeApiQueues`. */
export function createApiDeps(connections: ApiConnections, settings: ApiSettings): ApiDeps {
  const { redis, logger } = connections;
  const commands = openCatalogQueue(QueueName.sessionCommands, QueueName.sessionCommands, { connection: redis });
  // Connection errors are /readyz's to report; without a listener BullMQ prints each one.
  commands.on('error', (err) => logger.debug({ err: err.message }, 'commands queue error'));
  return {
    ...connections,
    ...settings,
    ledger: new SyncLedger(redis, settings.eventLogMaxLen),
    events: new EventLog(redis, { maxLen: settings.eventLogMaxLen, logger }),
    sessionQueues: new SessionQueues(redis, logger),
    commands,
    tokens: new SessionTokens(connections.store, settings.tokenSecret),
    webhookSecrets: new WebhookSecretCipher(settings.webhookSecretKey),
  };
}

/** Closes the queues `createApiDeps` opened (not the connections or the store). */
export async function closeApiQueues(deps: ApiDeps): Promise<void> {
  await deps.commands.close();
  await deps.sessionQueues.close();
}
