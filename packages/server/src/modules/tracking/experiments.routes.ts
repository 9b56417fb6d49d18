import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CreateExperimentRequest,
  Experiment,
  ExperimentList,
  ListExperimentsQuery,
  RenameExperimentRequest,
  SetValueRequest,
} from '@cairn/contract';
import { type ArtifactService } from '../artifacts/index.js';
import { keyValueList, nativeExperiment } from './native-json.js';

import {
  errors,
  EXPERIMENTS,
  ExperimentParams,
  ExperimentTagParams,
  NoContent,
  pageOf,
} from './native-route-schemas.js';
import type { ExperimentService } from './experiments.service.js';
import type { TrackingService } from './tracking.service.js';

export interface NativeRoutesOptions {
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
}

/** /api/v1/experiments — create, read, search, rename, delete, restore, tags. */
export const experimentRoutes: FastifyPluginAsync<NativeRoutesOptions> = async (instance, options) => {
  const { experiments } = options;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  // ── experiments ──
  app.post(
    '/experiments',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Create an experiment',
        operationId: 'createExperiment',
        body: CreateExperimentRequest,
        response: { 201: Experiment, ...errors },
      },
    },
    async (request, reply) => {
      const { name, artifactLocation, tags, project } = request.body;
      const experiment = await experiments.createExperiment({
        name,
        artifactLocation,
        tags: keyValueList(tags),
        project,
      });
      return reply.status(201).send(nativeExperiment(experiment));
    },
  );

  app.get(
    '/experiments',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'List or search experiments',
        operationId: 'listExperiments',
        querystring: ListExperimentsQuery,
        response: { 200: ExperimentList, ...errors },
      },
    },
    async (request) => {
      const page = await experiments.searchExperiments(request.query);
      return pageOf('experiments', page.items.map(nativeExperiment), page.nextPageToken);
    },
  );

  app.get(
    '/experiments/by-name/:name',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Get an experiment by name',
        operationId: 'getExperimentByName',
        params: Type.Object({ name: Type.String() }),
        response: { 200: Experiment, ...errors },
      },
    },
    async (request) => nativeExperiment(await experiments.getExperimentByName(request.params.name)),
  );

  app.get(
    '/experiments/:experimentId',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Get an experiment',
        operationId: 'getExperiment',
        params: ExperimentParams,
        response: { 200: Experiment, ...errors },
      },
    },
    async (request) => nativeExperiment(await experiments.getExperiment(request.params.experimentId)),
  );

  app.patch(
    '/experiments/:experimentId',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Rename an experiment',
        operationId: 'renameExperiment',
        params: ExperimentParams,
        body: RenameExperimentRequest,
        response: { 200: Experiment, ...errors },
      },
    },
    async (request) =>
      nativeExperiment(await experiments.renameExperiment(request.params.experimentId, request.body.name)),
  );

  app.delete(
    '/experiments/:experimentId',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Delete an experiment (and mark its runs deleted); restorable',
        operationId: 'deleteExperiment',
        params: ExperimentParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await experiments.deleteExperiment(request.params.experimentId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/experiments/:experimentId/restore',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Restore a deleted experiment and its runs',
        operationId: 'restoreExperiment',
        params: ExperimentParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await experiments.restoreExperiment(request.params.experimentId);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/experiments/:experimentId/tags/:key',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Set an experiment tag',
        operationId: 'setExperimentTag',
        params: ExperimentTagParams,
        body: SetValueRequest,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      const { experimentId, key } = request.params;
      await experiments.setExperimentTag(experimentId, key, request.body.value);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/experiments/:experimentId/tags/:key',
    {
      schema: {
        tags: EXPERIMENTS,
        summary: 'Delete an experiment tag',
        operationId: 'deleteExperimentTag',
        params: ExperimentTagParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await experiments.deleteExperimentTag(request.params.experimentId, request.params.key);
      return reply.status(204).send(null);
    },
  );
};
