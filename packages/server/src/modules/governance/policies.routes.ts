import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  ErrorResponse,
  ProjectPolicy,
  ProjectPolicyHistory,
  SetPolicyRequest,
  type ProjectPolicy as ProjectPolicyJson,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { EffectivePolicy, PoliciesService } from './policies.service.js';
import { policyJson } from './policy-document.js';

const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const POLICIES = ['policies'];
const ProjectParams = Type.Object({ id: Type.String() });

export function policyResponse(view: EffectivePolicy): ProjectPolicyJson {
  return {
    project: view.projectId,
    version: view.version,
    isDefault: view.isDefault,
    document: policyJson(view.policy),
    source: view.source,
    format: view.sourceFormat,
    comment: view.comment,
    createdAt: view.createdAt,
    createdBy: view.createdBy,
  };
}

/** /api/v1/projects/:id/policy — what a project protects and what promotions to it must pass. */
export const policyRoutes: FastifyPluginAsync<{ policies: PoliciesService }> = async (instance, options) => {
  const { policies } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/projects/:id/policy',
    {
      schema: {
        tags: POLICIES,
        summary: 'The policy in force: the latest stored version, or the default for this server’s mode',
        operationId: 'getProjectPolicy',
        params: ProjectParams,
        response: { 200: ProjectPolicy, ...errors },
      },
    },
    async (request) => policyResponse(await policies.get(request.params.id)),
  );

  app.put(
    '/projects/:id/policy',
    {
      schema: {
        tags: POLICIES,
        summary: 'Store a new version of the project’s policy (project admins)',
        description:
          'Send `{ "document": {…} }`, or `{ "source": "<YAML or JSON text>", "format": "yaml" }`; ' +
          'unknown keys are refused and every error names the path at fault.',
        operationId: 'setProjectPolicy',
        params: ProjectParams,
        body: SetPolicyRequest,
        response: { 200: ProjectPolicy, ...errors },
      },
    },
    async (request) => policyResponse(await policies.set({ projectId: request.params.id, ...request.body })),
  );

  app.get(
    '/projects/:id/policy/history',
    {
      schema: {
        tags: POLICIES,
        summary: 'Every stored version of the project’s policy, newest first',
        operationId: 'listProjectPolicyHistory',
        params: ProjectParams,
        response: { 200: ProjectPolicyHistory, ...errors },
      },
    },
    async (request) => ({ policies: (await policies.history(request.params.id)).map(policyResponse) }),
  );
};
