import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from '../error.handler';

/**
 * CORS_ORIGINS as a list: comma-separated origins (`https://app.example.com`), each normalised to
 * scheme://host[:port]. A value that is not an origin is an error at boot, naming it.
 */
export function parseOrigins(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw new Error(`"${s}" is not an origin like https://app.example.com`);
      }
      if (!/^https?:$/.test(url.protocol) || url.origin !== s.replace(/\/$/, '')) throw new Error(`"${s}" is not an origin like https://app.example.com`);
      return url.origin;
    });
}

/** Same origin: the page was served by this host (a browser always sends Origin on a WebSocket). */
function isSameOrigin(req: FastifyRequest, origin: string): boolean {
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * `@fastify/cors` for HTTP and SSE with the allowed origins (none: CORS stays off, same origin
 * only), and the same list on the WebSocket upgrade: browsers do not apply CORS to WebSockets,
 * so a page on any site could otherwise open one with the user's credentials. Register before
 * auth: a preflight carries no key and is answered in the hook.
 */
export async function installCors(app: FastifyInstance, origins: string[], wsPath: string): Promise<void> {
  const allowed = new Set(origins);
  if (allowed.size > 0) {
    await app.register(cors, {
      origin: [...allowed],
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  }
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url !== wsPath) return;
    const origin = req.headers.origin;
    // No Origin: not a browser (curl, ws, a backend); the API key still applies.
    if (origin === undefined || allowed.has(origin) || isSameOrigin(req, origin)) return;
    req.log.warn({ origin }, 'websocket upgrade refused: origin not allowed');
    return sendError(reply, 403, 'origin_not_allowed', `origin ${origin} is not in CORS_ORIGINS`);
  });
}
