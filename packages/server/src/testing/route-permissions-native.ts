import { randomUUID } from 'node:crypto';
import type { Method, TestRequest } from './permission-world.js';
import type { BuildContext, RouteRule } from './route-rule.js';

const V1 = '/api/v1';
const get = (url: string): TestRequest => ({ method: 'GET', url });
const send = (method: Method, url: string, json?: unknown): TestRequest =>
  json === undefined ? { method, url } : { method, url, json };
const enc = encodeURIComponent;

type Build = RouteRule['build'];
const exp =
  (path: string, method: Method = 'GET', json?: unknown): Build =>
  async ({ fx }) =>
    send(method, `${V1}/experiments/${(await fx.experiment()).id}${path}`, json);
const run =
  (path: string, method: Method = 'GET', json?: unknown): Build =>
  async ({ fx }) =>
    send(method, `${V1}/runs/${(await fx.run()).id}${path}`, json);
const model =
  (path: string, method: Method = 'GET', json?: unknown): Build =>
  async ({ fx }) =>
    send(method, `${V1}/models/${enc((await fx.model()).name)}${path}`, json);
const version = (path: string, method: Method = 'GET', json?: unknown): Build =>
  model(`/versions/1${path}`, method, json);
const lineage =
  (walk: string): Build =>
  async ({ fx }) =>
    get(`${V1}/lineage/run/${(await fx.run()).id}/${walk}`);
const CODE = {
  commit: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b',
  diff: Buffer.from('patch').toString('base64'),
};
/** The fixture run with a recorded source, made once (as admin) before the reads are tried. */
const withCode = (ctx: BuildContext): Promise<unknown> =>
  ctx.fx.memo('code', async () =>
    ctx.world.must(
      'admin',
      send('PUT', `${V1}/runs/${(await ctx.fx.run()).id}/code`, { ...CODE, dirty: true }),
    ),
  );
const fixed =
  (request: TestRequest): Build =>
  async () =>
    request;

