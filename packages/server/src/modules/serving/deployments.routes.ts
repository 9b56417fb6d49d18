import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  DeploymentJson,
  DeploymentRevisionJson,
  ErrorResponse,
  PredictionJson,
  ShadowSummaryJson,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import { deploymentJson, predictionJson, revisionJson, type BaseUrl } from './deployments-json.js';
import type { DeploymentsService, DeploymentView } from './deployments.service.js';
import type { PredictionsService } from './predictions.service.js';
import type { ServingEngine } from './serving-engine.js';

export interface DeploymentRoutesOptions {
  deployments: DeploymentsService;
  predictions: PredictionsService;
  engine: ServingEngine;
}

const TAGS = ['deployments'];
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const Name = Type.Object({ name: Type.String() });
const AnyBody = Type.Object({}, { additionalProperties: true });
const DeploymentAnswer = Type.Object({ deployment: DeploymentJson });

function baseOf(request: FastifyRequest): BaseUrl {
  return { protocol: request.protocol, hostname: request.hostname, host: request.host };
}

/** /api/v1/deployments — deployments, revisions, rollback, the prediction log and shadow summaries. */
export const deploymentRoutes: FastifyPluginAsync<DeploymentRoutesOptions> = async (instance, options) => {
  const { deployments, predictions, engine } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const doc = (summary: string, operationId: string) => ({ tags: TAGS, summary, operationId });
  const json = (request: FastifyRequest, view: DeploymentView) =>
    deploymentJson(view, { status: engine.status(view.deployment.name), base: baseOf(request) });

  app.post(
    '/deployments',
    {
      schema: {
        ...doc('Create a deployment', 'createDeployment'),
        body: AnyBody,
        response: { 201: DeploymentAnswer, ...errors },
      },
    },
    async (request, reply) => {
      const b = request.body as Record<string, unknown>;
      const view = await deployments.create({
        name: b['name'],
        project: b['project'],
        description: b['description'],
        model: b['model'],
        canary: b['canary'],
        shadows: b['shadows'],
        follow: b['follow'],
        settings: b['settings'],
        port: b['port'],
      });
      return reply.status(201).send({ deployment: json(request, view) });
    },
  );

  app.get(
    '/deployments',
    {
      schema: {
        ...doc('List deployments', 'listDeployments'),
        querystring: Type.Object({
          project: Type.Optional(Type.String()),
          max_results: Type.Optional(Type.String()),
          page_token: Type.Optional(Type.String()),
        }),
        response: {
          200: Type.Object({
            deployments: Type.Array(DeploymentJson),
            nextPageToken: Type.Optional(Type.String()),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await deployments.list({
        project: q.project,
        maxResults: q.max_results,
        pageToken: q.page_token,
      });
      return {
        deployments: page.items.map((view) => json(request, view)),
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    },
  );

  app.get(
    '/deployments/:name',
    {
      schema: {
        ...doc('Get a deployment', 'getDeployment'),
        params: Name,
        response: { 200: DeploymentAnswer, ...errors },
      },
    },
    async (request) => ({ deployment: json(request, await deployments.get(request.params.name)) }),
  );

  app.patch(
    '/deployments/:name',
    {
      schema: {
        ...doc(
          'Change routes, weights, shadows, follow mode or settings (a new revision)',
          'updateDeployment',
        ),
        params: Name,
        body: AnyBody,
        response: { 200: DeploymentAnswer, ...errors },
      },
    },
    async (request) => {
      const b = request.body as Record<string, unknown>;
      const view = await deployments.update({
        name: request.params.name,
        model: b['model'],
        canary: b['canary'],
        shadows: b['shadows'],
        follow: b['follow'],
        settings: b['settings'],
      });
      return { deployment: json(request, view) };
    },
  );

  app.post(
    '/deployments/:name/rollback',
    {
      schema: {
        ...doc('Serve an earlier revision again (a new revision)', 'rollbackDeployment'),
        params: Name,
        body: Type.Optional(AnyBody),
        response: { 200: DeploymentAnswer, ...errors },
      },
    },
    async (request) => {
      const b = (request.body ?? {}) as Record<string, unknown>;
      return {
        deployment: json(request, await deployments.rollback({ name: request.params.name, to: b['to'] })),
      };
    },
  );

  app.get(
    '/deployments/:name/revisions',
    {
      schema: {
        ...doc('List revisions, newest first', 'listDeploymentRevisions'),
        params: Name,
        querystring: Type.Object({ max_results: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ revisions: Type.Array(DeploymentRevisionJson) }), ...errors },
      },
    },
    async (request) => {
      const { name } = request.params;
      const current = await deployments.get(name);
      const rows = await deployments.revisions({ name, maxResults: request.query.max_results });
      return { revisions: rows.map((r) => revisionJson(r, current.deployment.currentRevision)) };
    },
  );

  app.delete(
    '/deployments/:name',
    {
      schema: {
        ...doc('Delete a deployment and its prediction log', 'deleteDeployment'),
        params: Name,
        response: { 200: Type.Object({}), ...errors },
      },
    },
    async (request) => {
      await deployments.delete(request.params.name);
      return {};
    },
  );

  app.get(
    '/deployments/:name/predictions',
    {
      schema: {
        ...doc('Sampled predictions, newest first, with ground truth', 'listPredictions'),
        params: Name,
        querystring: Type.Object({
          kind: Type.Optional(Type.String()),
          since: Type.Optional(Type.String()),
          until: Type.Optional(Type.String()),
          max_results: Type.Optional(Type.String()),
          page_token: Type.Optional(Type.String()),
        }),
        response: {
          200: Type.Object({
            predictions: Type.Array(PredictionJson),
            nextPageToken: Type.Optional(Type.String()),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await predictions.list({
        name: request.params.name,
        kind: q.kind,
        since: q.since,
        until: q.until,
        maxResults: q.max_results,
        pageToken: q.page_token,
      });
      return {
        predictions: page.items.map(predictionJson),
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    },
  );

  app.get(
    '/deployments/:name/shadow',
    {
      schema: {
        ...doc('How shadow versions compare with the live answers', 'shadowSummary'),
        params: Name,
        querystring: Type.Object({ since: Type.Optional(Type.String()) }),
        response: { 200: Type.Object({ shadows: Type.Array(ShadowSummaryJson) }), ...errors },
      },
    },
    async (request) => ({
      shadows: await predictions.shadowSummary({ name: request.params.name, since: request.query.since }),
    }),
  );
};
