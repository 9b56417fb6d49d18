import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import {
  ArtifactListing,
  ArtifactListQuery,
  ArtifactUploadResult,
  CairnError,
  CreateExperimentRequest,
  CreateRunRequest,
  ErrorResponse,
  Experiment,
  ExperimentList,
  ListExperimentsQuery,
  LogBatchRequest,
  LogInputsRequest,
  MetricHistory,
  MetricHistoryQuery,
  RenameExperimentRequest,
  Run,
  RunInfo,
  RunList,
  RUN_TAGS,
  SearchRunsRequest,
  SetValueRequest,
  UpdateRunRequest,
} from '@cairn/contract';
import {
  joinArtifactPath,
  normalizeArtifactPath,
  sendArtifact,
  type ArtifactService,
} from '../artifacts/index.js';
import {
  keyValueList,
  nativeArtifactEntry,
  nativeExperiment,
  nativeRun,
  nativeRunInfo,
} from './native-json.js';
import { metricHistoryBody } from './history-json.js';
import type { TrackingService } from './tracking.service.js';

export interface TrackingRoutesOptions {
  tracking: TrackingService;
  artifacts: ArtifactService;
}

// ── schemas used only here ───────────────────────────────────────────────────

const ExperimentParams = Type.Object({ experimentId: Type.String() });
const ExperimentTagParams = Type.Object({ experimentId: Type.String(), key: Type.String() });
const RunParams = Type.Object({ runId: Type.String() });
const RunKeyParams = Type.Object({ runId: Type.String(), key: Type.String() });
const ArtifactParams = Type.Object({
  runId: Type.String(),
  '*': Type.String({ description: 'Artifact path below the run root, e.g. `model/model.onnx`.' }),
});
const Binary = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
const NoContent = Type.Null({ description: 'Done; no content.' });
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };

const EXPERIMENTS = ['experiments'];
const RUNS = ['runs'];
const ARTIFACTS = ['artifacts'];

// ── validation ───────────────────────────────────────────────────────────────

/**
 * Request validation for the native routes. Bodies are checked as sent (no
 * type coercion: `"5"` is not a number, `true` is not a metric value);
 * query strings and path parameters, which only carry text, have integers
 * parsed and single values of list parameters wrapped. Errors are reported in
 * Ajv's shape so the shared error handler words them like every other 400.
 */
const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if ((schema as { format?: unknown }).format === 'binary') return () => true;
  const check = TypeCompiler.Compile(schema);
  return (raw: unknown) => {
    const value = httpPart === 'body' ? raw : parseTextFields(schema, raw);
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    return { error: [first === undefined ? ajvError('type', '', { message: 'invalid' }) : ajvLike(first)] };
  };
};

function parseTextFields(schema: TSchema, raw: unknown): unknown {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (properties === undefined || typeof raw !== 'object' || raw === null) return raw;
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const [name, property] of Object.entries(properties)) {
    const value = out[name];
    if (property.type === 'integer' && typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
      out[name] = Number(value);
    } else if (property.type === 'array' && value !== undefined && !Array.isArray(value)) {
      out[name] = [value];
    }
  }
  return out;
}

const ajvError = (
  keyword: string,
  instancePath: string,
  extra: { params?: Record<string, unknown>; message?: string },
): FastifySchemaValidationError => ({
  keyword,
  instancePath,
  schemaPath: '',
  params: extra.params ?? {},
  message: extra.message,
});

function ajvLike(error: ValueError): FastifySchemaValidationError {
  const slash = error.path.lastIndexOf('/');
  const parent = error.path.slice(0, Math.max(slash, 0));
  const name = error.path
    .slice(slash + 1)
    .replaceAll('~1', '/')
    .replaceAll('~0', '~');
  if (error.type === ValueErrorType.ObjectRequiredProperty) {
    return ajvError('required', parent, { params: { missingProperty: name } });
  }
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    return ajvError('additionalProperties', parent, { params: { additionalProperty: name } });
  }
  const choices = (error.schema as { anyOf?: Array<{ const?: unknown }> }).anyOf;
  const message =
    choices !== undefined && choices.every((c) => typeof c.const === 'string')
      ? `must be one of ${choices.map((c) => String(c.const)).join(', ')}`
      : error.message.replace(/^Expected/, 'expected');
  return ajvError('type', error.path, { message });
}

