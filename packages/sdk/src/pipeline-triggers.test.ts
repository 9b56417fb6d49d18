import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTreeFrames } from '@cairn/contract';
import {
  Cairn,
  isCairnError,
  PipelineDefinitionError,
  type PipelineRunDetailJson,
  type PipelineTriggerJson,
} from './index.js';

// The triggers resource against a stand-in fetch: which route each method
// calls, with what, and how answers come back. What the server does with
// them is for its HTTP tests and the end-to-end tests.

interface Call {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  json: unknown;
  bytes: Uint8Array | undefined;
}

function clientAnswering(answer: (call: Call) => Response) {
  const calls: Call[] = [];
  const fake: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const call: Call = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...(init?.headers as Record<string, string>) },
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

function trigger(fields: Partial<PipelineTriggerJson> = {}): PipelineTriggerJson {
  return {
    id: 'pt_0123456789abcdef',
    name: 'nightly',
    project: 'default',
    kind: 'schedule',
    cron: '0 3 * * *',
    timezone: 'Europe/Paris',
    dataset: null,
    alias: null,
    pipeline: 'p',
    params: {},
    executor: 'local',
    enabled: true,
    nextAt: Date.UTC(2026, 10, 28, 2),
    lastSeen: null,
    createdAt: 1,
    createdBy: 'ana',
    ...fields,
  };
}

const run = {
  id: 'pr_abcdefgh',
  pipeline: 'p',
  status: 'running',
  steps: [],
} as unknown as PipelineRunDetailJson;

describe('cairn.pipelines.triggers', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-triggers-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const definition = { name: 'p', steps: { a: { run: 'python a.py' } } };

  it('schedule() uploads the code folder, then saves a schedule named after the pipeline', async () => {
    await writeFile(path.join(dir, 'a.py'), 'print(1)');
    await writeFile(path.join(dir, 'p.yaml'), 'name: p');
    const { calls, cairn } = clientAnswering((call) =>
      call.path === '/api/v1/pipeline-code'
        ? json({ digest: 'sha256:code', files: 1, sizeBytes: 8 }, 201)
        : json({ trigger: trigger() }, 201),
    );
    const uploaded: unknown[] = [];
    const saved = await cairn.pipelines.triggers.schedule(definition, {
      cron: '0 3 * * *',
      timezone: 'Europe/Paris',
      params: { n: 2 },
      executor: 'queue',
      project: 'risk',
      codeDir: dir,
      skip: ['p.yaml'],
      onCodeUploaded: (code) => uploaded.push(code),
    });
    expect(saved.name).toBe('nightly');
    const [upload, create] = calls;
    expect(upload).toMatchObject({
      method: 'POST',
      path: '/api/v1/pipeline-code',
      query: { project: 'risk' },
    });
    expect(parseTreeFrames(upload?.bytes ?? new Uint8Array()).map((f) => f.path)).toEqual(['a.py']);
    expect(create).toMatchObject({ method: 'POST', path: '/api/v1/pipeline-triggers' });
    expect(create?.json).toEqual({
      name: 'p',
      project: 'risk',
      params: { n: 2 },
      executor: 'queue',
      definition,
      codeDigest: 'sha256:code',
      schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' },
    });
    expect(uploaded).toEqual([{ digest: 'sha256:code', files: 1, sizeBytes: 8, skipped: [] }]);
  });

  it('onDataset() saves a dataset trigger under its own name; an empty folder sends no code', async () => {
    const { calls, cairn } = clientAnswering(() => json({ trigger: trigger({ kind: 'dataset' }) }, 201));
    await cairn.pipelines.triggers.onDataset(definition, { name: 'retrain', dataset: 'churn', codeDir: dir });
    await cairn.pipelines.triggers.onDataset(definition, { dataset: 'churn', alias: 'golden' });
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/pipeline-triggers', '/api/v1/pipeline-triggers']);
    expect(calls.map((c) => c.json)).toEqual([
      { name: 'retrain', definition, dataset: { name: 'churn' } },
      { name: 'p', definition, dataset: { name: 'churn', alias: 'golden' } },
    ]);
  });

  it('sends nothing for a definition with mistakes', async () => {
    const { calls, cairn } = clientAnswering(() => json({ trigger: trigger() }, 201));
    const error = await cairn.pipelines.triggers
      .schedule({ name: 'p', steps: {} }, { cron: '* * * * *', codeDir: dir })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineDefinitionError);
    expect(calls).toHaveLength(0);
  });

  it('create() sends the input as it is', async () => {
    const { calls, cairn } = clientAnswering(() => json({ trigger: trigger() }, 201));
    const input = { name: 'n', definition, codeDigest: 'sha256:c', schedule: { cron: '*/5 * * * *' } };
    await cairn.pipelines.triggers.create(input);
    expect(calls[0]?.json).toEqual(input);
  });

  it('lists, gets, pauses, resumes, fires and deletes on their routes, in a project', async () => {
    const { calls, cairn } = clientAnswering((call) => {
      if (call.method === 'GET' && call.path === '/api/v1/pipeline-triggers') {
        return json({ triggers: [trigger(), trigger({ name: 'other' })] });
      }
      if (call.path.endsWith('/fire')) return json({ run }, 201);
      if (call.method === 'DELETE') return json({});
      if (call.method === 'PATCH') {
        return json({ trigger: trigger({ enabled: (call.json as { enabled: boolean }).enabled }) });
      }
      return json({ trigger: trigger() });
    });
    const triggers = cairn.pipelines.triggers;
    const project = { project: 'risk' };
    expect((await triggers.list(project)).map((t) => t.name)).toEqual(['nightly', 'other']);
    expect((await triggers.get('nightly', project)).cron).toBe('0 3 * * *');
    expect((await triggers.pause('nightly', project)).enabled).toBe(false);
    expect((await triggers.resume('nightly', project)).enabled).toBe(true);
    expect((await triggers.fire('nightly', project)).id).toBe('pr_abcdefgh');
    expect(await triggers.delete('nightly', project)).toBeUndefined();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /api/v1/pipeline-triggers',
      'GET /api/v1/pipeline-triggers/nightly',
      'PATCH /api/v1/pipeline-triggers/nightly',
      'PATCH /api/v1/pipeline-triggers/nightly',
      'POST /api/v1/pipeline-triggers/nightly/fire',
      'DELETE /api/v1/pipeline-triggers/nightly',
    ]);
    expect(calls.every((c) => c.query['project'] === 'risk')).toBe(true);
    expect(calls.filter((c) => c.method === 'PATCH').map((c) => c.json)).toEqual([
      { enabled: false },
      { enabled: true },
    ]);
  });

  it('leaves the project out when not given, and encodes the name', async () => {
    const { calls, cairn } = clientAnswering(() => json({ trigger: trigger() }));
    await cairn.pipelines.triggers.get('a b');
    expect(calls[0]).toMatchObject({ path: '/api/v1/pipeline-triggers/a%20b', query: {} });
  });

  it('keeps the server’s error code and message', async () => {
    const { cairn } = clientAnswering(() =>
      json({ error: { code: 'INVALID_ARGUMENT', message: 'cron must have five fields: …' } }, 400),
    );
    const error = await cairn.pipelines.triggers
      .schedule(definition, { cron: '0 * * * * *' })
      .catch((e: unknown) => e);
    expect(isCairnError(error) && `${error.code}: ${error.message}`).toBe(
      'INVALID_ARGUMENT: cron must have five fields: …',
    );
  });
});
