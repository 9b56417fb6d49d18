import type { Method, TestRequest } from './permission-world.js';
import type { BuildContext, RouteRule } from './route-rule.js';

const V1 = '/api/v1';
const send = (method: Method, url: string, json?: unknown): TestRequest =>
  json === undefined ? { method, url } : { method, url, json };

type Build = RouteRule['build'];
const deployment =
  (path: string, method: Method = 'GET', json?: unknown): Build =>
  async ({ fx }: BuildContext) => {
    const d = await fx.deployment();
    return send(method, path.replace('NAME', d.name), json);
  };
const ROW = { inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] };

/**
 * Deployments under /api/v1 and the data plane: reading and calling a
 * deployment need `read` in its project, changing it and sending ground
 * truth `write`; the v2 health probes are open, like KServe's and Triton's.
 */
export const SERVING_ROUTE_RULES: Readonly<Record<string, RouteRule>> = {
  'POST /api/v1/deployments': {
    need: 'write',
    ok: 201,
    build: async ({ fx, n }) => {
      const d = await fx.deployment();
      return send('POST', `${V1}/deployments`, {
        name: `new-dep-${n}`,
        project: fx.project,
        model: `${d.model}/1`,
        port: null,
      });
    },
  },
  'GET /api/v1/deployments': {
    need: 'authenticated',
    ok: 200,
    scoped: false,
    build: async () => send('GET', `${V1}/deployments`),
    items: (body) => body.deployments.map((d: any) => `deployment:${d.name}`),
    shows: async (fx) => `deployment:${(await fx.deployment()).name}`,
  },
  'GET /api/v1/deployments/:name': { need: 'read', ok: 200, build: deployment(`${V1}/deployments/NAME`) },
  'PATCH /api/v1/deployments/:name': {
    need: 'write',
    ok: 200,
    build: deployment(`${V1}/deployments/NAME`, 'PATCH', { settings: { sampleRate: 0.5 } }),
  },
  'POST /api/v1/deployments/:name/rollback': {
    need: 'write',
    ok: 200,
    build: deployment(`${V1}/deployments/NAME/rollback`, 'POST', { to: 1 }),
  },
  'GET /api/v1/deployments/:name/revisions': {
    need: 'read',
    ok: 200,
    build: deployment(`${V1}/deployments/NAME/revisions`),
  },
  'DELETE /api/v1/deployments/:name': {
    need: 'write',
    ok: 200,
    consumes: true,
    build: deployment(`${V1}/deployments/NAME`, 'DELETE'),
  },
  'GET /api/v1/deployments/:name/predictions': {
    need: 'read',
    ok: 200,
    build: deployment(`${V1}/deployments/NAME/predictions`),
  },
  'GET /api/v1/deployments/:name/shadow': {
    need: 'read',
    ok: 200,
    build: deployment(`${V1}/deployments/NAME/shadow`),
  },
  'GET /v2': { need: 'authenticated', ok: 200, scoped: false, build: async () => send('GET', '/v2') },
  'GET /v2/health/live': {
    need: 'public',
    ok: 200,
    scoped: false,
    build: async () => send('GET', '/v2/health/live'),
  },
  'GET /v2/health/ready': {
    need: 'public',
    ok: 200,
    scoped: false,
    build: async () => send('GET', '/v2/health/ready'),
  },
  'GET /v2/models/:name': { need: 'read', ok: 200, build: deployment('/v2/models/NAME') },
  'GET /v2/models/:name/versions/:version': {
    need: 'read',
    ok: 200,
    build: deployment('/v2/models/NAME/versions/1'),
  },
  'GET /v2/models/:name/ready': { need: 'read', ok: 200, build: deployment('/v2/models/NAME/ready') },
  'GET /v2/models/:name/versions/:version/ready': {
    need: 'read',
    ok: 200,
    build: deployment('/v2/models/NAME/versions/1/ready'),
  },
  'POST /v2/models/:name/infer': {
    need: 'read',
    ok: 200,
    build: deployment('/v2/models/NAME/infer', 'POST', ROW),
  },
  'POST /v2/models/:name/versions/:version/infer': {
    need: 'read',
    ok: 200,
    build: deployment('/v2/models/NAME/versions/1/infer', 'POST', ROW),
  },
  'POST /deployments/:name/predict': {
    need: 'read',
    ok: 200,
    build: deployment('/deployments/NAME/predict', 'POST', { instances: [[1, 2, 3, 4]] }),
  },
  'POST /deployments/:name/feedback': {
    need: 'write',
    ok: 200,
    build: deployment('/deployments/NAME/feedback', 'POST', { requestId: 'r-1', truth: 1 }),
  },
  'GET /metrics': {
    need: 'authenticated',
    ok: 200,
    scoped: false,
    build: async () => send('GET', '/metrics'),
  },
};