/** Health, tracking, lineage and the registry under /api/v1. */
export const NATIVE_ROUTE_RULES: Record<string, RouteRule> = {
  // health and the API description
  'GET /healthz': { need: 'public', scoped: false, ok: 200, build: fixed(get('/healthz')) },
  'GET /readyz': { need: 'public', scoped: false, ok: 200, build: fixed(get('/readyz')) },
  'GET /health': { need: 'public', scoped: false, ok: 200, build: fixed(get('/health')) },
  'GET /api/v1/openapi.json': {
    need: 'authenticated',
    scoped: false,
    ok: 200,
    build: fixed(get(`${V1}/openapi.json`)),
  },

  // experiments
  'POST /api/v1/experiments': {
    need: 'write',
    ok: 201,
    build: async ({ fx, n }) =>
      send('POST', `${V1}/experiments`, { name: `new-exp-${n}`, project: fx.project }),
  },
  'GET /api/v1/experiments': {
    need: 'authenticated',
    ok: 200,
    build: async ({ fx }) => {
      await fx.experiment();
      return get(`${V1}/experiments?maxResults=1000&orderBy=${enc('creation_time DESC')}`);
    },
    items: (body) => body.experiments.map((e: any) => `experiment:${e.experimentId}`),
    shows: async (fx) => `experiment:${(await fx.experiment()).id}`,
  },
  'GET /api/v1/experiments/by-name/:name': {
    need: 'read',
    ok: 200,
    build: async ({ fx }) => get(`${V1}/experiments/by-name/${enc((await fx.experiment()).name)}`),
  },
  'GET /api/v1/experiments/:experimentId': { need: 'read', ok: 200, build: exp('') },
  'PATCH /api/v1/experiments/:experimentId': {
    need: 'write',
    ok: 200,
    build: async (ctx) => exp('', 'PATCH', { name: `renamed-exp-${ctx.n}` })(ctx),
  },
  'DELETE /api/v1/experiments/:experimentId': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: exp('', 'DELETE'),
  },
  'POST /api/v1/experiments/:experimentId/restore': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: async (ctx) => {
      const { id } = await ctx.fx.experiment();
      await ctx.fx.memo('deleted', () => ctx.world.must('admin', send('DELETE', `${V1}/experiments/${id}`)));
      return send('POST', `${V1}/experiments/${id}/restore`);
    },
  },
  'PUT /api/v1/experiments/:experimentId/tags/:key': {
    need: 'write',
    ok: 204,
    build: exp('/tags/t2', 'PUT', { value: 'w' }),
  },
  'DELETE /api/v1/experiments/:experimentId/tags/:key': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: exp('/tags/t', 'DELETE'),
  },

  // runs
  'POST /api/v1/runs': {
    need: 'write',
    ok: 201,
    build: async ({ fx }) => send('POST', `${V1}/runs`, { experimentId: (await fx.experiment()).id }),
  },
  'POST /api/v1/runs/search': {
    need: 'read',
    ok: 200,
    build: async ({ fx }) =>
      send('POST', `${V1}/runs/search`, { experimentIds: [(await fx.run()).experimentId], maxResults: 100 }),
    items: (body) => body.runs.map((r: any) => `run:${r.info.runId}`),
    shows: async (fx) => `run:${(await fx.run()).id}`,
  },
  'GET /api/v1/runs/:runId': { need: 'read', ok: 200, build: run('') },
  'PATCH /api/v1/runs/:runId': {
    need: 'write',
    ok: 200,
    build: async (ctx) => run('', 'PATCH', { runName: `renamed-run-${ctx.n}` })(ctx),
  },
  'DELETE /api/v1/runs/:runId': { need: 'write', ok: 204, consumes: true, build: run('', 'DELETE') },
  'POST /api/v1/runs/:runId/restore': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: async (ctx) => {
      const { id } = await ctx.fx.run();
      await ctx.fx.memo('deleted', () => ctx.world.must('admin', send('DELETE', `${V1}/runs/${id}`)));
      return send('POST', `${V1}/runs/${id}/restore`);
    },
  },
  'POST /api/v1/runs/:runId/log-batch': {
    need: 'write',
    ok: 204,
    build: run('/log-batch', 'POST', { metrics: [{ key: 'auc', value: 0.92, step: 1 }] }),
  },
  'GET /api/v1/runs/:runId/metrics/:key': { need: 'read', ok: 200, build: run('/metrics/auc') },
  'PUT /api/v1/runs/:runId/params/:key': {
    need: 'write',
    ok: 204,
    build: async (ctx) => run(`/params/p${ctx.n}`, 'PUT', { value: '2' })(ctx),
  },
  'PUT /api/v1/runs/:runId/tags/:key': {
    need: 'write',
    ok: 204,
    build: run('/tags/t2', 'PUT', { value: 'w' }),
  },
  'DELETE /api/v1/runs/:runId/tags/:key': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: run('/tags/t', 'DELETE'),
  },
  'POST /api/v1/runs/:runId/inputs': {
    need: 'write',
    ok: 204,
    build: run('/inputs', 'POST', {
      datasets: [{ dataset: { name: 'train', digest: 'd1', sourceType: 'local', source: 'train.csv' } }],
    }),
  },
  'PUT /api/v1/runs/:runId/code': {
    need: 'write',
    ok: 200,
    build: run('/code', 'PUT', { commit: CODE.commit, dirty: true, diff: CODE.diff }),
  },
  'GET /api/v1/runs/:runId/code': {
    need: 'read',
    ok: 200,
    build: async (ctx) => {
      await withCode(ctx);
      return run('/code')(ctx);
    },
  },
  'GET /api/v1/runs/:runId/code/diff': {
    need: 'read',
    ok: 200,
    build: async (ctx) => {
      await withCode(ctx);
      return run('/code/diff')(ctx);
    },
  },
  'GET /api/v1/runs/:runId/artifacts': { need: 'read', ok: 200, build: run('/artifacts') },
  'GET /api/v1/runs/:runId/artifacts/*': { need: 'read', ok: 200, build: run('/artifacts/model/model.bin') },
  'PUT /api/v1/runs/:runId/artifacts/*': {
    need: 'write',
    ok: 201,
    build: async ({ fx }) => ({
      method: 'PUT',
      url: `${V1}/runs/${(await fx.run()).id}/artifacts/extra/notes.txt`,
      text: 'notes',
    }),
  },

  // lineage
  'GET /api/v1/lineage/:kind/:id/upstream': { need: 'read', ok: 200, build: lineage('upstream') },
  'GET /api/v1/lineage/:kind/:id/downstream': { need: 'read', ok: 200, build: lineage('downstream') },
  'GET /api/v1/lineage/:kind/:id/provenance': { need: 'read', ok: 200, build: lineage('provenance') },
  'GET /api/v1/lineage/:kind/:id/openlineage': { need: 'read', ok: 200, build: lineage('openlineage') },

  // registered models
  'POST /api/v1/models': {
    need: 'write',
    ok: 201,
    build: async ({ fx, n }) => send('POST', `${V1}/models`, { name: `new-model-${n}`, project: fx.project }),
  },
  'GET /api/v1/models': {
    need: 'authenticated',
    ok: 200,
    build: async ({ fx }) => {
      await fx.model();
      return get(`${V1}/models?maxResults=1000&orderBy=${enc('creation_timestamp DESC')}`);
    },
    items: (body) => body.models.map((m: any) => `model:${m.name}`),
    shows: async (fx) => `model:${(await fx.model()).name}`,
  },
  'GET /api/v1/models/:name': { need: 'read', ok: 200, build: model('') },
  'PATCH /api/v1/models/:name': {
    need: 'write',
    ok: 200,
    build: model('', 'PATCH', { description: 'changed' }),
  },
  'DELETE /api/v1/models/:name': { need: 'write', ok: 204, consumes: true, build: model('', 'DELETE') },
  'PUT /api/v1/models/:name/tags/:key': {
    need: 'write',
    ok: 204,
    build: model('/tags/t2', 'PUT', { value: 'w' }),
  },
  'DELETE /api/v1/models/:name/tags/:key': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: model('/tags/t', 'DELETE'),
  },
  'PUT /api/v1/models/:name/aliases/:alias': {
    need: 'write',
    ok: 200,
    build: model('/aliases/candidate2', 'PUT', { version: 1 }),
  },
  'GET /api/v1/models/:name/aliases/:alias': { need: 'read', ok: 200, build: model('/aliases/candidate') },
  'DELETE /api/v1/models/:name/aliases/:alias': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: model('/aliases/candidate', 'DELETE'),
  },
  'GET /api/v1/models/:name/history': { need: 'read', ok: 200, build: model('/history') },
  'GET /api/v1/model-versions/resolve': {
    need: 'read',
    ok: 200,
    build: async ({ fx }) => get(`${V1}/model-versions/resolve?ref=${enc(`${(await fx.model()).name}/1`)}`),
  },

  // model versions, files and cards
  'POST /api/v1/models/:name/versions': {
    need: 'write',
    ok: 201,
    build: async ({ fx }) =>
      send('POST', `${V1}/models/${enc((await fx.model()).name)}/versions`, {
        source: `runs:/${(await fx.run()).id}/model`,
      }),
  },
  'GET /api/v1/models/:name/versions': { need: 'read', ok: 200, build: model('/versions') },
  'GET /api/v1/models/:name/versions/:version': { need: 'read', ok: 200, build: version('') },
  'PATCH /api/v1/models/:name/versions/:version': {
    need: 'write',
    ok: 200,
    build: version('', 'PATCH', { description: 'changed' }),
  },
  'DELETE /api/v1/models/:name/versions/:version': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: version('', 'DELETE'),
  },
  'PUT /api/v1/models/:name/versions/:version/tags/:key': {
    need: 'write',
    ok: 204,
    build: version('/tags/t2', 'PUT', { value: 'w' }),
  },
  'DELETE /api/v1/models/:name/versions/:version/tags/:key': {
    need: 'write',
    ok: 204,
    consumes: true,
    build: version('/tags/t', 'DELETE'),
  },
  'POST /api/v1/models/:name/versions/:version/stage': {
    need: 'write',
    ok: 200,
    build: version('/stage', 'POST', { stage: 'Staging' }),
  },
  'GET /api/v1/models/:name/versions/:version/files': { need: 'read', ok: 200, build: version('/files') },
  'GET /api/v1/models/:name/versions/:version/files/*': {
    need: 'read',
    ok: 200,
    build: version('/files/model.bin'),
  },
  'GET /api/v1/models/:name/versions/:version/card': { need: 'read', ok: 200, build: version('/card') },
  'PATCH /api/v1/models/:name/versions/:version/card': {
    need: 'write',
    ok: 200,
    build: version('/card', 'PATCH', { limitations: 'none known' }),
  },
  'PUT /api/v1/models/:name/versions/:version/card': {
    need: 'write',
    ok: 200,
    build: async ({ fx }) => ({
      method: 'PUT',
      url: `${V1}/models/${enc((await fx.model()).name)}/versions/1/card`,
      text: '## Intended use\n\nPermission tests.\n',
      contentType: 'text/markdown',
    }),
  },
  'GET /api/v1/models/:name/versions/:version/lineage': { need: 'read', ok: 200, build: version('/lineage') },
  'PUT /api/v1/model-uploads/:uploadId/*': {
    need: 'staging',
    scoped: false,
    ok: 201,
    build: async () => ({
      method: 'PUT',
      url: `${V1}/model-uploads/${randomUUID()}/model.onnx`,
      text: 'bytes',
    }),
  },
};
