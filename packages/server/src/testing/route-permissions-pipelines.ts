import { treeFrameHeader } from '@cairn/contract';
import { EMPTY_PIPELINE, type Method, type TestRequest } from './permission-world.js';
import type { BuildContext, RouteRule } from './route-rule.js';

const V1 = '/api/v1';
const send = (method: Method, url: string, json?: unknown): TestRequest =>
  json === undefined ? { method, url } : { method, url, json };

type Build = RouteRule['build'];
const onTrigger =
  (path: string, method: Method = 'GET', json?: unknown): Build =>
  async ({ fx }: BuildContext) => {
    const trigger = await fx.pipelineTrigger();
    return send(
      method,
      `${V1}/pipeline-triggers/${trigger.name}${path}${path.includes('?') ? '&' : '?'}project=${fx.project}`,
      json,
    );
  };
const onRun =
  (state: 'succeeded' | 'failed' | 'running', path: string, method: Method = 'GET'): Build =>
  async ({ fx }: BuildContext) => {
    const run = await fx.pipelineRun(state);
    return send(method, `${V1}/pipeline-runs/${run.id}${path}`, method === 'POST' ? {} : undefined);
  };

/** One small file, framed as `cairn pipeline run` uploads a code folder. */
function codePackage(n: number): string {
  const content = `print(${n})\n`;
  const header = treeFrameHeader({ path: 'train.py', sizeBytes: content.length, executable: false });
  return Buffer.concat([Buffer.from(header), Buffer.from(content)]).toString('latin1');
}

/**
 * Pipelines: starting a run and uploading its code need `write` in the
 * project, reading runs, outputs and logs `read`, cancelling and resuming `write`.
 */
export const PIPELINE_ROUTE_RULES: Readonly<Record<string, RouteRule>> = {
  'POST /api/v1/pipeline-code': {
    need: 'write',
    ok: 201,
    build: async ({ fx, n }) => ({
      method: 'POST',
      url: `${V1}/pipeline-code?project=${fx.project}`,
      text: codePackage(n),
      contentType: 'application/vnd.cairn.tree',
    }),
  },
  'POST /api/v1/pipeline-runs': {
    need: 'write',
    ok: 201,
    build: async ({ fx, n }) =>
      send('POST', `${V1}/pipeline-runs`, {
        project: fx.project,
        definition: { ...EMPTY_PIPELINE, name: `perm-${n}` },
      }),
  },
  'GET /api/v1/pipeline-runs': {
    need: 'authenticated',
    ok: 200,
    scoped: false,
    build: async () => send('GET', `${V1}/pipeline-runs?max_results=1000`),
    items: (body) => body.runs.map((r: any) => `pipeline_run:${r.id}`),
    shows: async (fx) => `pipeline_run:${(await fx.pipelineRun('succeeded')).id}`,
  },
  'GET /api/v1/pipeline-runs/:run': { need: 'read', ok: 200, build: onRun('succeeded', '') },
  'POST /api/v1/pipeline-runs/:run/cancel': {
    need: 'write',
    ok: 200,
    consumes: true,
    build: onRun('running', '/cancel', 'POST'),
  },
  'POST /api/v1/pipeline-runs/:run/resume': {
    need: 'write',
    ok: 200,
    consumes: true,
    build: onRun('failed', '/resume', 'POST'),
  },
  'GET /api/v1/pipeline-runs/:run/logs': {
    need: 'read',
    ok: 200,
    build: onRun('succeeded', '/logs?step=make'),
  },
  'GET /api/v1/pipeline-runs/:run/outputs/:step/:output': {
    need: 'read',
    ok: 200,
    build: onRun('succeeded', '/outputs/make/out'),
  },
  'POST /api/v1/pipeline-triggers': {
    need: 'write',
    ok: 201,
    build: async ({ fx, n }) =>
      send('POST', `${V1}/pipeline-triggers`, {
        name: `perm-trigger-${n}`,
        project: fx.project,
        definition: EMPTY_PIPELINE,
        schedule: { cron: '0 3 1 1 *' },
      }),
  },
  'GET /api/v1/pipeline-triggers': {
    need: 'authenticated',
    ok: 200,
    scoped: false,
    build: async () => send('GET', `${V1}/pipeline-triggers`),
    items: (body) => body.triggers.map((t: any) => `pipeline_trigger:${t.id}`),
    shows: async (fx) => `pipeline_trigger:${(await fx.pipelineTrigger()).id}`,
  },
  'GET /api/v1/pipeline-triggers/:name': { need: 'read', ok: 200, build: onTrigger('') },
  'PATCH /api/v1/pipeline-triggers/:name': {
    need: 'write',
    ok: 200,
    build: onTrigger('', 'PATCH', { enabled: true }),
  },
  'DELETE /api/v1/pipeline-triggers/:name': {
    need: 'write',
    ok: 200,
    consumes: true,
    build: onTrigger('', 'DELETE'),
  },
  'POST /api/v1/pipeline-triggers/:name/fire': {
    need: 'write',
    ok: 201,
    build: onTrigger('/fire', 'POST', {}),
  },
};
