import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { ApiPlugin } from '../app.types';
import { sendError } from '../error.handler';

/** Where `npm run build` puts the dashboard (vite, services/api/dashboard → services/api/dist/public). */
export const DASHBOARD_DIR = resolve(__dirname, '../../dist/public');

/**
 * The dashboard's own URLs: they load without the API key (the page and its assets hold no data;
 * every call the page makes carries the key). Only routes that exist match: an unknown
 * `/assets/…` still needs the key, so nothing can be probed.
 */
export function isDashboardRoute(routeUrl: string | undefined): boolean {
  return routeUrl === '/' || routeUrl === '/index.html' || routeUrl === '/favicon.svg' || Boolean(routeUrl?.startsWith('/assets/'));
}

/** Serves the built dashboard at `/`: one route per file found at boot, hashed assets cached for good. */
export const dashboardRoutes: ApiPlugin = async (app) => {
  const dir = app.deps.dashboardDir ?? DASHBOARD_DIR;
  if (!existsSync(join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'dashboard not built: run `npm run build` to serve it at /');
    app.get('/', { schema: { hide: true }, config: { access: 'public' } }, (_req, reply) =>
      sendError(reply, 404, 'dashboard_not_built', 'the dashboard is not built: run `npm run build`'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // A route per file that exists: other paths stay 404 in the API's error shape.
    wildcard: false,
    index: ['index.html'],
    // Swagger UI registers @fastify/static too; this scope needs no reply decorator.
    decorateReply: false,
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('cache-control', path.includes(`${join('/', 'assets', '/')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
};
