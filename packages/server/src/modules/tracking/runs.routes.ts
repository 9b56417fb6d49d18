import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CairnError,
  CreateRunRequest,
  LogBatchRequest,
  LogInputsRequest,
  MetricHistory,
  MetricHistoryQuery,
  Run,
  RunInfo,
  RunList,
  RUN_TAGS,
  SearchRunsRequest,
  SetValueRequest,
  UpdateRunRequest,
} from '@cairn/contract';
import { type ArtifactService } from '../artifacts/index.js';
import { keyValueList, nativeRun, nativeRunInfo } from './native-json.js';
import { metricHistoryBody } from './history-json.js';
import { errors, NoContent, pageOf, RUNS, RunKeyParams, RunParams } from './native-route-schemas.js';
import type { ExperimentService } from './experiments.service.js';
import type { TrackingService } from './tracking.service.js';

export interface NativeRoutesOptions {
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
}

/** /api/v1/runs — runs, their params, metrics, tags and dataset inputs. */
export const runRoutes: FastifyPluginAsync<NativeRoutesOptions> = async (instance, options) => {
  const { tracking } = options;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  // ── runs ──
  app.post(
    '/runs',
    {
      schema: {
        tags: RUNS,
        summary: 'Start a run',
        description: `\`parentRunId\` is recorded as the tag \`${RUN_TAGS.parentRunId}\`.`,
        operationId: 'createRun',
        body: CreateRunRequest,
        response: { 201: Run, ...errors },
      },
    },
    async (request, reply) => {
      const { experimentId, runName, startTime, tags, parentRunId } = request.body;
      const given = tags?.[RUN_TAGS.parentRunId];
      if (parentRunId !== undefined && given !== undefined && given !== parentRunId) {
        throw new CairnError(
          'INVALID_ARGUMENT',
          `Both 'parentRunId' ("${parentRunId}") and tag '${RUN_TAGS.parentRunId}' ("${given}") were set and differ.`,
          { field: 'parentRunId' },
        );
      }
      const allTags = keyValueList({
        ...tags,
        ...(parentRunId === undefined ? {} : { [RUN_TAGS.parentRunId]: parentRunId }),
      });
      const run = await tracking.createRun({ experimentId, runName, startTime, tags: allTags });
      return reply.status(201).send(nativeRun(run));
    },
  );

  app.post(
    '/runs/search',
    {
      schema: {
        tags: RUNS,
        summary: 'Search runs of one or more experiments',
        operationId: 'searchRuns',
        body: SearchRunsRequest,
        response: { 200: RunList, ...errors },
      },
    },
    async (request) => {
      const page = await tracking.searchRuns(request.body);
      return pageOf('runs', page.items.map(nativeRun), page.nextPageToken);
    },
  );

  app.get(
    '/runs/:runId',
    {
      schema: {
        tags: RUNS,
        summary: 'Get a run with its params, tags, latest metrics and inputs',
        operationId: 'getRun',
        params: RunParams,
        response: { 200: Run, ...errors },
      },
    },
    async (request) => nativeRun(await tracking.getRun(request.params.runId)),
  );

  app.patch(
    '/runs/:runId',
    {
      schema: {
        tags: RUNS,
        summary: 'Update the status, end time or name of a run',
        operationId: 'updateRun',
        params: RunParams,
        body: UpdateRunRequest,
        response: { 200: RunInfo, ...errors },
      },
    },
    async (request) => nativeRunInfo(await tracking.updateRun(request.params.runId, request.body)),
  );

  app.delete(
    '/runs/:runId',
    {
      schema: {
        tags: RUNS,
        summary: 'Delete a run; restorable',
        operationId: 'deleteRun',
        params: RunParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await tracking.deleteRun(request.params.runId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/runs/:runId/restore',
    {
      schema: {
        tags: RUNS,
        summary: 'Restore a deleted run',
        operationId: 'restoreRun',
        params: RunParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await tracking.restoreRun(request.params.runId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/runs/:runId/log-batch',
    {
      schema: {
        tags: RUNS,
        summary: 'Log metrics, params and tags in one all-or-nothing request',
        description:
          'At most 1000 metrics, 100 params, 100 tags and 1000 items in total. A metric without ' +
          '`timestamp` gets the server time; without `step`, step 0.',
        operationId: 'logBatch',
        params: RunParams,
        body: LogBatchRequest,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      const { metrics, params, tags } = request.body;
      const now = Date.now();
      await tracking.logBatch(request.params.runId, {
        metrics: metrics?.map((m) => ({ ...m, timestamp: m.timestamp ?? now })),
        params,
        tags,
      });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/runs/:runId/metrics/:key',
    {
      schema: {
        tags: RUNS,
        summary: 'Get the history of one metric, ordered by step and time',
        operationId: 'getMetricHistory',
        params: RunKeyParams,
        querystring: MetricHistoryQuery,
        response: { 200: MetricHistory, ...errors },
      },
    },
    async (request, reply) => {
      const { runId, key } = request.params;
      const page = await tracking.getMetricHistory(runId, key, request.query);
      // Written as text (streamed when long); it matches MetricHistory, and
      // the response serializer is skipped for strings and streams.
      return reply.type('application/json; charset=utf-8').send(
        metricHistoryBody(page.items, {
          tokenField: 'nextPageToken',
          nextPageToken: page.nextPageToken,
        }) as unknown as MetricHistory,
      );
    },
  );

  app.put(
    '/runs/:runId/params/:key',
    {
      schema: {
        tags: RUNS,
        summary: 'Log a param (a param never changes once logged)',
        operationId: 'logParam',
        params: RunKeyParams,
        body: SetValueRequest,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await tracking.logParam(request.params.runId, request.params.key, request.body.value);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/runs/:runId/tags/:key',
    {
      schema: {
        tags: RUNS,
        summary: 'Set a run tag',
        operationId: 'setRunTag',
        params: RunKeyParams,
        body: SetValueRequest,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await tracking.setTag(request.params.runId, request.params.key, request.body.value);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/runs/:runId/tags/:key',
    {
      schema: {
        tags: RUNS,
        summary: 'Delete a run tag',
        operationId: 'deleteRunTag',
        params: RunKeyParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await tracking.deleteTag(request.params.runId, request.params.key);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/runs/:runId/inputs',
    {
      schema: {
        tags: RUNS,
        summary: 'Record the datasets a run used',
        operationId: 'logInputs',
        params: RunParams,
        body: LogInputsRequest,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await tracking.logInputs(
        request.params.runId,
        request.body.datasets.map((d) => ({ dataset: d.dataset, tags: d.tags ?? [] })),
      );
      return reply.status(204).send(null);
    },
  );
};
