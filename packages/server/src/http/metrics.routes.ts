import type { FastifyInstance } from 'fastify';

export interface MetricsSource {
  exposition(): Promise<{ contentType: string; body: string }>;
}

/** Prometheus scrapes this; with auth on it needs a token like every other route. */
export function registerMetricsRoute(app: FastifyInstance, metrics: MetricsSource): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const { contentType, body } = await metrics.exposition();
    return reply.header('content-type', contentType).send(body);
  });
}
