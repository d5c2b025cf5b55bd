import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The dashboard's policy: everything from this origin, nothing inline. The WebSocket is
 * same-origin ('self' covers ws:/wss: on the page's host), the QR is a `data:` PNG. Media files
 * are fetched with the credential and shown from `blob:` object URLs (images and players).
 * No `upgrade-insecure-requests`: the API often runs on plain http on a LAN, and upgraded
 * asset requests would fail there.
 */
export const DASHBOARD_CSP = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'media-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'upgrade-insecure-requests': null,
};

/**
 * Bull Board and Swagger UI are third-party pages: inline style attributes and a `<style>` block
 * (Bull Board's loading screen), Google Fonts (Bull Board, when online). Scripts stay 'self'.
 */
const UI_CSP = {
  ...DASHBOARD_CSP,
  'frame-ancestors': ["'self'"],
  'font-src': ["'self'", 'data:', 'https://fonts.gstatic.com'],
  'style-src': ["'self'", "'unsafe-inline'", 'https://fonts.googleapis.com'],
};

/**
 * Security headers (helmet's defaults) on every answer, with the strict CSP above; routes under
 * `uiPrefixes` get the relaxed one. Register before any route: the per-route policy is set as
 * routes are added.
 */
export async function installSecurityHeaders(app: FastifyInstance, uiPrefixes: string[]): Promise<void> {
  app.addHook('onRoute', (route) => {
    if (!uiPrefixes.some((p) => route.url === p || route.url.startsWith(`${p}/`))) return;
    route.config = { ...(route.config ?? {}), helmet: { contentSecurityPolicy: { useDefaults: false, directives: UI_CSP } } } as typeof route.config;
  });
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
    // The API is called cross-origin by frontends allowed in CORS_ORIGINS: keep resources loadable there.
    crossOriginResourcePolicy: { policy: 'same-site' },
    // HSTS belongs to whatever terminates TLS in front of the API; here it could pin subdomains by surprise.
    strictTransportSecurity: false,
  });
}
