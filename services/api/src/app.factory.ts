import { randomUUID } from 'node:crypto';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawRequestDefaultExpression } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Keys } from '@wa-sync/shared/contracts';
import { redactUrl, subscribeEvents } from '@wa-sync/shared/runtime';
import type { ApiDeps } from './api.deps';
import type { ApiApp, RouteInfo } from './app.types';
import { installErrorHandlers, sendError } from './error.handler';
import { DOCS_PATH, registerOpenApi, useZodValidation } from './openapi/openapi.registry';
import { installAccess } from './auth/access.hook';
import { StreamAccessWatch } from './auth/stream-access.watch';
import { OperatorKeys } from './auth/operator-key.registry';
import { installCors } from './ops/cors.plugin';
import { BOARD_PATH, registerBullBoard } from './ops/bull-board.plugin';
import { ApiMetrics } from './ops/metrics.registry';
import { QueueDirectory } from './ops/queue.directory';
import { clientErrorHandler } from './ops/client-error.handler';
import { capPendingConnections, closeSilentConnections, serverTimeouts } from './ops/connection.guard';
import { installJsonBodyParser } from './ops/json-body.parser';
import { installRateLimit } from './ops/rate-limit.plugin';
import { chatRoutes } from './routes/chat.routes';
import { mediaRoutes } from './routes/media.routes';
import { conversationRoutes } from './routes/conversation.routes';
import { healthRoutes } from './routes/health.routes';
import { linkRoutes } from './routes/link.routes';
import { metricsRoutes } from './routes/metrics.routes';
import { recentRoutes } from './routes/recent.routes';
import { sessionScope } from './routes/session-scope.plugin';
import { sessionRoutes, sessionViewRoutes } from './routes/session.routes';
import { syncRoutes } from './routes/sync.routes';
import { tokenRoutes } from './routes/token.routes';
import { eventsRoutes } from './sse/events.routes';
import { SseHub } from './sse/sse.hub';
import { LiveFeed } from './stream/live.feed';
import { SessionWatch } from './ws/session.watch';
import { SocketHub } from './ws/socket.hub';
import { WS_MAX_PAYLOAD, wsRoutes } from './ws/ws.routes';
import { dashboardRoutes, isDashboardRoute } from './web/dashboard.routes';
import { installSecurityHeaders } from './web/security-headers.plugin';

export type { RouteInfo } from './app.types';

/** The app's open SSE streams (tests and metrics count them). */
export function sseHubOf(app: FastifyInstance): SseHub | undefined {
  return app.sseHub;
}

/** Every route the app registered (HEAD twins excluded), for the test that checks the OpenAPI document. */
export function routesOf(app: FastifyInstance): RouteInfo[] {
  return app.routeTable ?? [];
}

const SESSION_URL = /^\/whatsapp-web\/session\/([A-Za-z0-9_-]{1,64})(?:[/?]|$)/;
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const MAX_PARAM_LENGTH = 256 * 12;

