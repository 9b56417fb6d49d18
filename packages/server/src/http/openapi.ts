import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/** OpenAPI for the native API only; MLflow and v2 routes follow their own published specs. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Cairn API',
        version: '1.0.0',
        description: 'Native REST API of Cairn, the open ModelOps platform.',
      },
      servers: [],
    },
    hiddenTag: 'hidden',
    hideUntagged: false,
    transform: ({ schema, url }) => {
      if (!url.startsWith('/api/v1')) return { schema: { ...schema, hide: true }, url };
      return { schema, url };
    },
  });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
