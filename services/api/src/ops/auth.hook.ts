import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from '../error.handler';

/** Probes for load balancers and orchestrators: never behind the key. */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz']);
/** Browsers cannot add a Bearer header to a WebSocket or an EventSource: these take `?token=` too. */
const WS_ROUTE = '/ws';
const TOKEN_ROUTES = new Set([WS_ROUTE, '/whatsapp-web/session/:id/events']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Compares in constant time: both sides are hashed first, so neither the length nor the content
 * of the key leaks through timing.
 */
export function keyMatches(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/** The key a request carries: `Authorization: Bearer`, or `?token=` on /ws, or Basic (password) on the UIs. */
function credentialOf(req: FastifyRequest, uiPrefixes: string[]): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const [scheme, value] = header.split(/\s+/, 2);
    if (/^bearer$/i.test(scheme) && value) return value;
    if (/^basic$/i.test(scheme) && value && isUi(req, uiPrefixes)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon !== -1) return decoded.slice(colon + 1);
    }
  }
  if (req.routeOptions.url && TOKEN_ROUTES.has(req.routeOptions.url)) {
    const token = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string' && token) return token;
  }
  return null;
}

function isUi(req: FastifyRequest, uiPrefixes: string[]): boolean {
  const path = req.url.split('?')[0];
  return uiPrefixes.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * With API_KEY set, every route but the health probes answers 401 without the key. It runs on
 * `onRequest`, so a WebSocket without the key is refused before the upgrade (a plain HTTP 401,
 * no socket). Unknown paths are refused too: no probing for routes without the key.
 */
export function installAuth(
  app: FastifyInstance,
  apiKey: string | undefined,
  uiPrefixes: string[],
  /** Routes that hold no data (the dashboard's page and assets): no key needed. */
  isPublic: (routeUrl: string | undefined) => boolean = () => false,
): void {
  if (!apiKey) return;
  const expected = digest(apiKey);
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url && (PUBLIC_ROUTES.has(req.routeOptions.url) || isPublic(req.routeOptions.url))) return;
    const given = credentialOf(req, uiPrefixes);
    if (given !== null && keyMatches(given, expected)) return;
    // Basic makes a browser ask for the key on the UIs; API clients only get the Bearer challenge.
    reply.header('www-authenticate', isUi(req, uiPrefixes) ? 'Basic realm="wa-sync", charset="UTF-8"' : 'Bearer realm="wa-sync"');
    const message =
      given === null
        ? `missing API key: send "Authorization: Bearer <key>"${req.routeOptions.url && TOKEN_ROUTES.has(req.routeOptions.url) ? ' or ?token=<key>' : ''}`
        : 'wrong API key';
    return sendError(reply, 401, 'unauthorized', message);
  });
}

/** The rate-limit bucket of a request: its API key (hashed) when one is configured, else its IP. */
export function clientKey(req: FastifyRequest, apiKey: string | undefined): string {
  return apiKey ? `key:${digest(apiKey).toString('hex').slice(0, 16)}` : `ip:${req.ip}`;
}
