import type { FastifyInstance } from 'fastify';

export type WorldMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface WorldResponse {
  status: number;
  /** Parsed JSON when the body is JSON, the text otherwise. */
  body: any;
  headers: Record<string, unknown>;
}

/** Users with tokens and roles, set up through the public API as an admin would. */
export interface AuthWorld {
  /** `who` is a user name, `admin`, or anything else for a made-up token. */
  call(who: string, method: WorldMethod, url: string, payload?: unknown): Promise<WorldResponse>;
  /** Raw bytes (artifact uploads), sent as application/octet-stream. */
  put(who: string, url: string, bytes: string | Buffer): Promise<WorldResponse>;
}

export interface AuthWorldSpec {
  adminToken: string;
  projects: readonly string[];
  /** Each user gets a token; a user listed with no roles holds none. */
  members: ReadonlyArray<{
    user: string;
    roles: Readonly<Record<string, 'viewer' | 'editor' | 'approver' | 'admin'>>;
  }>;
}

function parse(response: {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}): WorldResponse {
  let body: unknown = response.body;
  try {
    body = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    // leave as text
  }
  return { status: response.statusCode, body, headers: response.headers };
}

/**
 * Creates the projects, users, role bindings and tokens of `spec` on an app
 * started with `CAIRN_AUTH=true` and `CAIRN_ADMIN_TOKEN=spec.adminToken`.
 */
export async function createAuthWorld(app: FastifyInstance, spec: AuthWorldSpec): Promise<AuthWorld> {
  const tokens = new Map<string, string>([['admin', spec.adminToken]]);
  const authorization = (who: string) => `Bearer ${tokens.get(who) ?? `made-up-${who}-0123456789abcdef0123`}`;
  const world: AuthWorld = {
    async call(who, method, url, payload) {
      const response = await app.inject({
        method,
        url,
        headers: {
          authorization: authorization(who),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
      });
      return parse(response);
    },
    async put(who, url, bytes) {
      const response = await app.inject({
        method: 'PUT',
        url,
        headers: { authorization: authorization(who), 'content-type': 'application/octet-stream' },
        payload: bytes,
      });
      return parse(response);
    },
  };
  const must = async (response: Promise<WorldResponse>, what: string): Promise<WorldResponse> => {
    const done = await response;
    if (done.status >= 300) throw new Error(`${what}: ${done.status} ${JSON.stringify(done.body)}`);
    return done;
  };
  for (const id of spec.projects) {
    await must(world.call('admin', 'POST', '/api/v1/projects', { id }), `create project ${id}`);
  }
  for (const { user, roles } of spec.members) {
    await must(world.call('admin', 'POST', '/api/v1/users', { name: user }), `create user ${user}`);
    for (const [project, role] of Object.entries(roles)) {
      await must(
        world.call('admin', 'POST', `/api/v1/projects/${project}/members`, { user, role }),
        `grant ${user} ${role} in ${project}`,
      );
    }
    const token = await must(
      world.call('admin', 'POST', '/api/v1/tokens', { user, name: 'tests' }),
      `token of ${user}`,
    );
    tokens.set(user, (token.body as { token: string }).token);
  }
  return world;
}
