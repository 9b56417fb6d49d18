import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  ErrorResponse,
  PIPELINE_LIMITS,
  PipelineRunDetailJson,
  PipelineRunJson,
  TREE_FRAMES_CONTENT_TYPE,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { CodePackagesService } from './code-packages.service.js';
import type { PipelineFilesService } from './pipeline-files.service.js';
import type { PipelineRunsService } from './pipeline-runs.service.js';
import { pipelineRunDetailJson, pipelineRunJson } from './pipelines-json.js';

export interface PipelineRoutesOptions {
  runs: PipelineRunsService;
  files: PipelineFilesService;
  code: CodePackagesService;
}

const TAGS = ['pipelines'];
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const RunId = Type.Object({ run: Type.String() });
const AnyBody = Type.Object({}, { additionalProperties: true });
const RunAnswer = Type.Object({ run: PipelineRunDetailJson });
const Binary = Type.Unsafe<Buffer>({ type: 'string', format: 'binary' });

/** /api/v1/pipeline-runs and /api/v1/pipeline-code — start, follow, cancel and resume runs; read outputs and logs. */
export const pipelineRoutes: FastifyPluginAsync<PipelineRoutesOptions> = async (instance, options) => {
  const { runs, files, code } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const doc = (summary: string, operationId: string) => ({ tags: TAGS, summary, operationId });

  app.addContentTypeParser(
    TREE_FRAMES_CONTENT_TYPE,
    { parseAs: 'buffer', bodyLimit: PIPELINE_LIMITS.maxCodeBytes + PIPELINE_LIMITS.maxCodeFiles * 4200 },
    (_request, body, done) => done(null, body),
  );
  app.post(
    '/pipeline-code',
    {
      schema: {
        ...doc('Upload a code package (a folder, framed)', 'uploadPipelineCode'),
        querystring: Type.Object({ project: Type.Optional(Type.String()) }),
        body: { content: { [TREE_FRAMES_CONTENT_TYPE]: { schema: Binary } } },
        response: {
          201: Type.Object({ digest: Type.String(), files: Type.Integer(), sizeBytes: Type.Integer() }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const stored = await code.store({ body: request.body as Buffer, project: request.query.project });
      return reply.status(201).send(stored);
    },
  );

  app.post(
    '/pipeline-runs',
    {
      schema: {
        ...doc('Start a pipeline run', 'startPipelineRun'),
        body: AnyBody,
        response: { 201: RunAnswer, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body as Record<string, unknown>;
      const view = await runs.start({
        definition: b['definition'],
        params: b['params'],
        executor: b['executor'],
        noCache: b['noCache'],
        project: b['project'],
        codeDigest: b['codeDigest'],
      });
      return reply.status(201).send({ run: pipelineRunDetailJson(view.run, view.steps) });
    },
  );

  app.get(
    '/pipeline-runs',
    {
      schema: {
        ...doc('List pipeline runs, newest first', 'listPipelineRuns'),
        querystring: Type.Object({
          project: Type.Optional(Type.String()),
          pipeline: Type.Optional(Type.String()),
          status: Type.Optional(Type.String()),
          max_results: Type.Optional(Type.String()),
          page_token: Type.Optional(Type.String()),
        }),
        response: {
          200: Type.Object({
            runs: Type.Array(PipelineRunJson),
            nextPageToken: Type.Optional(Type.String()),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await runs.list({
        project: q.project,
        pipeline: q.pipeline,
        status: q.status,
        maxResults: q.max_results,
        pageToken: q.page_token,
      });
      return {
        runs: page.items.map(({ run, counts }) => pipelineRunJson(run, counts)),
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    },
  );

  app.get(
    '/pipeline-runs/:run',
    {
      schema: {
        ...doc('Get a pipeline run with its steps', 'getPipelineRun'),
        params: RunId,
        response: { 200: RunAnswer, ...errors },
      },
    },
    async (request) => {
      const view = await runs.get(request.params.run);
      return { run: pipelineRunDetailJson(view.run, view.steps) };
    },
  );

  app.post(
    '/pipeline-runs/:run/cancel',
    {
      schema: {
        ...doc('Cancel a pipeline run', 'cancelPipelineRun'),
        params: RunId,
        response: { 200: Type.Object({ run: PipelineRunJson }), ...errors },
      },
    },
    async (request) => {
      const run = await runs.cancel(request.params.run);
      return { run: pipelineRunJson(run, await runs.counts(run)) };
    },
  );

  app.post(
    '/pipeline-runs/:run/resume',
    {
      schema: {
        ...doc('Resume a failed or cancelled run', 'resumePipelineRun'),
        params: RunId,
        response: { 200: RunAnswer, ...errors },
      },
    },
    async (request) => {
      const view = await runs.resume(request.params.run);
      return { run: pipelineRunDetailJson(view.run, view.steps) };
    },
  );

  app.get(
    '/pipeline-runs/:run/logs',
    {
      schema: {
        ...doc("A step's stdout or stderr", 'getPipelineStepLog'),
        params: RunId,
        querystring: Type.Object({ step: Type.String(), stream: Type.Optional(Type.String()) }),
      },
    },
    async (request, reply) => {
      const log = await files.openLog({
        run: request.params.run,
        step: request.query.step,
        stream: request.query.stream,
      });
      return reply
        .header('content-type', 'text/plain; charset=utf-8')
        .header('content-length', String(log.sizeBytes))
        .send(log.body);
    },
  );

  app.get(
    '/pipeline-runs/:run/outputs/:step/:output',
    {
      schema: {
        ...doc(
          "A step's output: a file's bytes, or a directory's manifest (one file of it with ?path=)",
          'getPipelineOutput',
        ),
        params: Type.Object({ run: Type.String(), step: Type.String(), output: Type.String() }),
        querystring: Type.Object({ path: Type.Optional(Type.String()) }),
      },
    },
    async (request, reply) => {
      const content = await files.openOutput({ ...request.params, path: request.query.path });
      if (content.type === 'dir') {
        return reply
          .header('x-cairn-output-type', 'dir')
          .header('content-type', 'application/json')
          .send(content.tree);
      }
      return reply
        .header('x-cairn-output-type', 'file')
        .header('x-cairn-digest', content.digest)
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(content.sizeBytes))
        .send(content.body);
    },
  );
};
