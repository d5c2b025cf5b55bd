import type { Queue } from 'bullmq';
import type { Logger, Redis, SessionQueues, Store, SyncProgress } from '@wa-sync/shared';

/** Everything the routes need, built once in main.ts (or by a test). */
export interface ApiDeps {
  store: Store;
  /**
   * Commands and wa-sync keys; BullMQ queues share it. main.ts gives it a `commandTimeout`, so a
   * request fails with a 503 instead of hanging while Redis is down.
   */
  redis: Redis;
  progress: SyncProgress;
  sessionQueues: SessionQueues;
  commands: Queue;
  logger: Logger;
  /** Default `limitPerChat` of a manual sync. */
  limitPerChat: number;
  /** When set, every route but /healthz and /readyz requires it. */
  apiKey?: string;
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
  /** The API's version, for the OpenAPI document. */
  version?: string;
}
