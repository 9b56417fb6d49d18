import { treeFrameHeader } from '@cairn/contract';
import type { Method, TestRequest } from './permission-world.js';
import type { BuildContext, RouteRule } from './route-rule.js';

const V1 = '/api/v1';
const send = (method: Method, url: string, json?: unknown): TestRequest =>
  json === undefined ? { method, url } : { method, url, json };

type Build = RouteRule['build'];
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
        definition: { name: `perm-${n}`, steps: { only: { run: 'true' } } },
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
};
