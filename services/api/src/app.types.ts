import type { Session } from '@wa-sync/shared/contracts';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps } from './api.deps';
import type { StreamAccessWatch } from './auth/stream-access.watch';
import type { ApiMetrics } from './ops/metrics.registry';
import type { SseHub } from './sse/sse.hub';
import type { LiveFeed } from './stream/live.feed';
import type { SessionWatch } from './ws/session.watch';
import type { SocketHub } from './ws/socket.hub';

export interface RouteInfo {
  method: string;
  url: string;
  /** Left out of the OpenAPI document (Bull Board, Swagger UI assets, the WebSocket). */
  hidden: boolean;
}

/** The app as routes see it: schemas are zod, so `req.params`/`req.query`/`req.body` arrive typed. */
export type ApiApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;
/** A group of routes, registered with `app.register`. */
export type ApiPlugin = FastifyPluginAsyncZod;

declare module 'fastify' {
  interface FastifyInstance {
    /** What the routes need (store, Redis, queues, settings), decorated once by buildApp. */
    deps: ApiDeps;
    socketHub: SocketHub;
    /** WS `watch-sessions`: the operator sockets that follow every session's status. */
    sessionWatch: SessionWatch;
    sseHub: SseHub;
    /** The events channel as this process's sockets and streams get it. */
    liveFeed: LiveFeed;
    metrics: ApiMetrics;
    /** Open streams opened by session tokens, closed when their token expires or is revoked. */
    streamAccess: StreamAccessWatch;
    /** Every route registered (HEAD twins excluded), for the test that checks the OpenAPI document. */
    routeTable: RouteInfo[];
  }
  interface FastifyRequest {
    /** The session of a route under the session scope (see session-scope.plugin), loaded by its preHandler. */
    session: Session;
  }
}
