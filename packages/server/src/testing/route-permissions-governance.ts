import type { Method, TestRequest } from './permission-world.js';
import type { BuildContext, RouteRule } from './route-rule.js';

const V1 = '/api/v1';
const get = (url: string): TestRequest => ({ method: 'GET', url });
const send = (method: Method, url: string, json?: unknown): TestRequest =>
  json === undefined ? { method, url } : { method, url, json };

type Build = RouteRule['build'];
const promotion =
  (verb: string, json: unknown): Build =>
  async ({ fx }) =>
    send('POST', `${V1}/promotions/${(await fx.promotion()).id}/${verb}`, json);
const project =
  (path: string, method: Method = 'GET', json?: unknown): Build =>
  async ({ fx }) =>
    send(method, `${V1}/projects/${fx.project}${path}`, json);
const fixed =
  (request: TestRequest): Build =>
  async () =>
    request;

/** A user made by the admin for a request about them (disable, grant, another's token). */
async function newUser(ctx: BuildContext): Promise<string> {
  const name = `u${ctx.n}`;
  await ctx.world.must('admin', send('POST', `${V1}/users`, { name }));
  return name;
}

/** The stored form of the default with auth on, so later promotions still meet the same policy. */
const POLICY = { protect: { aliases: ['champion'], stages: ['Production'] } };

