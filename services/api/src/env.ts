import { BaseEnv, booleanString, loadEnv, WebhookPolicyEnv, WebhookSecretKeyEnv } from '@wa-sync/shared/runtime';
import { z } from 'zod';
import { parseApiKeys } from './auth/operator-key.registry';
import { MediaStoreEnv } from '@wa-sync/shared/blob';
import { parseOrigins } from './ops/cors.plugin';

export const ApiEnv = BaseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** The operator key: `Authorization: Bearer <key>` (HTTP) or `?token=` (WS, SSE, media). */
  API_KEY: z.string().min(1).optional(),
  /**
   * Signs session tokens (HS256). Unset: a secret is generated once and kept in the store, so
   * tokens still work on every API process and across restarts. Set it to rotate by hand (every
   * token minted before is then refused).
   */
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** More operator keys, `name:key,…`, all accepted (rotation without downtime); logs show the name. */
  API_KEYS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        return parseApiKeys(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Connections per client address that have not authenticated yet (auth on); more are closed at once. */
  MAX_PENDING_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(256),
  /** Bull Board only shows queues and jobs unless this is `false` (then it can retry, clean, pause…). */
  BULL_BOARD_READ_ONLY: booleanString.default(true),
  /** How often Bull Board and /metrics look for per-session queues that appeared or went away. */
  QUEUE_REFRESH_MS: z.coerce.number().int().min(0).default(5_000),
  /** Requests per window per client (API key, else IP) on session creation and on sync-chats, each. */
  RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(30),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1).default(60_000),
  /** Take the client IP from X-Forwarded-For (behind a reverse proxy), for rate limits and logs. */
  TRUST_PROXY: booleanString.default(false),
  /** A Redis command of a request waits this long for Redis (e.g. reconnecting) before a 503. */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  /**
   * SQLite: a write that finds another process's lock is retried asynchronously for this long (the
   * event loop never waits on the lock), then answered 503 with Retry-After.
   */
  STORE_LOCK_WAIT_MS: z.coerce.number().int().min(0).default(5_000),
  /** Each /readyz probe (Redis PING, store ping) gives up after this long. */
  HEALTH_TIMEOUT_MS: z.coerce.number().int().min(1).default(2_000),
  /** Origins allowed for HTTP, SSE and the WebSocket upgrade, comma-separated; empty: same origin only. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      try {
        return parseOrigins(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
}).extend(WebhookPolicyEnv.shape).extend(WebhookSecretKeyEnv.shape).extend(MediaStoreEnv.shape);
export type ApiEnv = z.infer<typeof ApiEnv>;

export const env = loadEnv(ApiEnv);
