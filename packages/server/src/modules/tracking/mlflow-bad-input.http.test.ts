import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/2.0/mlflow';
const NOW = 1_700_000_000_000;

const metric = (i: number) => ({ key: `m${i}`, value: i, timestamp: NOW, step: 0 });
const kv = (prefix: string, i: number) => ({ key: `${prefix}${i}`, value: 'v' });

describeEachDatabase('MLflow API bad input', ({ database }) => {
  let t: TestApp;
  let runId: string;
  const post = (path: string, body: unknown) => call(t.app, 'POST', `${API}/${path}`, body);

  beforeAll(async () => {
    t = await createTestApp(database());
    const run = await post('runs/create', { experiment_id: '0', start_time: NOW });
    runId = run.body.run.info.run_id;
  });
  afterAll(async () => {
    await t.close();
  });

  async function runData(): Promise<{ metrics: unknown[]; params: unknown[]; tags: Array<{ key: string }> }> {
    return (await call(t.app, 'GET', `${API}/runs/get?run_id=${runId}`)).body.run.data;
  }

  type Case = [
    name: string,
    path: string,
    body: () => unknown,
    status: number,
    code: string,
    mention?: string,
  ];
  const cases: Case[] = [
    [
      'metric value is a word',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'm', value: 'abc', timestamp: NOW }),
      400,
      'INVALID_PARAMETER_VALUE',
      'value',
    ],
    [
      'metric value is a boolean',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'm', value: true, timestamp: NOW }),
      400,
      'INVALID_PARAMETER_VALUE',
      'value',
    ],
    [
      'metric timestamp missing',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'm', value: 1 }),
      400,
      'INVALID_PARAMETER_VALUE',
      'timestamp',
    ],
    [
      'metric timestamp NaN',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'm', value: 1, timestamp: 'NaN' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'timestamp',
    ],
    [
      'metric step Infinity',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'm', value: 1, timestamp: NOW, step: 'Infinity' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'step',
    ],
    [
      'metric step fractional',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'm', value: 1, timestamp: NOW, step: 1.5 }),
      400,
      'INVALID_PARAMETER_VALUE',
      'step',
    ],
    [
      'metric key missing',
      'runs/log-metric',
      () => ({ run_id: runId, value: 1, timestamp: NOW }),
      400,
      'INVALID_PARAMETER_VALUE',
      'key',
    ],
    [
      'metric key too long',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'k'.repeat(251), value: 1, timestamp: NOW }),
      400,
      'INVALID_PARAMETER_VALUE',
      'key',
    ],
    [
      'metric key climbs out',
      'runs/log-metric',
      () => ({ run_id: runId, key: '../etc', value: 1, timestamp: NOW }),
      400,
      'INVALID_PARAMETER_VALUE',
      'key',
    ],
    [
      'metric key with NUL',
      'runs/log-metric',
      () => ({ run_id: runId, key: 'a\u0000b', value: 1, timestamp: NOW }),
      400,
      'INVALID_PARAMETER_VALUE',
      'key',
    ],
    [
      'unknown run',
      'runs/log-metric',
      () => ({ run_id: 'f'.repeat(32), key: 'm', value: 1, timestamp: NOW }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    ],
    [
      'run id missing',
      'runs/log-metric',
      () => ({ key: 'm', value: 1, timestamp: NOW }),
      400,
      'INVALID_PARAMETER_VALUE',
      'run_id',
    ],
    [
      'param value is a number',
      'runs/log-parameter',
      () => ({ run_id: runId, key: 'p', value: 3 }),
      400,
      'INVALID_PARAMETER_VALUE',
      'value',
    ],
    [
      'param value too long',
      'runs/log-parameter',
      () => ({ run_id: runId, key: 'p', value: 'x'.repeat(6001) }),
      400,
      'INVALID_PARAMETER_VALUE',
      'value',
    ],
    [
      'tag value too long',
      'runs/set-tag',
      () => ({ run_id: runId, key: 't', value: 'x'.repeat(8001) }),
      400,
      'INVALID_PARAMETER_VALUE',
      'value',
    ],
    [
      'tag key is an object',
      'runs/set-tag',
      () => ({ run_id: runId, key: { a: 1 }, value: 'x' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'key',
    ],
    [
      'batch over 1000 metrics',
      'runs/log-batch',
      () => ({ run_id: runId, metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) }),
      400,
      'INVALID_PARAMETER_VALUE',
      'metrics',
    ],
    [
      'batch over 100 params',
      'runs/log-batch',
      () => ({ run_id: runId, params: Array.from({ length: 101 }, (_, i) => kv('p', i)) }),
      400,
      'INVALID_PARAMETER_VALUE',
      'params',
    ],
    [
      'batch over 100 tags',
      'runs/log-batch',
      () => ({ run_id: runId, tags: Array.from({ length: 101 }, (_, i) => kv('t', i)) }),
      400,
      'INVALID_PARAMETER_VALUE',
      'tags',
    ],
    [
      'batch over 1000 items in all',
      'runs/log-batch',
      () => ({
        run_id: runId,
        metrics: Array.from({ length: 950 }, (_, i) => metric(i)),
        params: Array.from({ length: 60 }, (_, i) => kv('p', i)),
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      '1000',
    ],
    [
      'batch metrics not a list',
      'runs/log-batch',
      () => ({ run_id: runId, metrics: { key: 'm' } }),
      400,
      'INVALID_PARAMETER_VALUE',
      'metrics',
    ],
    [
      'batch with one bad metric',
      'runs/log-batch',
      () => ({ run_id: runId, metrics: [metric(1), { key: 'x', value: 'oops', timestamp: NOW }] }),
      400,
      'INVALID_PARAMETER_VALUE',
      'metrics[1].value',
    ],
    [
      'batch with duplicate param keys',
      'runs/log-batch',
      () => ({
        run_id: runId,
        params: [
          { key: 'd', value: '1' },
          { key: 'd', value: '2' },
        ],
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      'd',
    ],
    ['experiment name missing', 'experiments/create', () => ({}), 400, 'INVALID_PARAMETER_VALUE', 'name'],
    [
      'experiment name empty',
      'experiments/create',
      () => ({ name: '' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'name',
    ],
    [
      'experiment name is a list',
      'experiments/create',
      () => ({ name: ['a'] }),
      400,
      'INVALID_PARAMETER_VALUE',
      'name',
    ],
    [
      'unknown experiment',
      'runs/create',
      () => ({ experiment_id: '99999', start_time: NOW }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
    ],
    [
      'experiment id is hostile',
      'runs/create',
      () => ({ experiment_id: "1' or '1'='1" }),
      400,
      'INVALID_PARAMETER_VALUE',
      'experiment_id',
    ],
    [
      'run status unknown',
      'runs/update',
      () => ({ run_id: runId, status: 'DONE' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'status',
    ],
    [
      'malformed filter',
      'runs/search',
      () => ({ experiment_ids: ['0'], filter: "params.p = 'unterminated" }),
      400,
      'INVALID_PARAMETER_VALUE',
      'filter',
    ],
    [
      'filter on unknown attribute',
      'runs/search',
      () => ({ experiment_ids: ['0'], filter: "attributes.color = 'red'" }),
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'bad order_by',
      'runs/search',
      () => ({ experiment_ids: ['0'], order_by: ['metrics.'] }),
      400,
      'INVALID_PARAMETER_VALUE',
    ],
    [
      'max_results too large',
      'runs/search',
      () => ({ experiment_ids: ['0'], max_results: 50_001 }),
      400,
      'INVALID_PARAMETER_VALUE',
      'max_results',
    ],
    [
      'garbage page token',
      'runs/search',
      () => ({ experiment_ids: ['0'], page_token: '!!notatoken' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'page_token',
    ],
    [
      'experiment_ids not a list',
      'runs/search',
      () => ({ experiment_ids: '0' }),
      400,
      'INVALID_PARAMETER_VALUE',
      'experiment_ids',
    ],
    ['body is an array', 'runs/log-batch', () => [1, 2], 400, 'INVALID_PARAMETER_VALUE'],
  ];

  describe('each bad request gets the right code, names the field and writes nothing', () => {
    for (const [name, path, body, status, code, mention] of cases) {
      it(name, async () => {
        const before = await runData();
        const res = await post(path, body());
        expect(res.status).toBe(status);
        expect(res.body.error_code).toBe(code);
        expect(typeof res.body.message).toBe('string');
        if (mention !== undefined) expect(res.body.message).toContain(mention);
        expect(await runData()).toEqual(before);
        expect((await call(t.app, 'GET', '/healthz')).status).toBe(200);
      });
    }
  });

  it('rejects malformed JSON, wrong content and oversized bodies with 4xx', async () => {
    const malformed = await t.app.inject({
      method: 'POST',
      url: `${API}/runs/log-batch`,
      payload: '{"run_id": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body).error_code).toBe('INVALID_PARAMETER_VALUE');

    const huge = await t.app.inject({
      method: 'POST',
      url: `${API}/runs/log-batch`,
      payload: JSON.stringify({ run_id: runId, tags: [{ key: 'k', value: 'x'.repeat(40 * 1024 * 1024) }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.statusCode).toBe(413);

    const unknown = await call(t.app, 'POST', `${API}/runs/frobnicate`, {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('ENDPOINT_NOT_FOUND');
  });

  it('answers huge id and tag lists without a 500', async () => {
    const ids = Array.from({ length: 33_000 }, (_, i) => String(i));
    const search = await post('runs/search', { experiment_ids: ids, max_results: 1 });
    expect(search.status).toBe(200);
    const tags = Array.from({ length: 11_000 }, (_, i) => ({ key: `t${i}`, value: 'v' }));
    const created = await post('runs/create', { experiment_id: '0', start_time: NOW, tags });
    expect(created.status).toBe(200);
    expect(created.body.run.data.tags.length).toBe(11_001);
  });

  it('answers a malformed URL in the MLflow error shape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/2.0/mlflow-artifacts/artifacts/a%zzb' });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('refuses artifact paths that climb out, are absolute or carry NUL', async () => {
    for (const path of [
      '..%2F..%2Fetc',
      'x/%00/y',
      'a/%2e%2e%2f%2e%2e%2fetc',
      'C:%5Cwin',
      '%2Fetc%2Fpasswd',
    ]) {
      const res = await t.app.inject({
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${path}`,
        payload: 'x',
      });
      expect(res.statusCode, path).toBe(400);
      expect(JSON.parse(res.body).error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    // A literal `..` is resolved by HTTP clients before sending; either way nothing may be written.
    const literal = await t.app.inject({
      method: 'PUT',
      url: '/api/2.0/mlflow-artifacts/artifacts/a/../../etc/passwd',
      payload: 'x',
    });
    expect([400, 404]).toContain(literal.statusCode);
    const listing = await call(t.app, 'GET', '/api/2.0/mlflow-artifacts/artifacts?path=');
    expect(listing.body.files.map((f: { path: string }) => f.path)).not.toContain('etc');
    const absolute = await call(
      t.app,
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent('/etc')}`,
    );
    expect(absolute.status).toBe(400);
  });

  it('property: any log-batch either lands whole or leaves the run untouched', async () => {
    const value = fc.oneof(
      fc.double(),
      fc.constantFrom('NaN', 'Infinity', '-Infinity', 'oops', ''),
      fc.boolean(),
      fc.constant(null),
    );
    const key = fc.oneof(fc.constantFrom('a', 'b', 'c/d', 'e.f'), fc.string({ maxLength: 8 }));
    const metricArb = fc.record(
      {
        key,
        value,
        timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 41 }), fc.constant('NaN'), fc.double()),
        step: fc.oneof(fc.integer({ min: -10, max: 1000 }), fc.constant(1.5)),
      },
      { requiredKeys: ['key', 'value'] },
    );
    const tagArb = fc.record({ key, value: fc.string({ maxLength: 10 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(metricArb, { maxLength: 6 }),
        fc.array(tagArb, { maxLength: 4 }),
        async (metrics, tags) => {
          const fresh = (await post('runs/create', { experiment_id: '0', start_time: NOW })).body.run.info
            .run_id;
          const res = await post('runs/log-batch', { run_id: fresh, metrics, tags });
          const data = (await call(t.app, 'GET', `${API}/runs/get?run_id=${fresh}`)).body.run.data;
          if (res.status === 200) {
            const keys = new Set(metrics.map((m) => m.key));
            expect(data.metrics.length).toBe(keys.size);
          } else {
            expect(res.status).toBe(400);
            expect(res.body.error_code).toBe('INVALID_PARAMETER_VALUE');
            expect(data.metrics).toEqual([]);
            expect(data.tags.filter((tag: { key: string }) => tag.key !== 'mlflow.runName')).toEqual([]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
