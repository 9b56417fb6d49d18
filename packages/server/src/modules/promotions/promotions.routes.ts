import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  CreatePromotionRequest,
  ErrorResponse,
  ListPromotionsQuery,
  PromotionDecision,
  PromotionList,
  PromotionRequest,
  type PromotionRequest as PromotionRequestJson,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { PromotionView } from './entities.js';
import type { PromotionsService } from './promotions.service.js';

const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const PROMOTIONS = ['promotions'];
const RequestParams = Type.Object({ id: Type.String() });

export function promotionJson(
  view: PromotionView,
  parsePolicy: (text: string) => unknown,
): PromotionRequestJson {
  const { request } = view;
  return {
    id: request.requestId,
    project: request.projectId,
    model: request.modelName,
    version: request.version,
    target: { kind: request.target.kind, name: request.target.name },
    archiveExisting: request.archiveExisting,
    requester: request.requester,
    reason: request.reason,
    status: view.status,
    policyVersion: request.policyVersion,
    policy: parsePolicy(request.policy) as PromotionRequestJson['policy'],
    checks: request.evaluation.checks.map((c) => ({ ...c, evidence: { ...c.evidence } })),
    passed: request.evaluation.passed,
    approvals: { ...request.evaluation.approvals },
    reviews: view.reviews.map(({ reviewer, decision, comment, createdAt }) => ({
      reviewer,
      decision,
      comment,
      createdAt,
    })),
    createdAt: request.createdAt,
    evaluatedAt: request.evaluation.evaluatedAt,
    expiresAt: request.expiresAt,
    decidedAt: request.decidedAt,
    decidedBy: request.decidedBy,
    decisionComment: request.decisionComment,
  };
}

/** /api/v1/promotions — asking for a protected alias or stage, and deciding. */
export const promotionRoutes: FastifyPluginAsync<{ promotions: PromotionsService }> = async (
  instance,
  options,
) => {
  const { promotions } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  // The stored policy is canonical JSON of the checked document: parsing it back is all the mapping needs.
  const toJson = (view: PromotionView) => promotionJson(view, (text) => JSON.parse(text));

  app.post(
    '/promotions',
    {
      schema: {
        tags: PROMOTIONS,
        summary: 'Ask for a model version to move to a protected alias or stage',
        description:
          'Needs the editor role in the model’s project. The checks of the project’s policy are evaluated ' +
          'at once, with their evidence; the label moves when the last approval arrives and every check passes.',
        operationId: 'createPromotionRequest',
        body: CreatePromotionRequest,
        response: { 201: PromotionRequest, ...errors },
      },
    },
    async (request, reply) => reply.status(201).send(toJson(await promotions.create(request.body))),
  );

  app.get(
    '/promotions',
    {
      schema: {
        tags: PROMOTIONS,
        summary: 'List promotion requests in the projects you may read, newest first',
        operationId: 'listPromotionRequests',
        querystring: ListPromotionsQuery,
        response: { 200: PromotionList, ...errors },
      },
    },
    async (request) => {
      const page = await promotions.list(request.query);
      return {
        promotions: page.items.map(toJson),
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    },
  );

  app.get(
    '/promotions/:id',
    {
      schema: {
        tags: PROMOTIONS,
        summary: 'One promotion request: each check with its evidence, the reviews, the expiry',
        operationId: 'getPromotionRequest',
        params: RequestParams,
        response: { 200: PromotionRequest, ...errors },
      },
    },
    async (request) => toJson(await promotions.get(request.params.id)),
  );

  const verbs = [
    ['approve', 'Approve (approvers; with four eyes, not the requester)'],
    ['reject', 'Reject, with a comment saying why (approvers); final'],
    ['cancel', 'Withdraw the request (its requester, or a project admin)'],
    ['evaluate', 'Re-run the checks with fresh evidence; applies the move if all pass'],
  ] as const;
  for (const [verb, summary] of verbs) {
    app.post(
      `/promotions/:id/${verb}`,
      {
        schema: {
          tags: PROMOTIONS,
          summary,
          operationId: `${verb}PromotionRequest`,
          params: RequestParams,
          body: PromotionDecision,
          response: { 200: PromotionRequest, ...errors },
        },
        // `curl -X POST …/approve` with no body at all is a decision without a comment.
        preValidation: async (request) => {
          request.body ??= {};
        },
      },
      async (request) => {
        const { id } = request.params;
        const { comment } = request.body;
        const view =
          verb === 'evaluate' ? await promotions.evaluate(id) : await promotions[verb](id, comment);
        return toJson(view);
      },
    );
  }
};