/** Identity, projects, policies, promotions and the audit trail under /api/v1. */
export const GOVERNANCE_ROUTE_RULES: Record<string, RouteRule> = {
  // identity
  'GET /api/v1/whoami': {
    need: 'authenticated',
    scoped: false,
    ok: 200,
    build: fixed(get(`${V1}/whoami`)),
    inspect: (reply, ctx) => {
      if (reply.body.user !== ctx.who) throw new Error(`whoami says ${reply.body.user}, not ${ctx.who}`);
    },
  },
  'POST /api/v1/users': {
    need: 'server-admin',
    scoped: false,
    ok: 201,
    build: async ({ n }) => send('POST', `${V1}/users`, { name: `new-user-${n}` }),
  },
  'GET /api/v1/users': { need: 'server-admin', scoped: false, ok: 200, build: fixed(get(`${V1}/users`)) },
  'POST /api/v1/users/:name/disable': {
    need: 'server-admin',
    scoped: false,
    ok: 200,
    build: async (ctx) => send('POST', `${V1}/users/${await newUser(ctx)}/disable`),
  },
  'POST /api/v1/users/:name/enable': {
    need: 'server-admin',
    scoped: false,
    ok: 200,
    build: async (ctx) => send('POST', `${V1}/users/${await newUser(ctx)}/enable`),
  },
  'POST /api/v1/tokens': {
    need: 'authenticated',
    scoped: false,
    ok: 201,
    build: async ({ n }) => send('POST', `${V1}/tokens`, { name: `own-${n}` }),
  },
  'GET /api/v1/tokens': {
    need: 'authenticated',
    scoped: false,
    ok: 200,
    build: fixed(get(`${V1}/tokens`)),
    inspect: (reply, ctx) => {
      const others = reply.body.tokens.filter((t: any) => t.user !== ctx.who);
      if (others.length > 0) throw new Error(`${ctx.who} sees tokens of ${JSON.stringify(others)}`);
    },
  },
  'DELETE /api/v1/tokens/:id': {
    need: 'authenticated',
    scoped: false,
    ok: 200,
    // A token of the caller made for this call, so revoking it never locks the caller out.
    build: async ({ world, who, n }) => {
      const owner = who === 'anonymous' ? 'nobody' : who;
      const user = owner === 'admin' ? undefined : owner;
      const created = await world.must('admin', send('POST', `${V1}/tokens`, { user, name: `doomed-${n}` }));
      return send('DELETE', `${V1}/tokens/${created.id}`);
    },
  },

  // projects, members, policies
  'POST /api/v1/projects': {
    need: 'server-admin',
    scoped: false,
    ok: 201,
    build: async ({ n }) => send('POST', `${V1}/projects`, { id: `p${n}` }),
  },
  'GET /api/v1/projects': {
    need: 'authenticated',
    ok: 200,
    build: fixed(get(`${V1}/projects`)),
    items: (body) => body.projects.map((p: any) => `project:${p.id}`),
    shows: async (fx) => `project:${fx.project}`,
  },
  'GET /api/v1/projects/:id': { need: 'read', ok: 200, build: project('') },
  'GET /api/v1/projects/:id/members': { need: 'read', ok: 200, build: project('/members') },
  'POST /api/v1/projects/:id/members': {
    need: 'admin',
    ok: 201,
    build: async (ctx) => project('/members', 'POST', { user: await newUser(ctx), role: 'viewer' })(ctx),
  },
  'DELETE /api/v1/projects/:id/members/:user/:role': {
    need: 'admin',
    ok: 204,
    consumes: true,
    build: async (ctx) => {
      const user = await ctx.fx.memo('member', async () => {
        const name = await newUser(ctx);
        await ctx.world.must(
          'admin',
          send('POST', `${V1}/projects/${ctx.fx.project}/members`, { user: name, role: 'viewer' }),
        );
        return name;
      });
      return send('DELETE', `${V1}/projects/${ctx.fx.project}/members/${user}/viewer`);
    },
  },
  'GET /api/v1/projects/:id/policy': { need: 'read', ok: 200, build: project('/policy') },
  'PUT /api/v1/projects/:id/policy': {
    need: 'admin',
    ok: 200,
    build: project('/policy', 'PUT', { document: POLICY, comment: 'the default, stored' }),
  },
  'GET /api/v1/projects/:id/policy/history': { need: 'read', ok: 200, build: project('/policy/history') },

  // promotions
  'POST /api/v1/promotions': {
    need: 'promote',
    ok: 201,
    consumes: true,
    build: async ({ fx }) =>
      send('POST', `${V1}/promotions`, { model: (await fx.model()).name, version: 1, alias: 'champion' }),
  },
  'GET /api/v1/promotions': {
    need: 'authenticated',
    ok: 200,
    build: async ({ fx }) => {
      await fx.promotion();
      return get(`${V1}/promotions?maxResults=1000`);
    },
    items: (body) => body.promotions.map((p: any) => `promotion:${p.id}`),
    shows: async (fx) => `promotion:${(await fx.promotion()).id}`,
  },
  'GET /api/v1/promotions/:id': {
    need: 'read',
    ok: 200,
    build: async ({ fx }) => get(`${V1}/promotions/${(await fx.promotion()).id}`),
  },
  'POST /api/v1/promotions/:id/approve': {
    need: 'approve',
    ok: 200,
    consumes: true,
    build: promotion('approve', { comment: 'fine' }),
  },
  'POST /api/v1/promotions/:id/reject': {
    need: 'approve',
    ok: 200,
    consumes: true,
    build: promotion('reject', { comment: 'not yet' }),
  },
  // Nobody under test asked for these requests: withdrawing someone else's needs a project admin.
  'POST /api/v1/promotions/:id/cancel': {
    need: 'admin',
    ok: 200,
    consumes: true,
    build: promotion('cancel', {}),
  },
  'POST /api/v1/promotions/:id/evaluate': { need: 'approve', ok: 200, build: promotion('evaluate', {}) },

  // audit
  'GET /api/v1/audit/events': {
    need: 'admin',
    ok: 200,
    build: async ({ fx }) => get(`${V1}/audit/events?projectId=${fx.project}&limit=1000`),
    items: (body) => body.events.map((e: any) => `project:${e.projectId}`),
  },
  'GET /api/v1/audit/verify': {
    need: 'server-admin',
    scoped: false,
    ok: 200,
    build: fixed(get(`${V1}/audit/verify`)),
  },
  'POST /api/v1/audit/checkpoints': {
    need: 'server-admin',
    scoped: false,
    ok: 201,
    build: fixed(send('POST', `${V1}/audit/checkpoints`)),
  },
  'GET /api/v1/audit/export': {
    need: 'server-admin',
    scoped: false,
    ok: 200,
    build: fixed(get(`${V1}/audit/export`)),
  },
  'GET /api/v1/audit/public-key': {
    need: 'authenticated',
    scoped: false,
    ok: 200,
    build: fixed(get(`${V1}/audit/public-key`)),
  },
  'POST /api/v1/audit/prune': {
    need: 'server-admin',
    scoped: false,
    ok: 200,
    build: fixed(send('POST', `${V1}/audit/prune`, { olderThanDays: 3650 })),
  },
};
