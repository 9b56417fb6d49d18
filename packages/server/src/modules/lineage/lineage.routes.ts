import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ErrorResponse,
  LINEAGE_LIMITS,
  LineageGraph,
  LineageNodeParams,
  LineageWalkQuery,
  OpenLineageEvents,
  OpenLineageQuery,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { LineageService } from './lineage.service.js';

export interface LineageRoutesOptions {
  lineage: LineageService;
}

const LINEAGE = ['lineage'];
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const NODE =
  'The node is named by its kind and id, e.g. `/lineage/model_version/<id>`; an unknown id gives a graph of that node alone.';

/** /api/v1/lineage — walks of the lineage graph and its OpenLineage export. */
export const lineageRoutes: FastifyPluginAsync<LineageRoutesOptions> = async (instance, options) => {
  const { lineage } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/lineage/:kind/:id/upstream',
    {
      schema: {
        tags: LINEAGE,
        summary: 'What a node came from, up to a depth',
        description: `${NODE} At most ${LINEAGE_LIMITS.maxEdges} edges, nearest first.`,
        operationId: 'getLineageUpstream',
        params: LineageNodeParams,
        querystring: LineageWalkQuery,
        response: { 200: LineageGraph, ...errors },
      },
    },
    async (request) => lineage.upstream(request.params, request.query),
  );

  app.get(
    '/lineage/:kind/:id/downstream',
    {
      schema: {
        tags: LINEAGE,
        summary: 'What a node went into, up to a depth',
        description: `${NODE} At most ${LINEAGE_LIMITS.maxEdges} edges, nearest first.`,
        operationId: 'getLineageDownstream',
        params: LineageNodeParams,
        querystring: LineageWalkQuery,
        response: { 200: LineageGraph, ...errors },
      },
    },
    async (request) => lineage.downstream(request.params, request.query),
  );

  app.get(
    '/lineage/:kind/:id/provenance',
    {
      schema: {
        tags: LINEAGE,
        summary: 'The full provenance of a node (a model version) in one call',
        description: `Everything upstream, up to ${LINEAGE_LIMITS.maxDepth} edges away and ${LINEAGE_LIMITS.maxEdges} edges in all. ${NODE}`,
        operationId: 'getLineageProvenance',
        params: LineageNodeParams,
        response: { 200: LineageGraph, ...errors },
      },
    },
    async (request) => lineage.provenance(request.params),
  );

  app.get(
    '/lineage/:kind/:id/openlineage',
    {
      schema: {
        tags: LINEAGE,
        summary: 'The runs around a node as OpenLineage 2-0-2 run events',
        description: `One RunEvent per run in the walked graph, with its input datasets and produced outputs. ${NODE}`,
        operationId: 'getLineageOpenLineage',
        params: LineageNodeParams,
        querystring: OpenLineageQuery,
        response: { 200: OpenLineageEvents, ...errors },
      },
    },
    async (request) => ({ events: await lineage.openLineage(request.params, request.query) }),
  );
};
