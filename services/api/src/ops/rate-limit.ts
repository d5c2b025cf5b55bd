import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors';
import { clientKey } from './auth';

/** Per-route limit, set as `config: { rateLimit }` on the routes that start work. */
export interface RouteRateLimit {
  max: number;
  timeWindow: number;
}

/**
 * Rate limits only where a route asks for one (session creation, sync-chats). The bucket is the
 * API key when one is configured (requests without it never get here: auth answers 401 first),
 * else the client IP. Counts live in this process's memory: behind N API processes a client gets
 * up to N times the limit.
 */
export async function installRateLimit(app: FastifyInstance, apiKey: string | undefined): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    // After auth (onRequest): a request without the key is a 401 and does not count.
    hook: 'preHandler',
    keyGenerator: (req) => clientKey(req, apiKey),
    errorResponseBuilder: (_req, context) =>
      new ApiError(429, 'rate_limited', `rate limit of ${context.max} requests exceeded; retry in ${context.after}`),
  });
}
