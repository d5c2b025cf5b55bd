import {
  DELIVERY_QUEUES,
  openInspectQueue,
  readBrokerReports,
  readDeliveryBacklog,
  readProcessReports,
  summarizeBroker,
  withTimeout,
} from '@wa-sync/shared/runtime';
import type { InspectQueue } from '@wa-sync/shared/contracts';
import { z } from 'zod';
import type { ApiDeps } from '../api.deps';
import type { ApiPlugin } from '../app.types';
import { routeSchema } from '../openapi/openapi.registry';
import { type DeliveryHealth, Healthy, PublicReadiness, type Readiness, Readiness as ReadinessSchema } from './health.schemas';

const tags = ['ops'];

/**
 * `/healthz`: the process is up. `/readyz`: it can serve (Redis and the store answer), plus the
 * state of downstream delivery (RabbitMQ, backlog) and of the blob store, which do not decide readiness. No key needed;
 * without the operator key (auth on), /readyz shows only ready and each dependency's ok/down.
 */
export const healthRoutes: ApiPlugin = async (app) => {
  const { deps } = app;
  const timeoutMs = deps.healthTimeoutMs ?? 2_000;
  const deliveryQueues = {
    amqp: openInspectQueue(DELIVERY_QUEUES.amqp, { connection: deps.redis }),
    webhook: openInspectQueue(DELIVERY_QUEUES.webhook, { connection: deps.redis }),
  };
  for (const q of Object.values(deliveryQueues)) q.on('error', (err) => deps.logger.debug({ queue: q.name, err: err.message }, 'queue connection error'));
  app.addHook('onClose', async () => {
    await Promise.all(Object.values(deliveryQueues).map((q) => q.close()));
  });

  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      config: { access: 'public' },
      schema: routeSchema({ tags, operationId: 'getLiveness', summary: 'Liveness: the process is up', public: true, responses: { 200: { description: 'Up', schema: Healthy } } }),
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      config: { access: 'public' },
      schema: routeSchema({
        tags,
        operationId: 'getReadiness',
        summary: 'Readiness: Redis answers PING and the store answers ping()',
        public: true,
        responses: {
          200: { description: 'Ready (details with the operator key only)', schema: z.union([ReadinessSchema, PublicReadiness]) },
          503: { description: 'Not ready; `checks` names the dependency that failed', schema: z.union([ReadinessSchema, PublicReadiness]) },
        },
      }),
    },
    async (req, reply) => {
      const blobs = deps.blobs;
      const [redis, store, media] = await Promise.all([
        check(() => pingRedis(deps), timeoutMs, 'redis'),
        check(() => deps.store.ping(), timeoutMs, 'store'),
        blobs ? check(() => blobs.ping(), timeoutMs, 'media') : undefined,
      ]);
      const ok = redis === 'ok' && store === 'ok';
      const [delivery, processes] =
        redis === 'ok'
          ? await Promise.all([deliveryHealth(deps, deliveryQueues, timeoutMs), processHealth(deps, timeoutMs)])
          : [{ broker: 'unknown: Redis is down', workers: [], backlog: null }, []];
      const broker = delivery.broker === 'up' ? 'ok' : delivery.broker;
      const body: Readiness = { ready: ok, status: ok ? 'ok' : 'unavailable', checks: { redis, store, broker, ...(media ? { media } : {}) }, delivery, processes };
      return reply.status(ok ? 200 : 503).send(req.principal?.kind === 'operator' ? body : publicReadiness(body));
    },
  );
};

function publicState(state: string): string {
  if (state === 'ok' || state === 'off') return state;
  return state.startsWith('unknown') ? 'unknown' : 'down';
}

/** What anyone may see: ready or not, and each dependency `ok` or `down`, without reasons, ids or hosts. */
function publicReadiness(body: Readiness): PublicReadiness {
  const checks = Object.fromEntries(Object.entries(body.checks).map(([name, state]) => [name, publicState(state)]));
  return { ready: body.ready, status: body.status, checks: checks as PublicReadiness['checks'] };
}

async function processHealth(deps: ApiDeps, timeoutMs: number): Promise<Readiness['processes']> {
  try {
    const reports = await withTimeout(readProcessReports(deps.redis), timeoutMs, 'process reports timed out');
    const now = Date.now();
    return reports.map(({ at, ...r }) => ({ ...r, ageS: Math.max(0, Math.round((now - at) / 1000)) }));
  } catch {
    return [];
  }
}

async function deliveryHealth(deps: ApiDeps, queues: Record<'amqp' | 'webhook', InspectQueue>, timeoutMs: number): Promise<DeliveryHealth> {
  try {
    const [reports, backlog] = await withTimeout(
      Promise.all([readBrokerReports(deps.redis), readDeliveryBacklog(queues)]),
      timeoutMs,
      `delivery state timed out after ${timeoutMs} ms`,
    );
    return { broker: summarizeBroker(reports), workers: reports.map(({ at: _at, ...r }) => r), backlog };
  } catch (err) {
    return { broker: `unknown: ${(err as Error).message}`, workers: [], backlog: null };
  }
}

const DOWN = ['reconnecting', 'close', 'end'];

async function pingRedis(deps: ApiDeps): Promise<void> {
  // While ioredis reconnects, a command would wait in its offline queue: answer at once instead.
  if (DOWN.includes(deps.redis.status)) throw new Error(`connection is ${deps.redis.status}`);
  await deps.redis.ping();
}

async function check(probe: () => Promise<unknown>, timeoutMs: number, what: string): Promise<string> {
  try {
    await withTimeout(probe(), timeoutMs, `${what} timed out after ${timeoutMs} ms`);
    return 'ok';
  } catch (err) {
    return `down: ${(err as Error).message}`;
  }
}
