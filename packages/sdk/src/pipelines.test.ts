import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeFileTree,
  parseTreeFrames,
  validatePipelineDefinition,
  type StepRunJson,
} from '@cairn/contract';
import {
  Cairn,
  dataset,
  isCairnError,
  output,
  param,
  parseOutputRef,
  pipeline,
  PipelineDefinitionError,
  step,
  type PipelineRunDetailJson,
} from './index.js';

// The builder, and the pipelines resource against a stand-in fetch: which route
// each method calls, with what, and how answers come back. What the server
// does with them is for its HTTP tests and the end-to-end tests.

describe('pipeline builder', () => {
  const squares = () =>
    pipeline({
      name: 'squares',
      params: { n: 3, items: [1, 2, 3] },
      concurrency: 4,
      steps: {
        make: step({ run: 'seq {{params.n}} > {{outputs.numbers}}', outputs: ['numbers'] }),
        scale: step({
          run: 'echo $(( {{item}} * 2 )) > {{outputs.doubled}}',
          foreach: param('items'),
          outputs: ['doubled'],
          retry: { count: 2, backoff: '1s' },
          timeout: '5m',
          resources: { cpu: 2, memory: '512Mi' },
        }),
        square: step({
          run: 'python square.py {{inputs.numbers}} {{inputs.table}} > {{outputs.squares}}',
          inputs: { numbers: output('make', 'numbers'), table: dataset('churn', 'latest') },
          outputs: ['squares'],
          env: { MODE: 'fast', LEVEL: 3 },
          cache: false,
          code: ['square.py'],
        }),
      },
    });

  it('builds the raw definition a YAML file would parse to, and it validates', () => {
    const definition = squares();
    expect(definition.steps['square']?.inputs).toEqual({
      numbers: 'steps.make.outputs.numbers',
      table: 'dataset:churn@latest',
    });
    expect(definition.steps['scale']?.foreach).toBe('params.items');
    // Plain JSON: no undefined fields left behind.
    expect(JSON.parse(JSON.stringify(definition))).toEqual(definition);
    const result = validatePipelineDefinition(definition);
    expect(result.ok && result.spec.steps.map((s) => s.name)).toEqual(['make', 'scale', 'square']);
  });

  it('writes references with the helpers', () => {
    expect(output('train', 'model')).toBe('steps.train.outputs.model');
    expect(param('k')).toBe('params.k');
    expect(dataset('churn')).toBe('dataset:churn');
    expect(dataset('churn', 3)).toBe('dataset:churn@3');
  });

  it('throws one error listing every problem by step and field', () => {
    let error: unknown;
    try {
      pipeline({
        name: 'bad',
        steps: {
          a: step({ run: 'cat {{inputs.x}}', inputs: { x: output('nope', 'y') } }),
          b: step({ run: 'echo {{params.missing}}', timeout: 'soon' }),
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PipelineDefinitionError);
    expect(isCairnError(error) && error.code).toBe('INVALID_ARGUMENT');
    const problems = (error as PipelineDefinitionError).problems;
    expect(problems.map((p) => `${p.step} ${p.field}`)).toEqual(
      expect.arrayContaining(['a inputs.x', 'b run', 'b timeout']),
    );
    expect((error as Error).message).toMatch(
      /^Pipeline "bad" has 3 problems:\n {2}step "a" › inputs\.x: unknown step "nope"/,
    );
  });

  it('refuses a cycle', () => {
    expect(() =>
      pipeline({
        name: 'loop',
        steps: {
          a: step({ run: 'x', inputs: { i: output('b', 'o') }, outputs: ['o'] }),
          b: step({ run: 'y', inputs: { i: output('a', 'o') }, outputs: ['o'] }),
        },
      }),
    ).toThrow(/cycle: a → b → a/);
  });
});

describe('parseOutputRef', () => {
  it('reads STEP.OUTPUT, with an item index', () => {
    expect(parseOutputRef('train.model')).toEqual({ step: 'train', output: 'model' });
    expect(parseOutputRef('scale[3].doubled')).toEqual({ step: 'scale[3]', output: 'doubled' });
  });
  it.each(['train', 'train.', '.model', 'a.b.c', 'scale[x].o', 'scale[3]'])('refuses %s', (text) => {
    expect(() => parseOutputRef(text)).toThrow(/STEP\.OUTPUT/);
  });
});

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  json: unknown;
  bytes: Uint8Array | undefined;
}

function clientAnswering(answer: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fake: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const headers = { ...(init?.headers as Record<string, string>) };
    const call: Call = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      json: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      bytes: init?.body instanceof Uint8Array ? init.body : undefined,
    };
    calls.push(call);
    return answer(call);
  };
  return { calls, cairn: new Cairn({ url: 'http://cairn.test', fetch: fake, retries: 0 }) };
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function stepRun(name: string, fields: Partial<StepRunJson> = {}): StepRunJson {
  const index = /\[(\d+)\]$/.exec(name)?.[1];
  return {
    id: `sr_${name}`,
    name,
    step: name.replace(/\[\d+\]$/, ''),
    index: index === undefined ? null : Number(index),
    item: null,
    status: 'succeeded',
    cached: false,
    reason: null,
    attempt: 1,
    cacheKey: null,
    cachedFrom: null,
    runId: null,
    outputs: {},
    exitCode: 0,
    error: null,
    stderrTail: null,
    startedAt: 1000,
    endedAt: 2000,
    ...fields,
  };
}

function detail(status: PipelineRunDetailJson['status'], steps: StepRunJson[] = []): PipelineRunDetailJson {
  return {
    id: 'pr_abcdefgh',
    pipeline: 'squares',
    project: 'default',
    status,
    executor: 'local',
    useCache: true,
    params: {},
    trigger: { kind: 'manual' },
    error: null,
    experimentId: '1',
    definitionDigest: `sha256:${'0'.repeat(64)}`,
    codeDigest: null,
    counts: {},
    createdAt: 1,
    startedAt: 1,
    endedAt: status === 'running' ? null : 2,
    createdBy: 'ana',
    steps,
  };
}

describe('cairn.pipelines', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-pipelines-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const definition = { name: 'p', steps: { a: { run: 'python a.py' } } };

  it('run() uploads the code folder framed, then starts the run with its digest', async () => {
    await writeFile(path.join(dir, 'a.py'), 'print(1)');
    await writeFile(path.join(dir, 'pipeline.yaml'), 'name: p');
    const { calls, cairn } = clientAnswering((call) =>
      call.path === '/api/v1/pipeline-code'
        ? json({ digest: 'sha256:code', files: 1, sizeBytes: 8 }, 201)
        : json({ run: detail('running') }, 201),
    );
    const uploaded: unknown[] = [];
    const run = await cairn.pipelines.run(definition, {
      codeDir: dir,
      skip: [path.join(dir, 'pipeline.yaml')],
      params: {},
      noCache: true,
      project: 'risk',
      onCodeUploaded: (code) => uploaded.push(code),
    });
    expect(run.id).toBe('pr_abcdefgh');
    const [upload, start] = calls;
    expect(upload).toMatchObject({ method: 'POST', query: { project: 'risk' } });
    expect(upload?.headers['content-type']).toBe('application/vnd.cairn.tree');
    expect(parseTreeFrames(upload?.bytes ?? new Uint8Array()).map((f) => f.path)).toEqual(['a.py']);
    expect(start).toMatchObject({ method: 'POST', path: '/api/v1/pipeline-runs' });
    expect(start?.json).toEqual({
      definition,
      params: {},
      noCache: true,
      project: 'risk',
      codeDigest: 'sha256:code',
    });
    expect(uploaded).toEqual([{ digest: 'sha256:code', files: 1, sizeBytes: 8, skipped: [] }]);
  });

  it('run() sends no code for an empty folder, and nothing at all for a bad definition', async () => {
    const { calls, cairn } = clientAnswering(() => json({ run: detail('running') }, 201));
    await cairn.pipelines.run(definition, { codeDir: dir });
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/pipeline-runs']);
    expect(calls[0]?.json).toEqual({ definition });
    await expect(cairn.pipelines.run({ name: 'p', steps: {} }, { codeDir: dir })).rejects.toThrow(
      /at least one step/,
    );
    expect(calls).toHaveLength(1);
  });

  it('lists, gets, cancels and resumes on their routes', async () => {
    const { calls, cairn } = clientAnswering((call) => {
      if (call.method === 'GET' && call.path === '/api/v1/pipeline-runs') {
        return json({ runs: [detail('failed')], nextPageToken: 'next' });
      }
      if (call.path.endsWith('/cancel')) return json({ run: detail('cancelling') });
      return json({ run: detail('running', [stepRun('a')]) });
    });
    const page = await cairn.pipelines.list({
      project: 'risk',
      pipeline: 'p',
      status: 'failed',
      maxResults: 5,
    });
    expect(page.nextPageToken).toBe('next');
    expect(calls[0]?.query).toEqual({ project: 'risk', pipeline: 'p', status: 'failed', max_results: '5' });
    expect((await cairn.pipelines.get('pr_abcdefgh')).steps).toHaveLength(1);
    expect((await cairn.pipelines.cancel('pr_abcdefgh')).status).toBe('cancelling');
    await cairn.pipelines.resume('pr_abcdefgh');
    expect(calls.slice(1).map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /api/v1/pipeline-runs/pr_abcdefgh',
      'POST /api/v1/pipeline-runs/pr_abcdefgh/cancel',
      'POST /api/v1/pipeline-runs/pr_abcdefgh/resume',
    ]);
  });

  it('reads a log as text, naming the step and stream', async () => {
    const { calls, cairn } = clientAnswering(
      () => new Response('boom\n', { headers: { 'content-type': 'text/plain' } }),
    );
    expect(await cairn.pipelines.logs('pr_abcdefgh', 'scale[3]', 'stderr')).toBe('boom\n');
    expect(calls[0]).toMatchObject({
      path: '/api/v1/pipeline-runs/pr_abcdefgh/logs',
      query: { step: 'scale[3]', stream: 'stderr' },
    });
  });

  it('keeps the server’s error code and message', async () => {
    const { cairn } = clientAnswering(() =>
      json({ error: { code: 'INVALID_ARGUMENT', message: 'step "a" › run: required' } }, 400),
    );
    const error = await cairn.pipelines.start({ definition: {} }).catch((e: unknown) => e);
    expect(isCairnError(error) && `${error.code}: ${error.message}`).toBe(
      'INVALID_ARGUMENT: step "a" › run: required',
    );
  });

  it('wait() polls until the run has ended and reports each state', async () => {
    const states = ['running', 'running', 'cancelling', 'cancelled'] as const;
    let polls = 0;
    const { cairn } = clientAnswering(() =>
      json({ run: detail(states[Math.min(polls++, 3)] ?? 'cancelled') }),
    );
    const seen: string[] = [];
    const final = await cairn.pipelines.wait('pr_abcdefgh', {
      intervalMs: 50,
      onUpdate: (d) => seen.push(d.status),
    });
    expect(final.status).toBe('cancelled');
    expect(seen).toEqual(['running', 'running', 'cancelling', 'cancelled']);
  });

  it('wait() stops when its signal aborts', async () => {
    const { cairn } = clientAnswering(() => json({ run: detail('running') }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 30);
    await expect(cairn.pipelines.wait('pr_abcdefgh', { signal: controller.signal })).rejects.toThrow('stop');
  });

  it('downloads a file output checked against its digest', async () => {
    const content = 'one\ntwo\n';
    const { calls, cairn } = clientAnswering((call) => {
      if (!call.path.includes('/outputs/')) {
        return json({
          run: detail('succeeded', [
            stepRun('make', {
              outputs: { numbers: { type: 'file', digest: digestOf(content), sizeBytes: 8 } },
            }),
          ]),
        });
      }
      return new Response(content, {
        headers: {
          'x-cairn-output-type': 'file',
          'x-cairn-digest': digestOf(content),
          'content-length': '8',
        },
      });
    });
    const target = path.join(dir, 'out', 'numbers.txt');
    expect(await cairn.pipelines.downloadOutput('pr_abcdefgh', 'make.numbers', target)).toEqual({
      path: target,
      type: 'file',
      files: 1,
      sizeBytes: 8,
    });
    expect(await readFile(target, 'utf8')).toBe(content);
    expect(calls[1]?.path).toBe('/api/v1/pipeline-runs/pr_abcdefgh/outputs/make/numbers');
  });

  it('downloads a directory output file by file, and refuses a file that does not match', async () => {
    const files = { '00000': 'a', '00001/x.txt': 'bb' } as Record<string, string>;
    const tree = encodeFileTree(
      Object.entries(files).map(([p, c]) => ({
        path: p,
        digest: digestOf(c),
        sizeBytes: c.length,
        executable: false,
      })),
    );
    let corrupt = false;
    const { calls, cairn } = clientAnswering((call) => {
      if (!call.path.includes('/outputs/'))
        return json({ run: detail('succeeded', [stepRun('scale[0]'), stepRun('scale[1]')]) });
      const file = call.query['path'];
      if (file === undefined) return new Response(tree, { headers: { 'x-cairn-output-type': 'dir' } });
      return new Response(corrupt ? 'zz' : files[file], { headers: { 'x-cairn-output-type': 'file' } });
    });
    const target = path.join(dir, 'doubled');
    await mkdir(target);
    expect(
      await cairn.pipelines.downloadOutput('pr_abcdefgh', { step: 'scale', output: 'doubled' }, target),
    ).toEqual({
      path: target,
      type: 'dir',
      files: 2,
      sizeBytes: 3,
    });
    expect(await readFile(path.join(target, '00001', 'x.txt'), 'utf8')).toBe('bb');
    expect(
      calls
        .filter((c) => c.query['path'] !== undefined)
        .map((c) => c.query['path'])
        .sort(),
    ).toEqual(['00000', '00001/x.txt']);
    corrupt = true;
    const error = await cairn.pipelines
      .downloadOutput('pr_abcdefgh', 'scale.doubled', path.join(dir, 'again'))
      .catch((e: unknown) => e);
    expect(isCairnError(error) && error.code).toBe('DATA_LOSS');
  });
});
