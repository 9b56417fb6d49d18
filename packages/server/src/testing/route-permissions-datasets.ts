import type { Method, TestRequest } from './permission-world.js';
import type { BuildContext, RouteRule } from './route-rule.js';

const V1 = '/api/v1';
const send = (method: Method, url: string, json?: unknown): TestRequest =>
  json === undefined ? { method, url } : { method, url, json };

type Build = RouteRule['build'];
const dataset =
  (path: string, method: Method = 'GET', json?: (d: { chunk: string; digest: string }) => unknown): Build =>
  async ({ fx }: BuildContext) => {
    const d = await fx.dataset();
    return send(method, `${V1}/datasets/${d.name}${path}`, json?.(d));
  };
const upload =
  (path: string, method: Method, json?: unknown): Build =>
  async ({ fx }: BuildContext) => {
    const d = await fx.dataset();
    return send(method, `${V1}/datasets/${d.name}/uploads/${d.uploadId}${path}`, json);
  };

/** Datasets under /api/v1: reads need `read` in the dataset's project, adds and aliases `write`. */
export const DATASET_ROUTE_RULES: Readonly<Record<string, RouteRule>> = {
  'POST /api/v1/datasets': {
    need: 'write',
    ok: 200,
    build: async ({ fx, n }) =>
      send('POST', `${V1}/datasets`, { name: `new-data-${n}`, project: fx.project }),
  },
  'GET /api/v1/datasets': {
    need: 'authenticated',
    ok: 200,
    scoped: false,
    build: async () => send('GET', `${V1}/datasets`),
    items: (body) => body.datasets.map((d: any) => `dataset:${d.name}`),
    shows: async (fx) => `dataset:${(await fx.dataset()).name}`,
  },
  'GET /api/v1/datasets/:name': { need: 'read', ok: 200, build: dataset('') },
  'PATCH /api/v1/datasets/:name': {
    need: 'write',
    ok: 200,
    build: dataset('', 'PATCH', () => ({ description: 'd' })),
  },
  'GET /api/v1/datasets/:name/versions': { need: 'read', ok: 200, build: dataset('/versions') },
  'GET /api/v1/datasets/:name/versions/:ref': { need: 'read', ok: 200, build: dataset('/versions/golden') },
  'GET /api/v1/datasets/:name/versions/:ref/files': {
    need: 'read',
    ok: 200,
    build: dataset('/versions/1/files'),
  },
  'GET /api/v1/datasets/:name/versions/:ref/tables': {
    need: 'read',
    ok: 200,
    build: dataset('/versions/1/tables?path=t.csv'),
  },
  'GET /api/v1/datasets/:name/diff': {
    need: 'read',
    ok: 200,
    build: dataset('/diff?from=1&to=golden&key=id'),
  },
  'GET /api/v1/datasets/:name/versions/:ref/content': {
    need: 'read',
    ok: 200,
    build: dataset('/versions/1/content?path=t.csv'),
  },
  'PUT /api/v1/datasets/:name/aliases/:alias': {
    need: 'write',
    ok: 200,
    build: dataset('/aliases/silver', 'PUT', () => ({ version: 1 })),
  },
  'DELETE /api/v1/datasets/:name/aliases/:alias': {
    need: 'write',
    ok: 200,
    consumes: true,
    build: dataset('/aliases/golden', 'DELETE'),
  },
  'POST /api/v1/datasets/:name/uploads': {
    need: 'write',
    ok: 200,
    build: dataset('/uploads', 'POST', () => ({})),
  },
  'POST /api/v1/datasets/:name/uploads/:uploadId/reuse': {
    need: 'write',
    ok: 200,
    build: async (ctx) => {
      const d = await ctx.fx.dataset();
      return send('POST', `${V1}/datasets/${d.name}/uploads/${d.uploadId}/reuse`, {
        files: [{ path: 'copy.csv', digest: d.digest, mode: 420 }],
      });
    },
  },
  'POST /api/v1/datasets/:name/uploads/:uploadId/commit': {
    need: 'write',
    ok: 200,
    consumes: true,
    build: async (ctx) => {
      const d = await ctx.fx.dataset();
      await ctx.world.must('admin', {
        method: 'POST',
        url: `${V1}/datasets/${d.name}/uploads/${d.uploadId}/reuse`,
        json: { files: [{ path: 'copy.csv', digest: d.digest, mode: 420 }] },
      });
      return send('POST', `${V1}/datasets/${d.name}/uploads/${d.uploadId}/commit`, { message: 'm' });
    },
  },
  'DELETE /api/v1/datasets/:name/uploads/:uploadId': {
    need: 'write',
    ok: 200,
    consumes: true,
    build: upload('', 'DELETE'),
  },
  'PUT /api/v1/datasets/:name/uploads/:uploadId/files': {
    need: 'write',
    ok: 200,
    build: async (ctx) => {
      const d = await ctx.fx.dataset();
      return {
        method: 'PUT',
        url: `${V1}/datasets/${d.name}/uploads/${d.uploadId}/files?path=x.txt`,
        text: 'x',
      };
    },
  },
  'POST /api/v1/datasets/:name/chunks/read': {
    need: 'read',
    ok: 200,
    build: dataset('/chunks/read', 'POST', (d) => ({ digests: [d.chunk] })),
  },
  'POST /api/v1/datasets/:name/chunks/export': {
    need: 'read',
    ok: 200,
    build: dataset('/chunks/export', 'POST', (d) => ({ digests: [d.chunk] })),
  },
  'POST /api/v1/datasets/:name/chunks/missing': {
    need: 'write',
    ok: 200,
    build: dataset('/chunks/missing', 'POST', (d) => ({ digests: [d.chunk] })),
  },
  'POST /api/v1/datasets/:name/chunks/import': {
    need: 'write',
    ok: 200,
    build: async (ctx) => {
      const d = await ctx.fx.dataset();
      return { method: 'POST', url: `${V1}/datasets/${d.name}/chunks/import`, text: '' };
    },
  },
  'POST /api/v1/datasets/gc': {
    need: 'server-admin',
    ok: 200,
    scoped: false,
    build: async () => send('POST', `${V1}/datasets/gc`, {}),
  },
  'POST /api/v1/datasets/objects/missing': {
    need: 'authenticated',
    ok: 200,
    scoped: false,
    build: async () => send('POST', `${V1}/datasets/objects/missing`, { digests: [] }),
  },
  'POST /api/v1/datasets/:name/versions/import': {
    need: 'write',
    ok: 200,
    build: async (ctx) => {
      const d = await ctx.fx.dataset();
      const files = await ctx.world.must('admin', {
        method: 'GET',
        url: `${V1}/datasets/${d.name}/versions/1/files?chunks=true`,
      });
      return send('POST', `${V1}/datasets/${d.name}/versions/import`, {
        message: 'again',
        files: files.files,
      });
    },
  },
};
