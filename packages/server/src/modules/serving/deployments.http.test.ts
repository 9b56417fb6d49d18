import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { DeploymentJson } from '@cairn/contract';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evaluateMlp, mlpModel } from '../../testing/onnx-builder.js';
import {
  arbitraryInferBody,
  eventually,
  registerVersion,
  setAlias,
  waitFailed,
  waitServed,
} from '../../testing/serving-world.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/v1';
const ROW = Array.from({ length: 20 }, (_, i) => (i - 10) / 7);

function v2Body(rows: number[][], extra: Record<string, unknown> = {}) {
  return {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 20], data: rows.flat() }],
    ...extra,
  };
}

function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 4));
}

describeEachDatabase('deployments: serving ONNX versions over v2 and predict', ({ database }) => {
  let t: TestApp;
  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    call(t.app, method, API + url, body);
  const infer = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/v2/models/${name}/infer`,
      payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });

  beforeAll(async () => {
    t = await createTestApp(database());
    for (const seed of [1, 2]) {
      await registerVersion(t.app, { model: 'mlp', files: { 'model.onnx': mlpModel({ seed }).bytes() } });
    }
    await setAlias(t.app, { model: 'mlp', alias: 'champion', version: 1 });
    await setAlias(t.app, { model: 'mlp', alias: 'challenger', version: 2 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates a deployment from an alias, serves it on v2 and predict, and describes it', async () => {
    const created = await api('POST', '/deployments', { name: 'churn', model: 'mlp@champion' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(Value.Check(DeploymentJson, created.body.deployment)).toBe(true);
    expect(created.body.deployment).toMatchObject({
      name: 'churn',
      revision: 1,
      routes: [{ ref: 'mlp@champion', model: 'mlp', version: 1, weight: 100, format: 'onnx' }],
      follow: null,
    });
    expect(created.body.deployment.port).toBeGreaterThan(0);
    await waitServed(t.app, 'churn', 1);

    const answer = await infer('churn', v2Body([ROW, ROW.map((x) => -x)], { id: 'req-7' }));
    expect(answer.statusCode, answer.body).toBe(200);
    const body = answer.json();
    expect(body).toMatchObject({ model_name: 'churn', model_version: '1', id: 'req-7' });
    expect(body.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [2, 2] });
    expectClose(body.outputs[0].data, evaluateMlp([ROW, ROW.map((x) => -x)], { seed: 1 }).flat());
    expect(answer.headers['x-request-id']).toEqual(expect.any(String));

    const predicted = await api('POST', '/../deployments/churn/predict'.replace('/..', ''), undefined);
    expect(predicted.status).toBe(404);
    const predict = await call(t.app, 'POST', '/deployments/churn/predict', { instances: [ROW] });
    expect(predict.status, JSON.stringify(predict.body)).toBe(200);
    expect(predict.body).toMatchObject({ model: 'mlp', version: 1, requestId: expect.any(String) });
    expectClose(predict.body.predictions[0], evaluateMlp([ROW], { seed: 1 })[0]!);
    const byName = await call(t.app, 'POST', '/deployments/churn/predict', { instances: [{ input: ROW }] });
    expect(byName.body.predictions).toEqual(predict.body.predictions);

    const meta = await call(t.app, 'GET', '/v2/models/churn');
    expect(meta.body).toMatchObject({
      name: 'churn',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 20] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect((await call(t.app, 'GET', '/v2/models/churn/ready')).body).toEqual({ name: 'churn', ready: true });
    expect((await call(t.app, 'GET', '/v2/health/ready')).status).toBe(200);
    expect((await call(t.app, 'GET', '/v2')).body).toMatchObject({ name: 'cairn' });
  });

  it('answers bad inference input with a 400 that names what is wrong, and keeps serving', async () => {
    await waitServed(t.app, 'churn');
    const cases: Array<[unknown, RegExp]> = [
      [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 20], data: ROW }] }, /"x" is not an input/],
      [{ inputs: [{ name: 'input', datatype: 'FP64', shape: [1, 20], data: ROW }] }, /FP64/],
      [{ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 19], data: ROW.slice(1) }] }, /\[1,19\]|19/],
      [
        { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 20], data: ['a', ...ROW.slice(1)] }] },
        /data/,
      ],
      [{ inputs: [] }, /inputs/],
      [
        {
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 20], data: ROW }],
          outputs: [{ name: 'nope' }],
        },
        /nope/,
      ],
      ['not an object', /./],
    ];
    for (const [body, message] of cases) {
      const res = await infer('churn', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toMatch(message);
    }
    const garbage = await t.app.inject({
      method: 'POST',
      url: '/v2/models/churn/infer',
      payload: '{"inputs": [',
      headers: { 'content-type': 'application/json' },
    });
    expect(garbage.statusCode).toBe(400);
    const tooBig = await t.app.inject({
      method: 'POST',
      url: '/v2/models/churn/infer',
      payload: `{"pad": "${'x'.repeat(t.app.cairn.config.bodyLimitBytes + 10)}"}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(tooBig.statusCode).toBe(413);
    expect((await infer('nobody', v2Body([ROW]))).statusCode).toBe(404);
    expect((await infer('churn', v2Body([ROW]))).statusCode).toBe(200);
  });

  it('splits traffic to a canary, sticky by key, and rolls back to any revision', async () => {
    const updated = await api('PATCH', '/deployments/churn', {
      canary: [{ model: 'mlp@challenger', weight: 50 }],
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.deployment.routes).toMatchObject([
      { version: 1, weight: 50 },
      { version: 2, weight: 50 },
    ]);
    await waitServed(t.app, 'churn', 2);
    const versions = new Set<string>();
    for (let i = 0; i < 40; i++) versions.add((await infer('churn', v2Body([ROW]))).json().model_version);
    expect(versions).toEqual(new Set(['1', '2']));
    const sticky = new Set<string>();
    for (let i = 0; i < 10; i++) {
      sticky.add(
        (await infer('churn', v2Body([ROW]), { 'x-cairn-route-key': 'user-42' })).json().model_version,
      );
    }
    expect(sticky.size).toBe(1);
    const pinned = await t.app.inject({
      method: 'POST',
      url: '/v2/models/churn/versions/2/infer',
      payload: v2Body([ROW]),
    });
    expect(pinned.json().model_version).toBe('2');
    expectClose(pinned.json().outputs[0].data, evaluateMlp([ROW], { seed: 2 })[0]!);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/v2/models/churn/versions/9/infer',
      payload: v2Body([ROW]),
    });
    expect(missing.statusCode).toBe(404);

    const back = await api('POST', '/deployments/churn/rollback', { to: 1 });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body.deployment).toMatchObject({ revision: 3, routes: [{ version: 1, weight: 100 }] });
    await waitServed(t.app, 'churn', 3);
    const revisions = await api('GET', '/deployments/churn/revisions');
    expect(revisions.body.revisions.map((r: any) => [r.revision, r.current, r.reason])).toEqual([
      [3, true, 'rolled back to revision 1'],
      [2, false, 'updated'],
      [1, false, 'created'],
    ]);
    const bad = await api('POST', '/deployments/churn/rollback', { to: 99 });
    expect(bad.status).toBe(404);
  });

  it('copies traffic to a shadow, never returns its answers, and summarises how they compare', async () => {
    const updated = await api('PATCH', '/deployments/churn', { shadows: [{ model: 'mlp/2' }] });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    await waitServed(t.app, 'churn', updated.body.deployment.revision);
    for (let i = 0; i < 20; i++) {
      const res = await infer('churn', v2Body([ROW.map((x) => x * (i + 1))]));
      expect(res.json().model_version).toBe('1');
    }
    const summary = await eventually(async () => {
      const res = await api('GET', '/deployments/churn/shadow');
      const row = res.body.shadows?.[0];
      return row !== undefined && row.compared >= 20 ? row : undefined;
    });
    expect(summary).toMatchObject({ model: 'mlp', version: 2, errors: 0 });
    expect(summary.agreementRate).toBeGreaterThanOrEqual(0);
    expect(summary.agreementRate).toBeLessThanOrEqual(1);
    expect(summary.meanAbsDiff).toBeGreaterThan(0);
    expect(summary.meanLatencyMs).toBeGreaterThan(0);
  });

  it('logs predictions and joins ground truth sent later by request id', async () => {
    const res = await infer('churn', v2Body([ROW]), { 'x-request-id': 'truth-me-1' });
    expect(res.headers['x-request-id']).toBe('truth-me-1');
    const fed = await call(t.app, 'POST', '/deployments/churn/feedback', {
      requestId: 'truth-me-1',
      truth: [0, 1],
    });
    expect(fed.status, JSON.stringify(fed.body)).toBe(200);
    expect(fed.body).toEqual({ accepted: 1 });
    const logged = await eventually(async () => {
      const page = await api('GET', '/deployments/churn/predictions?kind=live&max_results=50');
      return page.body.predictions.find((p: any) => p.requestId === 'truth-me-1');
    });
    expect(logged).toMatchObject({
      kind: 'live',
      model: 'mlp',
      version: 1,
      protocol: 'v2',
      status: 'ok',
      truth: [0, 1],
    });
    expect(logged.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32', shape: [1, 20] });
    for (const bad of [{}, { requestId: '' }, { requestId: 'x' }, { items: [] }, [1]]) {
      expect(
        (await call(t.app, 'POST', '/deployments/churn/feedback', bad)).status,
        JSON.stringify(bad),
      ).toBe(400);
    }
    expect((await api('GET', '/deployments/churn/predictions?kind=nope')).status).toBe(400);
  });

  it('refuses a corrupted model file at load and keeps the old revision serving', async () => {
    const v3 = await registerVersion(t.app, {
      model: 'mlp',
      files: { 'model.onnx': mlpModel({ seed: 3 }).bytes() },
    });
    const files = await api('GET', `/models/mlp/versions/${v3.version}/files`);
    const digest: string = files.body.files[0].digest;
    const hex = digest.slice('sha256:'.length);
    const blob = path.join(t.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    writeFileSync(blob, bytes);
    const before = (await api('GET', '/deployments/churn')).body.deployment.revision;
    const updated = await api('PATCH', '/deployments/churn', { model: `mlp/${v3.version}` });
    expect(updated.status).toBe(200);
    const failed = await waitFailed(t.app, 'churn');
    expect(failed.status.servedRevision).toBe(before);
    expect(failed.status.message).toMatch(/digest|sha256|match/i);
    const still = await infer('churn', v2Body([ROW]));
    expect(still.statusCode).toBe(200);
    expect(still.json().model_version).toBe('1');
  });

  it('rolls a follow-mode deployment when its alias moves, with an audit event and lineage', async () => {
    const created = await api('POST', '/deployments', {
      name: 'follower',
      model: 'mlp@champion',
      follow: true,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.deployment.follow).toEqual({ model: 'mlp', alias: 'champion' });
    await waitServed(t.app, 'follower', 1);
    await setAlias(t.app, { model: 'mlp', alias: 'champion', version: 2 });
    const rolled = await eventually(async () => {
      const res = await api('GET', '/deployments/follower');
      return res.body.deployment.revision === 2 ? res.body.deployment : undefined;
    });
    expect(rolled.routes[0]).toMatchObject({ ref: 'mlp@champion', version: 2 });
    await waitServed(t.app, 'follower', 2);
    expect((await infer('follower', v2Body([ROW]))).json().model_version).toBe('2');
    const audit = await api('GET', '/audit/events?action=deployments.follow');
    expect(audit.body.events.length).toBeGreaterThanOrEqual(1);
    const bad = await api('POST', '/deployments', { name: 'nofollow', model: 'mlp/1', follow: true });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('follow');
  });

  it('exposes Prometheus metrics per deployment and version', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(
      /cairn_serving_requests_total\{deployment="churn",version="1",protocol="v2",outcome="ok"\} \d+/,
    );
    expect(res.body).toMatch(/cairn_serving_request_duration_seconds_bucket\{[^}]*deployment="churn"/);
  });

  it('refuses bad deployment changes with a clear 4xx and writes nothing', async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ['/deployments', { name: 'a b', model: 'mlp/1' }, 400, 'name'],
      ['/deployments', { name: 'x1' }, 400, 'model'],
      ['/deployments', { name: 'x1', model: 'nosuch/1' }, 404, 'model'],
      ['/deployments', { name: 'x1', model: 'mlp/77' }, 404, 'model'],
      [
        '/deployments',
        { name: 'x1', model: 'mlp/1', canary: [{ model: 'mlp/2', weight: 100 }] },
        400,
        'canary[0].weight',
      ],
      [
        '/deployments',
        { name: 'x1', model: 'mlp/1', canary: [{ model: 'mlp/1', weight: 10 }] },
        400,
        'canary',
      ],
      [
        '/deployments',
        { name: 'x1', model: 'mlp/1', settings: { maxBatchSize: 0 } },
        400,
        'settings.maxBatchSize',
      ],
      ['/deployments', { name: 'x1', model: 'mlp/1', settings: { bogus: 1 } }, 400, 'settings.bogus'],
      ['/deployments', { name: 'x1', model: 'mlp/1', port: 80 }, 400, 'port'],
      ['/deployments', { name: 'churn', model: 'mlp/1' }, 409, 'name'],
    ];
    for (const [url, body, status, field] of cases) {
      const res = await api('POST', url, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.field).toBe(field);
    }
    expect((await api('GET', '/deployments/x1')).status).toBe(404);
    expect((await api('POST', '/deployments/churn/rollback', { to: 'abc' })).status).toBe(400);
  });

  it('answers a flood past the queue bound with 503 and Retry-After, then serves again', async () => {
    const created = await api('POST', '/deployments', {
      name: 'tight',
      model: 'mlp/1',
      port: null,
      settings: { maxQueue: 2, maxBatchSize: 1 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await waitServed(t.app, 'tight', 1);
    const answers = await Promise.all(Array.from({ length: 300 }, () => infer('tight', v2Body([ROW]))));
    const statuses = new Set(answers.map((a) => a.statusCode));
    expect([...statuses].every((s) => s === 200 || s === 503)).toBe(true);
    const refused = answers.filter((a) => a.statusCode === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.headers['retry-after']).toBe('1');
    expect(refused[0]!.json().error).toMatch(/overloaded/);
    expect((await infer('tight', v2Body([ROW]))).statusCode).toBe(200);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /cairn_serving_requests_total\{deployment="tight",version="1",protocol="v2",outcome="UNAVAILABLE"\}/,
    );
  });

  it('never answers an arbitrary body with a 5xx (property)', async () => {
    expect((await api('POST', '/deployments', { name: 'fuzz', model: 'mlp/1', port: null })).status).toBe(
      201,
    );
    await waitServed(t.app, 'fuzz', 1);
    const body = arbitraryInferBody(ROW);
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const res = await infer('fuzz', value);
        expect([200, 400]).toContain(res.statusCode);
        const predict = await call(t.app, 'POST', '/deployments/fuzz/predict', value);
        expect([200, 400]).toContain(predict.status);
      }),
      { numRuns: 150 },
    );
  });

  it('records a deployed lineage edge from every version a revision serves', async () => {
    const v1 = (await api('GET', '/models/mlp/versions/1')).body;
    const graph = await api('GET', `/lineage/model_version/${v1.versionId}/downstream`);
    expect(graph.status, JSON.stringify(graph.body)).toBe(200);
    const deployments = graph.body.nodes.filter((n: any) => n.kind === 'deployment').map((n: any) => n.label);
    expect(deployments).toEqual(expect.arrayContaining(['churn', 'follower']));
    for (const action of ['deployments.create', 'deployments.update', 'deployments.rollback']) {
      const found = await api('GET', `/audit/events?action=${action}`);
      expect(found.body.events.length, action).toBeGreaterThan(0);
    }
  });
});
