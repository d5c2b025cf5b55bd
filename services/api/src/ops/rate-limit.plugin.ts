import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { Keys } from '@wa-sync/shared/contracts';
import type { Redis } from '@wa-sync/shared/runtime';
import type { ApiDeps } from '../api.deps';
import { ApiError } from '../error.handler';
import { clientKey } from '../auth/access.hook';

/** Per-route limit, set as `config: { rateLimit }` on the routes that start work. */
export interface RouteRateLimit {
  max: number;
  timeWindow: number;
}

/** The limit of the routes that start work (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS; default 30 per 60 s). */
export function routeRateLimit(deps: Pick<ApiDeps, 'rateLimit'>): RouteRateLimit {
  return { max: deps.rateLimit?.max ?? 30, timeWindow: deps.rateLimit?.windowMs ?? 60_000 };
}

/**
 * Rate limits only where a route asks for one (session creation, sync-chats). The bucket is who
 * asks: the operator key (by a hash of it), a session token's session, else (auth off) the client
 * IP; requests without a valid credential never get here (401 first). Counts live in Redis, so every API process draws on the same budget; when
 * Redis cannot be reached the request is a 503 like any other that needs Redis.
 */
export async function installRateLimit(app: FastifyInstance, redis: Redis): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: Keys.rateLimitPrefix,
    // After auth (onRequest): a request without the key is a 401 and does not count.
    hook: 'preHandler',
    keyGenerator: (req) => clientKey(req),
    errorResponseBuilder: (_req, context) =>
      new ApiError(429, 'rate_limited', `rate limit of ${context.max} requests exceeded; retry in ${context.after}`),
  });
}
