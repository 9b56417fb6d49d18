import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  ApiToken,
  ApiTokenList,
  CreateApiTokenRequest,
  CreatedApiToken,
  CreateUserRequest,
  ErrorResponse,
  ListApiTokensQuery,
  User,
  UserList,
  WhoAmI,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { AccessControl } from './access-control.js';
import { tokenJson, userJson } from './identity-json.js';
import { projectRoutes } from './projects.routes.js';
import type { ProjectsService } from './projects.service.js';
import type { TokensService } from './tokens.service.js';
import type { UsersService } from './users.service.js';

export interface IdentityRoutesOptions {
  access: AccessControl;
  users: UsersService;
  tokens: TokensService;
  projects: ProjectsService;
}

const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const USERS = ['users'];
const TOKENS = ['tokens'];
const UserParams = Type.Object({ name: Type.String() });
const TokenParams = Type.Object({ id: Type.String() });

/** /api/v1 whoami, users and tokens; projects and members in projects.routes.ts. */
export const identityRoutes: FastifyPluginAsync<IdentityRoutesOptions> = async (instance, options) => {
  const { access, users, tokens } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/whoami',
    {
      schema: {
        tags: USERS,
        summary: 'Who the request is authenticated as, and the roles held per project',
        operationId: 'whoami',
        response: { 200: WhoAmI, ...errors },
      },
    },
    async () => {
      const caller = access.caller();
      const roles = [...caller.roles.entries()]
        .flatMap(([projectId, held]) => [...held].map((role) => ({ projectId, role })))
        .sort((a, b) => a.projectId.localeCompare(b.projectId) || a.role.localeCompare(b.role));
      return {
        user: caller.actor,
        isAdmin: caller.isAdmin,
        authEnabled: access.authEnabled,
        tokenId: caller.tokenId ?? null,
        roles,
      };
    },
  );

  app.post(
    '/users',
    {
      schema: {
        tags: USERS,
        summary: 'Create a user (Cairn admins)',
        operationId: 'createUser',
        body: CreateUserRequest,
        response: { 201: User, ...errors },
      },
    },
    async (request, reply) => reply.status(201).send(userJson(await users.create(request.body))),
  );

  app.get(
    '/users',
    {
      schema: {
        tags: USERS,
        summary: 'List users (Cairn admins)',
        operationId: 'listUsers',
        response: { 200: UserList, ...errors },
      },
    },
    async () => ({ users: (await users.list()).map(userJson) }),
  );

  for (const [verb, summary] of [
    ['disable', 'Disable a user: nothing they send is accepted until enabled again (Cairn admins)'],
    ['enable', 'Enable a disabled user (Cairn admins)'],
  ] as const) {
    app.post(
      `/users/:name/${verb}`,
      {
        schema: {
          tags: USERS,
          summary,
          operationId: `${verb}User`,
          params: UserParams,
          response: { 200: User, ...errors },
        },
      },
      async (request) => userJson(await users[verb](request.params.name)),
    );
  }

  app.post(
    '/tokens',
    {
      schema: {
        tags: TOKENS,
        summary: 'Create an API token; the answer holds its text, shown this once',
        description: 'Your own token, or (Cairn admins) another user’s with `user`.',
        operationId: 'createToken',
        body: CreateApiTokenRequest,
        response: { 201: CreatedApiToken, ...errors },
      },
    },
    async (request, reply) => {
      const created = await tokens.create(request.body);
      return reply.status(201).send({ ...tokenJson(created.info), token: created.token });
    },
  );

  app.get(
    '/tokens',
    {
      schema: {
        tags: TOKENS,
        summary: 'List your API tokens (Cairn admins: another user’s with `user`)',
        operationId: 'listTokens',
        querystring: ListApiTokensQuery,
        response: { 200: ApiTokenList, ...errors },
      },
    },
    async (request) => ({ tokens: (await tokens.list({ user: request.query.user })).map(tokenJson) }),
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        tags: TOKENS,
        summary: 'Revoke an API token (yours, or anyone’s for Cairn admins)',
        operationId: 'revokeToken',
        params: TokenParams,
        response: { 200: ApiToken, ...errors },
      },
    },
    async (request) => tokenJson(await tokens.revoke(request.params.id)),
  );

  await app.register(projectRoutes, { projects: options.projects });
};
