import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  ApiToken,
  ApiTokenList,
  CreatedApiToken,
  ErrorResponse,
  Project,
  ProjectList,
  ProjectMember,
  ProjectMemberList,
  User,
  UserList,
  WhoAmI,
} from '@cairn/contract';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSqlStores, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';

const ADMIN_TOKEN = 'routes-admin-token-0123456789abcdef0123456789abcdef';
const API = '/api/v1';
type Method = 'GET' | 'POST' | 'DELETE';

function expectSchema(schema: TSchema, body: unknown): void {
  const first = Value.Errors(schema, body).First();
  expect(first === undefined ? 'ok' : `${first.path}: ${first.message}`).toBe('ok');
}

describeEachDatabase('native identity API /api/v1 users, tokens, projects', ({ database }) => {
  let t: TestApp;
  let stores: MetadataStores;
  const tokens = new Map<string, string>([['admin', ADMIN_TOKEN]]);

  async function api(who: string, method: Method, path: string, payload?: unknown) {
    const response = await t.app.inject({
      method,
      url: API + path,
      headers: {
        authorization: `Bearer ${tokens.get(who) ?? 'no-such-caller'}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    return { status: response.statusCode, body: response.body === '' ? undefined : response.json() };
  }

  /** Identity rows and the audit head: a refused request must change none of them. */
  const snapshot = async () => ({
    users: await stores.identity.listUsers(),
    tokens: await stores.identity.listTokens(undefined),
    projects: await stores.identity.listProjects('all'),
    members: await stores.identity.listBindings('ml'),
  });

  beforeAll(async () => {
    t = await createTestApp(database(), { env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN } });
    stores = createSqlStores(database().db, database().helpers);
  });
  afterAll(async () => {
    await t.close();
  });

  it('walks the happy path of every route, answering in the contract’s shapes', async () => {
    const created = await api('admin', 'POST', '/users', {
      name: 'vera',
      displayName: 'Vera V',
      email: 'vera@example.com',
    });
    expect(created.status).toBe(201);
    expectSchema(User, created.body);
    expect(created.body).toMatchObject({ name: 'vera', isAdmin: false, disabled: false, createdBy: 'admin' });
    expect((await api('admin', 'POST', '/users', { name: 'olga', isAdmin: true })).body.isAdmin).toBe(true);

    const users = await api('admin', 'GET', '/users');
    expectSchema(UserList, users.body);
    expect(users.body.users.map((u: any) => u.name)).toEqual(['admin', 'olga', 'vera']);

    const token = await api('admin', 'POST', '/tokens', { user: 'vera', name: 'ci', expiresInDays: 7 });
    expect(token.status).toBe(201);
    expectSchema(CreatedApiToken, token.body);
    tokens.set('vera', token.body.token);
    const own = await api('vera', 'POST', '/tokens', { name: 'laptop' });
    expect(own.body).toMatchObject({ user: 'vera', name: 'laptop', expiresAt: null });

    const whoami = await api('vera', 'GET', '/whoami');
    expectSchema(WhoAmI, whoami.body);
    expect(whoami.body).toEqual({
      user: 'vera',
      isAdmin: false,
      authEnabled: true,
      tokenId: token.body.id,
      roles: [],
    });

    const list = await api('vera', 'GET', '/tokens');
    expectSchema(ApiTokenList, list.body);
    expect(list.body.tokens.map((x: any) => x.name)).toEqual(['ci', 'laptop']);
    expect(list.body.tokens[0].lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(token.body.token);
    expect((await api('admin', 'GET', '/tokens?user=vera')).body.tokens).toHaveLength(2);

    const revoked = await api('vera', 'DELETE', `/tokens/${own.body.id}`);
    expect(revoked.status).toBe(200);
    expectSchema(ApiToken, revoked.body);
    expect(revoked.body.revokedAt).not.toBeNull();

    const project = await api('admin', 'POST', '/projects', { id: 'ml', description: 'models' });
    expect(project.status).toBe(201);
    expectSchema(Project, project.body);
    expect(project.body).toEqual({
      id: 'ml',
      name: 'ml',
      description: 'models',
      createdAt: expect.any(Number),
      createdBy: 'admin',
    });
    const granted = await api('admin', 'POST', '/projects/ml/members', { user: 'vera', role: 'approver' });
    expect(granted.status).toBe(201);
    expectSchema(ProjectMember, granted.body);
    expect((await api('vera', 'GET', '/whoami')).body.roles).toEqual([{ projectId: 'ml', role: 'approver' }]);

    const projects = await api('vera', 'GET', '/projects');
    expectSchema(ProjectList, projects.body);
    expect(projects.body.projects.map((p: any) => p.id)).toEqual(['ml']);
    expect((await api('vera', 'GET', '/projects/ml')).body.description).toBe('models');
    const members = await api('vera', 'GET', '/projects/ml/members');
    expectSchema(ProjectMemberList, members.body);
    expect(members.body.members).toMatchObject([{ user: 'vera', role: 'approver', createdBy: 'admin' }]);

    expect((await api('admin', 'DELETE', '/projects/ml/members/vera/approver')).status).toBe(204);
    expect((await api('vera', 'GET', '/projects')).body.projects).toEqual([]);

    const disabled = await api('admin', 'POST', '/users/olga/disable');
    expect(disabled.body).toMatchObject({ name: 'olga', disabled: true });
    expect((await api('admin', 'POST', '/users/olga/enable')).body.disabled).toBe(false);
  });

  it.each([
    ['POST', '/users', { name: 'Bad Name' }, 400, 'INVALID_ARGUMENT', 'name'],
    ['POST', '/users', { name: "o'brien" }, 400, 'INVALID_ARGUMENT', 'name'],
    ['POST', '/users', {}, 400, 'INVALID_ARGUMENT', 'name'],
    ['POST', '/users', { name: 'x', role: 'admin' }, 400, 'INVALID_ARGUMENT', 'role'],
    ['POST', '/users', { name: 'x', isAdmin: 'yes' }, 400, 'INVALID_ARGUMENT', 'isAdmin'],
    ['POST', '/users', { name: 'vera' }, 409, 'ALREADY_EXISTS', 'name'],
    ['POST', '/users/nobody/disable', undefined, 404, 'NOT_FOUND', 'name'],
    ['POST', '/users/NOBODY/enable', undefined, 400, 'INVALID_ARGUMENT', 'name'],
    ['POST', '/tokens', { expiresInDays: '7' }, 400, 'INVALID_ARGUMENT', 'expiresInDays'],
    ['POST', '/tokens', { expiresInDays: 0 }, 400, 'INVALID_ARGUMENT', 'expiresInDays'],
    ['POST', '/tokens', { expiresAt: 'soon' }, 400, 'INVALID_ARGUMENT', 'expiresAt'],
    ['POST', '/tokens', { name: '' }, 400, 'INVALID_ARGUMENT', 'name'],
    ['POST', '/tokens', { secret: 'mine' }, 400, 'INVALID_ARGUMENT', 'secret'],
    ['POST', '/tokens', { user: 'nobody' }, 404, 'NOT_FOUND', 'user'],
    ['POST', '/tokens', { expiresAt: '2020-01-01' }, 400, 'INVALID_ARGUMENT', 'expiresAt'],
    ['DELETE', '/tokens/ffffffffffffffff', undefined, 404, 'NOT_FOUND', 'id'],
    ['POST', '/projects', { id: 'ML' }, 400, 'INVALID_ARGUMENT', 'id'],
    ['POST', '/projects', { id: '../etc' }, 400, 'INVALID_ARGUMENT', 'id'],
    ['POST', '/projects', { id: 'ml' }, 409, 'ALREADY_EXISTS', 'id'],
    [
      'POST',
      '/projects',
      { id: 'ok', description: 'x'.repeat(10_001) },
      400,
      'INVALID_ARGUMENT',
      'description',
    ],
    ['GET', '/projects/nope', undefined, 404, 'NOT_FOUND', 'id'],
    ['GET', '/projects/nope/members', undefined, 404, 'NOT_FOUND', 'id'],
    ['POST', '/projects/ml/members', { user: 'vera', role: 'owner' }, 400, 'INVALID_ARGUMENT', 'role'],
    ['POST', '/projects/ml/members', { user: 'vera' }, 400, 'INVALID_ARGUMENT', 'role'],
    ['POST', '/projects/ml/members', { user: 'ghost', role: 'viewer' }, 404, 'NOT_FOUND', 'user'],
    ['POST', '/projects/nope/members', { user: 'vera', role: 'viewer' }, 404, 'NOT_FOUND', 'id'],
    ['DELETE', '/projects/ml/members/vera/editor', undefined, 404, 'NOT_FOUND', 'role'],
    ['DELETE', '/projects/ml/members/vera/owner', undefined, 400, 'INVALID_ARGUMENT', 'role'],
  ] as const)(
    'admin %s %s %j → %i %s, nothing written',
    async (method, path, payload, status, code, field) => {
      const before = await snapshot();
      const res = await api('admin', method, path, payload);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expectSchema(ErrorResponse, res.body);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.field).toBe(field);
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each([
    ['POST', '/users', { name: 'sneaky' }],
    ['GET', '/users', undefined],
    ['POST', '/users/admin/disable', undefined],
    ['POST', '/users/olga/enable', undefined],
    ['POST', '/tokens', { user: 'admin' }],
    ['GET', '/tokens?user=admin', undefined],
    ['POST', '/projects', { id: 'sneaky' }],
    ['GET', '/projects/ml', undefined],
    ['GET', '/projects/ml/members', undefined],
    ['POST', '/projects/ml/members', { user: 'vera', role: 'admin' }],
    ['DELETE', '/projects/ml/members/vera/viewer', undefined],
  ] as const)('a user without the role: %s %s → 403, recorded as denied', async (method, path, payload) => {
    const before = await snapshot();
    const seq = (await stores.auditLog.head()).lastSeq;
    const res = await api('vera', method, path, payload);
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.error.code).toBe('PERMISSION_DENIED');
    expect(await snapshot()).toEqual(before);
    const events = await stores.auditLog.query({ afterSeq: seq, order: 'asc', limit: 10 });
    expect(events.map((e) => [e.actor, e.outcome])).toEqual([['vera', 'denied']]);
  });

  it("revokes another user's token only for admins", async () => {
    const admins = await api('admin', 'GET', '/tokens');
    const id = admins.body.tokens[0].id;
    expect((await api('vera', 'DELETE', `/tokens/${id}`)).status).toBe(403);
    expect((await api('admin', 'GET', '/whoami')).status).toBe(200);
  });

  it('documents every route in the OpenAPI description', async () => {
    const spec = (await api('admin', 'GET', '/openapi.json')).body;
    const operations = Object.values(spec.paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((path) => Object.values(path))
      .map((op) => op.operationId);
    expect(operations).toEqual(
      expect.arrayContaining([
        'whoami',
        'createUser',
        'listUsers',
        'disableUser',
        'enableUser',
        'createToken',
        'listTokens',
        'revokeToken',
        'createProject',
        'listProjects',
        'getProject',
        'listProjectMembers',
        'grantProjectRole',
        'revokeProjectRole',
      ]),
    );
  });
});
