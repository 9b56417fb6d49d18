import type { MetadataDatabase } from '../adapters/sql/database.js';
import type { Clock } from '../kernel/clock.js';
import { createTestApp, type TestApp } from './test-app.js';

/** A test app with authentication on, its first admin `admin`, and callers by name. */
export interface GovernedApp {
  t: TestApp;
  /** A request as `who` (a name `addUser` created, or `admin`), JSON in and out. */
  api(
    who: string,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    payload?: unknown,
  ): Promise<{ status: number; body: any }>;
  /** The Authorization header of `who` (none with auth off), for routes outside /api/v1. */
  headers(who: string): Record<string, string>;
  /** Bytes to a path, as `who`. */
  putBytes(who: string, path: string, bytes: string): Promise<number>;
  /** Creates the user with a token, holding the roles given per project. */
  addUser(name: string, roles: Record<string, readonly string[]>): Promise<void>;
}

export const GOVERNED_ADMIN_TOKEN = 'governed-admin-token-0123456789abcdef0123456789ab';

export async function createGovernedApp(
  database: MetadataDatabase,
  options: { clock: Clock; authEnabled?: boolean },
): Promise<GovernedApp> {
  const authEnabled = options.authEnabled ?? true;
  const t = await createTestApp(database, {
    clock: options.clock,
    env: authEnabled ? { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: GOVERNED_ADMIN_TOKEN } : {},
  });
  const tokens = new Map<string, string>([['admin', GOVERNED_ADMIN_TOKEN]]);
  const headers = (who: string): Record<string, string> =>
    authEnabled ? { authorization: `Bearer ${tokens.get(who) ?? 'cairn_unknown'}` } : {};

  const api: GovernedApp['api'] = async (who, method, path, payload) => {
    const response = await t.app.inject({
      method,
      url: `/api/v1${path}`,
      headers: {
        ...headers(who),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    return { status: response.statusCode, body: response.body === '' ? undefined : response.json() };
  };

  return {
    t,
    api,
    headers,
    async putBytes(who, path, bytes) {
      const response = await t.app.inject({
        method: 'PUT',
        url: `/api/v1${path}`,
        payload: bytes,
        headers: { ...headers(who), 'content-type': 'application/octet-stream' },
      });
      return response.statusCode;
    },
    async addUser(name, roles) {
      const created = await api('admin', 'POST', '/users', { name });
      if (created.status !== 201) throw new Error(`user ${name}: ${JSON.stringify(created.body)}`);
      const token = await api('admin', 'POST', '/tokens', { user: name, name: 'test' });
      if (token.status !== 201) throw new Error(`token of ${name}: ${JSON.stringify(token.body)}`);
      tokens.set(name, token.body.token);
      for (const [project, held] of Object.entries(roles)) {
        for (const role of held) {
          const granted = await api('admin', 'POST', `/projects/${project}/members`, { user: name, role });
          if (granted.status !== 201) throw new Error(`grant ${name}: ${JSON.stringify(granted.body)}`);
        }
      }
    },
  };
}
