import type { FastifyInstance } from 'fastify';
import { routeSchema } from '../openapi.registry';
import type { ApiMetrics } from '../ops/metrics.registry';

export async function metricsRoutes(app: FastifyInstance, metrics: ApiMetrics): Promise<void> {
  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      schema: routeSchema({
        tags: ['ops'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format)',
        responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      }),
    },
    async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}
