import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ErrorResponse, PipelineRunDetailJson, PipelineTriggerJson } from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { PipelineTriggersService } from './pipeline-triggers.service.js';
import { pipelineRunDetailJson, pipelineTriggerJson } from './pipelines-json.js';

const TAGS = ['pipelines'];
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const Name = Type.Object({ name: Type.String() });
const Project = Type.Object({ project: Type.Optional(Type.String()) });
const AnyBody = Type.Object({}, { additionalProperties: true });
const TriggerAnswer = Type.Object({ trigger: PipelineTriggerJson });

/** /api/v1/pipeline-triggers — cron schedules and dataset triggers that start pipeline runs. */
export const pipelineTriggerRoutes: FastifyPluginAsync<{ triggers: PipelineTriggersService }> = async (
  instance,
  { triggers },
) => {
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const doc = (summary: string, operationId: string) => ({ tags: TAGS, summary, operationId });

  app.post(
    '/pipeline-triggers',
    {
      schema: {
        ...doc('Save a schedule or dataset trigger for a pipeline', 'createPipelineTrigger'),
        body: AnyBody,
        response: { 201: TriggerAnswer, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body as Record<string, unknown>;
      const trigger = await triggers.create({
        name: b['name'],
        project: b['project'],
        definition: b['definition'],
        params: b['params'],
        executor: b['executor'],
        codeDigest: b['codeDigest'],
        schedule: b['schedule'],
        dataset: b['dataset'],
      });
      return reply.status(201).send({ trigger: pipelineTriggerJson(trigger) });
    },
  );

  app.get(
    '/pipeline-triggers',
    {
      schema: {
        ...doc('List pipeline triggers', 'listPipelineTriggers'),
        querystring: Project,
        response: { 200: Type.Object({ triggers: Type.Array(PipelineTriggerJson) }), ...errors },
      },
    },
    async (request) => ({ triggers: (await triggers.list(request.query)).map(pipelineTriggerJson) }),
  );

  app.get(
    '/pipeline-triggers/:name',
    {
      schema: {
        ...doc('Get a pipeline trigger', 'getPipelineTrigger'),
        params: Name,
        querystring: Project,
        response: { 200: TriggerAnswer, ...errors },
      },
    },
    async (request) => ({
      trigger: pipelineTriggerJson(
        await triggers.get({ name: request.params.name, project: request.query.project }),
      ),
    }),
  );

  app.patch(
    '/pipeline-triggers/:name',
    {
      schema: {
        ...doc('Pause or resume a pipeline trigger', 'updatePipelineTrigger'),
        params: Name,
        querystring: Project,
        body: AnyBody,
        response: { 200: TriggerAnswer, ...errors },
      },
    },
    async (request) => {
      const b = request.body as Record<string, unknown>;
      const trigger = await triggers.setEnabled({
        name: request.params.name,
        project: request.query.project,
        enabled: b['enabled'],
      });
      return { trigger: pipelineTriggerJson(trigger) };
    },
  );

  app.delete(
    '/pipeline-triggers/:name',
    {
      schema: {
        ...doc('Delete a pipeline trigger', 'deletePipelineTrigger'),
        params: Name,
        querystring: Project,
        response: { 200: Type.Object({}), ...errors },
      },
    },
    async (request) => {
      await triggers.delete({ name: request.params.name, project: request.query.project });
      return {};
    },
  );

  app.post(
    '/pipeline-triggers/:name/fire',
    {
      schema: {
        ...doc("Start the trigger's pipeline now", 'firePipelineTrigger'),
        params: Name,
        querystring: Project,
        response: { 201: Type.Object({ run: PipelineRunDetailJson }), ...errors },
      },
    },
    async (request, reply) => {
      const view = await triggers.fire({ name: request.params.name, project: request.query.project });
      return reply.status(201).send({ run: pipelineRunDetailJson(view.run, view.steps) });
    },
  );
};
