import type { FastifyInstance } from 'fastify';
import { call } from './test-app.js';

const API = '/api/v1';

/** The demo pipeline from issue 7, as its YAML parses. */
export function demoPipeline(factor = 3): Record<string, unknown> {
  return {
    name: 'demo',
    params: { factor },
    steps: {
      make: { run: 'seq 1 100 > {{outputs.numbers}}', outputs: ['numbers'] },
      scale: {
        run: "awk '{print $1 * {{params.factor}}}' {{inputs.numbers}} > {{outputs.scaled}}",
        inputs: { numbers: 'steps.make.outputs.numbers' },
        outputs: ['scaled'],
      },
      total: {
        run: "awk '{s += $1} END {print s}' {{inputs.scaled}} > {{outputs.sum}}",
        inputs: { scaled: 'steps.scale.outputs.scaled' },
        outputs: ['sum'],
      },
    },
  };
}

export async function startRun(
  app: FastifyInstance,
  body: Record<string, unknown>,
): Promise<{ status: number; body: any }> {
  return call(app, 'POST', `${API}/pipeline-runs`, body);
}

/** Polls the run until it ends; fails the test after the timeout. */
export async function waitEnded(app: FastifyInstance, runId: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await call(app, 'GET', `${API}/pipeline-runs/${runId}`);
    if (got.status !== 200) throw new Error(`GET run ${runId}: ${got.status} ${JSON.stringify(got.body)}`);
    const run = got.body.run;
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) return run;
    if (Date.now() > deadline)
      throw new Error(`run ${runId} still ${run.status}: ${JSON.stringify(run.steps)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Polls until a step of the run reaches one of the statuses. */
export async function waitStep(
  app: FastifyInstance,
  input: { run: string; step: string; statuses: string[] },
  timeoutMs = 20_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await call(app, 'GET', `${API}/pipeline-runs/${input.run}`);
    const step = got.body.run.steps.find((s: any) => s.name === input.step);
    if (step !== undefined && input.statuses.includes(step.status)) return step;
    if (Date.now() > deadline)
      throw new Error(`step ${input.step} never reached ${input.statuses.join('/')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function outputText(
  app: FastifyInstance,
  input: { run: string; step: string; output: string; path?: string },
): Promise<{ status: number; type: unknown; text: string }> {
  const query = input.path === undefined ? '' : `?path=${encodeURIComponent(input.path)}`;
  const response = await app.inject({
    method: 'GET',
    url: `${API}/pipeline-runs/${input.run}/outputs/${encodeURIComponent(input.step)}/${input.output}${query}`,
  });
  return { status: response.statusCode, type: response.headers['x-cairn-output-type'], text: response.body };
}

/** `{ name: status }` of every step run, for compact assertions. */
export function statuses(run: any): Record<string, string> {
  return Object.fromEntries(run.steps.map((s: any) => [s.name, s.status]));
}