/** The Fastify app with every route; main.ts listens, tests use `inject`/`injectWS`. */
export async function buildApp(deps: ApiDeps, hub = new SocketHub()): Promise<FastifyInstance> {
  const healthTimeoutMs = deps.healthTimeoutMs ?? 2_000;
  const app: ApiApp = Fastify({
    // Fastify logs `req.url`: the WebSocket's `?token=` must not reach the logs.
    loggerInstance: deps.logger.child({}, { serializers: { req: requestSerializer } }) as FastifyBaseLogger,
    // An incoming X-Request-Id is kept (and echoed) so logs join up across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Every line of a request about a session carries its sessionId.
    childLoggerFactory: (logger, bindings, options, rawReq) => {
      const sessionId = SESSION_URL.exec((rawReq as RawRequestDefaultExpression).url ?? '')?.[1];
      return logger.child(sessionId ? { ...bindings, sessionId } : bindings, options);
    },
    trustProxy: deps.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    // A connection that has not sent a whole request within 10 s is closed; idle keep-alives after 5 s.
    ...serverTimeouts(deps.requestTimeoutMs),
    // Chat ids up to 256 characters are valid in paths, percent-encoded UTF-8 included (up to 12
    // characters each); the route's schema answers a 400 for a longer id.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // What Node's HTTP parser refuses (headers over 16 KiB, bytes that are not HTTP) in the error shape.
    clientErrorHandler,
    // The router's own errors (a bad percent-encoding, a parameter over maxParamLength) in the error shape.
    frameworkErrors: (err, _req, reply) => {
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendError(reply, 414, 'url_too_long', 'a path parameter is too long');
      if (err.code === 'FST_ERR_BAD_URL') return sendError(reply, 400, 'bad_url', 'the URL is not validly percent-encoded');
      return sendError(reply, err.statusCode ?? 400, (err.code ?? 'bad_request').toLowerCase(), err.message);
    },
  }).withTypeProvider<ZodTypeProvider>();
  const sse = new SseHub({ logger: deps.logger, maxBufferedBytes: deps.streamMaxBufferedBytes });
  const watch = new SessionWatch(deps, (socket, event, data) => hub.send(socket, event, data));
  const feed = new LiveFeed(
    deps.events,
    (envelope) => {
      hub.dispatch(envelope);
      watch.onEvent(envelope);
      sse.dispatch(envelope);
      metrics.onEvent(envelope);
    },
    () => [...hub.sessions(), ...sse.sessions()],
    deps.logger,
  );
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, hidden: Boolean(route.schema?.hide) || Boolean(route.websocket) });
    }
  });

  installJsonBodyParser(app);
  installErrorHandlers(app);
  useZodValidation(app);
  // Before any route: the UIs' relaxed CSP is attached to their routes as they are added.
  await installSecurityHeaders(app, [BOARD_PATH, DOCS_PATH]);

  const directory = new QueueDirectory(deps.redis, deps.queueRefreshMs ?? 5_000, deps.logger);
  const metrics = new ApiMetrics({ directory, hub, redis: deps.redis, ledger: deps.ledger, logger: deps.logger, timeoutMs: healthTimeoutMs });
  // What every route plugin reads from its instance, instead of arguments passed by hand.
  app.decorate('deps', deps).decorate('socketHub', hub).decorate('sessionWatch', watch).decorate('sseHub', sse).decorate('liveFeed', feed);
  const streamAccess = new StreamAccessWatch(deps.store, deps.logger);
  app.decorate('metrics', metrics).decorate('routeTable', routes).decorate('streamAccess', streamAccess);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.observeRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('onClose', () => directory.close());
  app.addHook('onClose', async () => streamAccess.stop());

  // Before auth: its onRequest hook marks upgrade requests, so a refused one's socket is destroyed.
  await app.register(websocket, {
    // A bigger frame closes the socket with 1009 before more of it is buffered.
    options: { maxPayload: WS_MAX_PAYLOAD },
    // On close: a close frame with 1001 (going away) to every client, so they know to reconnect.
    preClose(done) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down');
      done();
    },
  });
  // Before auth: a CORS preflight carries no key; a foreign Origin is refused before the key is checked.
  await installCors(app, deps.corsOrigins ?? [], '/ws');
  const keys = new OperatorKeys(deps.apiKey, deps.apiKeys);
  installAccess(app, {
    keys,
    tokens: deps.tokens,
    uiPrefixes: [BOARD_PATH, DOCS_PATH],
    defaultAccess: (url) => (isDashboardRoute(url) ? 'public' : underAny(url, [BOARD_PATH, DOCS_PATH]) ? 'operator' : undefined),
  });
  // Behind a proxy every client has the proxy's address: the cap would throttle all of them together.
  closeSilentConnections(app, deps.requestTimeoutMs);
  if (keys.enabled && !deps.trustProxy) capPendingConnections(app, deps.maxPendingConnectionsPerIp ?? 256);
  await installRateLimit(app, deps.redis);
  await registerOpenApi(app, { boardPath: BOARD_PATH, version: deps.version ?? '0.0.0' });
  await registerBullBoard(app, directory, deps.bullBoardReadOnly ?? true);
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(sessionRoutes);
  // Everything under /whatsapp-web/session/:id that needs the session to exist.
  await app.register(sessionScope(sessionViewRoutes, linkRoutes, chatRoutes, conversationRoutes, mediaRoutes, syncRoutes, recentRoutes, tokenRoutes));
  await app.register(wsRoutes);
  await app.register(eventsRoutes);
  await app.register(dashboardRoutes);

  if (deps.subscriber) {
    const subscriber = deps.subscriber;
    let subscribed = false;
    const subscribe = () => subscribeEvents(subscriber, deps.events, (envelope) => feed.push(envelope)).then(() => void (subscribed = true));
    // SUBSCRIBE sent before the connection's ready check would make that check fail (ioredis). With
    // Redis not there yet the API serves anyway (503 for what needs Redis) and subscribes once it is.
    if (subscriber.status === 'ready') await subscribe();
    // After a reconnect (ioredis resubscribes on its own), what was published meanwhile comes from
    // the logs. Our own SUBSCRIBE is answered after ioredis's: the subscription is live again by then.
    subscriber.on('close', () => feed.lost());
    subscriber.on('ready', () => {
      const done = subscribed ? subscriber.subscribe(Keys.eventsChannel).then(() => feed.fillGaps()) : subscribe();
      done.catch((err: Error) => deps.logger.warn({ err: err.message }, 'event subscription: could not fill the gap'));
    });
  }
  return app;
}

function underAny(url: string, prefixes: string[]): boolean {
  return prefixes.some((p) => url === p || url.startsWith(`${p}/`));
}

function requestSerializer(req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) {
  return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}
