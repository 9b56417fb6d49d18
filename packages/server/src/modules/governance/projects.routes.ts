import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  CreateProjectRequest,
  ErrorResponse,
  GrantRoleRequest,
  Project,
  ProjectList,
  ProjectMember,
  ProjectMemberList,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import { memberJson, projectJson } from './identity-json.js';
import type { ProjectsService } from './projects.service.js';

const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const PROJECTS = ['projects'];
const ProjectParams = Type.Object({ id: Type.String() });
const MemberParams = Type.Object({ id: Type.String(), user: Type.String(), role: Type.String() });
const NoContent = Type.Null({ description: 'Done; no content.' });

/** /api/v1/projects — the permission boundary and who holds which role there. */
export const projectRoutes: FastifyPluginAsync<{ projects: ProjectsService }> = async (instance, options) => {
  const { projects } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/projects',
    {
      schema: {
        tags: PROJECTS,
        summary: 'Create a project (Cairn admins)',
        operationId: 'createProject',
        body: CreateProjectRequest,
        response: { 201: Project, ...errors },
      },
    },
    async (request, reply) => reply.status(201).send(projectJson(await projects.create(request.body))),
  );

  app.get(
    '/projects',
    {
      schema: {
        tags: PROJECTS,
        summary: 'List the projects you may read',
        operationId: 'listProjects',
        response: { 200: ProjectList, ...errors },
      },
    },
    async () => ({ projects: (await projects.list()).map(projectJson) }),
  );

  app.get(
    '/projects/:id',
    {
      schema: {
        tags: PROJECTS,
        summary: 'Get a project',
        operationId: 'getProject',
        params: ProjectParams,
        response: { 200: Project, ...errors },
      },
    },
    async (request) => projectJson(await projects.get(request.params.id)),
  );

  app.get(
    '/projects/:id/members',
    {
      schema: {
        tags: PROJECTS,
        summary: 'Who holds which role in a project',
        operationId: 'listProjectMembers',
        params: ProjectParams,
        response: { 200: ProjectMemberList, ...errors },
      },
    },
    async (request) => ({ members: (await projects.members(request.params.id)).map(memberJson) }),
  );

  app.post(
    '/projects/:id/members',
    {
      schema: {
        tags: PROJECTS,
        summary: 'Grant a user a role in a project (project admins)',
        operationId: 'grantProjectRole',
        params: ProjectParams,
        body: GrantRoleRequest,
        response: { 201: ProjectMember, ...errors },
      },
    },
    async (request, reply) => {
      const { user, role } = request.body;
      const binding = await projects.grant({ projectId: request.params.id, user, role });
      return reply.status(201).send(memberJson(binding));
    },
  );

  app.delete(
    '/projects/:id/members/:user/:role',
    {
      schema: {
        tags: PROJECTS,
        summary: 'Revoke a role from a user in a project (project admins)',
        operationId: 'revokeProjectRole',
        params: MemberParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      const { id, user, role } = request.params;
      await projects.revoke({ projectId: id, user, role });
      return reply.status(204).send(null);
    },
  );
};