// ── routes ───────────────────────────────────────────────────────────────────

const pageOf = <K extends string, T>(
  field: K,
  items: T[],
  nextPageToken: string | undefined,
): Record<K, T[]> & { nextPageToken?: string } =>
  ({
    [field]: items,
    ...(nextPageToken === undefined ? {} : { nextPageToken }),
  }) as Record<K, T[]> & { nextPageToken?: string };

/**
 * Native API /api/v1 — experiments, runs, metrics, artifacts. Routes are thin:
 * the schemas check shapes, the services check values and rules, and the
 * mappers in native-json.ts shape the answers.
 */
export const trackingRoutes: FastifyPluginAsync<TrackingRoutesOptions> = async (instance, options) => {
  const { tracking, artifacts } = options;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);

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
      const { name, artifactLocation, tags } = request.body;
      const experiment = await tracking.createExperiment({
        name,
        artifactLocation,
        tags: keyValueList(tags),
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
      const page = await tracking.searchExperiments(request.query);
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
    async (request) => nativeExperiment(await tracking.getExperimentByName(request.params.name)),
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
    async (request) => nativeExperiment(await tracking.getExperiment(request.params.experimentId)),
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
      nativeExperiment(await tracking.renameExperiment(request.params.experimentId, request.body.name)),
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
      await tracking.deleteExperiment(request.params.experimentId);
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
      await tracking.restoreExperiment(request.params.experimentId);
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
      await tracking.setExperimentTag(experimentId, key, request.body.value);
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
      await tracking.deleteExperimentTag(request.params.experimentId, request.params.key);
      return reply.status(204).send(null);
    },
  );

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

  // ── artifacts of a run ──
  app.get(
    '/runs/:runId/artifacts',
    {
      schema: {
        tags: ARTIFACTS,
        summary: 'List one folder of a run’s artifacts',
        operationId: 'listArtifacts',
        params: RunParams,
        querystring: ArtifactListQuery,
        response: { 200: ArtifactListing, ...errors },
      },
    },
    async (request) => {
      const info = await tracking.getRunInfo(request.params.runId);
      const entries = await artifacts.list({ root: tracking.artifactRootOf(info), path: request.query.path });
      return { rootUri: info.artifactUri, files: entries.map(nativeArtifactEntry) };
    },
  );

  app.get(
    '/runs/:runId/artifacts/*',
    {
      schema: {
        tags: ARTIFACTS,
        summary: 'Download one artifact file',
        operationId: 'downloadArtifact',
        params: ArtifactParams,
        response: { 200: { content: { 'application/octet-stream': { schema: Binary } } }, ...errors },
      },
    },
    async (request, reply) => {
      const info = await tracking.getRunInfo(request.params.runId);
      const path = artifactFilePath(request.params['*']);
      return sendArtifact(reply, artifacts, joinArtifactPath(tracking.artifactRootOf(info), path));
    },
  );

  // Uploads are raw bytes of any type: this child plugin alone keeps the body as a stream.
  await app.register(async (child) => {
    const uploads = child.withTypeProvider<TypeBoxTypeProvider>();
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    uploads.put(
      '/runs/:runId/artifacts/*',
      {
        schema: {
          tags: ARTIFACTS,
          summary: 'Upload one artifact file (raw bytes, streamed)',
          description:
            'Any content type; the body is stored as is. An existing file at the path is replaced.',
          operationId: 'uploadArtifact',
          params: ArtifactParams,
          body: { content: { 'application/octet-stream': { schema: Binary } } },
          response: { 201: ArtifactUploadResult, ...errors },
        },
      },
      async (request, reply) => {
        const info = await tracking.getActiveRun(request.params.runId);
        const root = tracking.artifactRootOf(info);
        const path = artifactFilePath(request.params['*']);
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        const file = await artifacts.upload(joinArtifactPath(root, path), body);
        return reply.status(201).send({ path, sizeBytes: file.sizeBytes, digest: file.digest });
      },
    );
  });
};

/** The path of a file below a run's root: normalised first, so it can never climb out of the root. */
function artifactFilePath(raw: string): string {
  const path = normalizeArtifactPath(raw);
  if (path === '') {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'The artifact path must name a file; list folders with GET /api/v1/runs/{runId}/artifacts?path=…',
      { field: 'path' },
    );
  }
  return path;
}
