import { Type, type Static } from '@sinclair/typebox';

/**
 * Users, API tokens, projects and their members as the native API
 * (/api/v1/users, /tokens, /projects, /whoami) sends them. Times are epoch
 * milliseconds. A token's secret appears in one answer only: its creation.
 */
export const PROJECT_ROLES = ['viewer', 'editor', 'approver', 'admin'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

const strict = { additionalProperties: false } as const;
const Time = Type.Integer({ description: 'Epoch milliseconds.' });
const TimeOrNull = Type.Union([Type.Integer(), Type.Null()]);

export const ProjectRole = Type.Union(
  PROJECT_ROLES.map((r) => Type.Literal(r)),
  {
    description:
      'viewer reads; editor writes experiments, runs, datasets and models and asks for promotions; ' +
      'approver decides promotion requests; admin also manages members and policies.',
  },
);

// Shapes are checked by the services, whose refusals say what a valid name looks like.
const UserName = Type.String({
  description: '1-64 lower-case letters, digits, `.`, `_` or `-`, starting with a letter or digit.',
});
const ProjectId = Type.String({
  description: '1-63 lower-case letters, digits, `_` or `-`, starting with a letter or digit.',
});

// ── entities ────────────────────────────────────────────────────────────────

export const User = Type.Object({
  name: Type.String(),
  displayName: Type.String(),
  email: Type.String(),
  isAdmin: Type.Boolean({ description: 'A Cairn admin: every project, users and the whole audit trail.' }),
  disabled: Type.Boolean(),
  disabledAt: TimeOrNull,
  createdAt: Time,
  createdBy: Type.String(),
});
export type User = Static<typeof User>;

export const UserList = Type.Object({ users: Type.Array(User) });
export type UserList = Static<typeof UserList>;

export const ApiToken = Type.Object({
  id: Type.String({ description: 'The 16 hex characters after `cairn_` in the token text; not a secret.' }),
  name: Type.String(),
  user: Type.String({ description: 'The owner.' }),
  createdAt: Time,
  expiresAt: TimeOrNull,
  revokedAt: TimeOrNull,
  lastUsedAt: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Updated at most once a minute.',
  }),
});
export type ApiToken = Static<typeof ApiToken>;

export const CreatedApiToken = Type.Object({
  ...ApiToken.properties,
  token: Type.String({
    description: 'The whole token. Shown once: only a salted hash of its secret is stored.',
  }),
});
export type CreatedApiToken = Static<typeof CreatedApiToken>;

export const ApiTokenList = Type.Object({ tokens: Type.Array(ApiToken) });
export type ApiTokenList = Static<typeof ApiTokenList>;

export const Project = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  createdAt: Time,
  createdBy: Type.String(),
});
export type Project = Static<typeof Project>;

export const ProjectList = Type.Object({ projects: Type.Array(Project) });
export type ProjectList = Static<typeof ProjectList>;

export const ProjectMember = Type.Object({
  user: Type.String(),
  role: ProjectRole,
  createdAt: Time,
  createdBy: Type.String(),
});
export type ProjectMember = Static<typeof ProjectMember>;

export const ProjectMemberList = Type.Object({ members: Type.Array(ProjectMember) });
export type ProjectMemberList = Static<typeof ProjectMemberList>;

export const WhoAmI = Type.Object({
  user: Type.String({ description: 'User name; `local` when authentication is off.' }),
  isAdmin: Type.Boolean(),
  authEnabled: Type.Boolean(),
  tokenId: Type.Union([Type.String(), Type.Null()]),
  roles: Type.Array(Type.Object({ projectId: Type.String(), role: ProjectRole })),
});
export type WhoAmI = Static<typeof WhoAmI>;

// ── requests ────────────────────────────────────────────────────────────────

export const CreateUserRequest = Type.Object(
  {
    name: UserName,
    displayName: Type.Optional(Type.String({ maxLength: 200 })),
    email: Type.Optional(Type.String({ maxLength: 200 })),
    isAdmin: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type CreateUserRequest = Static<typeof CreateUserRequest>;

export const CreateApiTokenRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    expiresInDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
    expiresAt: Type.Optional(Type.String({ description: 'ISO 8601 date or time, e.g. `2027-01-31`.' })),
    user: Type.Optional(
      Type.String({ description: 'Owner; someone other than the caller needs a Cairn admin.' }),
    ),
  },
  strict,
);
export type CreateApiTokenRequest = Static<typeof CreateApiTokenRequest>;

export const ListApiTokensQuery = Type.Object(
  { user: Type.Optional(Type.String({ description: 'Another user’s tokens (Cairn admins).' })) },
  strict,
);

export const CreateProjectRequest = Type.Object(
  {
    id: ProjectId,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  strict,
);
export type CreateProjectRequest = Static<typeof CreateProjectRequest>;

export const GrantRoleRequest = Type.Object({ user: UserName, role: ProjectRole }, strict);
export type GrantRoleRequest = Static<typeof GrantRoleRequest>;
