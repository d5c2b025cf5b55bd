import type { ApiPlugin } from '../app.types';
import { routeSchema } from '../openapi/openapi.registry';

export const metricsRoutes: ApiPlugin = async (app) => {
  const { metrics } = app;
  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      config: { access: 'operator' },
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
};
