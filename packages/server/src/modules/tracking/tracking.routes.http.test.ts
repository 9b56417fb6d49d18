import { createHash } from 'node:crypto';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  ArtifactListing,
  ArtifactUploadResult,
  ErrorResponse,
  Experiment,
  ExperimentList,
  MetricHistory,
  Run,
  RunInfo,
  RunList,
} from '@cairn/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/v1';
const NOW = 1_700_000_000_000;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The body matches the contract schema, with the first mismatch in the failure message. */
function expectSchema(schema: TSchema, body: unknown): void {
  const first = Value.Errors(schema, body).First();
  expect(first === undefined ? 'ok' : `${first.path}: ${first.message}`).toBe('ok');
  expect(Value.Check(schema, body)).toBe(true);
}

describeEachDatabase('native tracking API /api/v1', ({ database }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(database());
  });
  afterAll(async () => {
    await t.close();
  });

  const api = (method: Method, path: string, payload?: unknown) => call(t.app, method, API + path, payload);
  const putBytes = (path: string, payload: string | Buffer, contentType = 'application/octet-stream') =>
    t.app.inject({ method: 'PUT', url: API + path, payload, headers: { 'content-type': contentType } });

  async function newExperiment(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await api('POST', '/experiments', { name, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.experimentId as string;
  }

  async function newRun(body: Record<string, unknown> = {}): Promise<string> {
    const res = await api('POST', '/runs', { startTime: NOW, ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.info.runId as string;
  }

  describe('experiments', () => {
    it('creates, reads by id and by name, renames, tags, deletes and restores', async () => {
      const created = await api('POST', '/experiments', {
        name: 'native/exp one',
        tags: { team: 'risk', 'mlflow.note.content': 'hello' },
      });
      expect(created.status).toBe(201);
      expectSchema(Experiment, created.body);
      const id = created.body.experimentId as string;
      expect(created.body).toMatchObject({
        name: 'native/exp one',
        lifecycleStage: 'active',
        artifactLocation: `mlflow-artifacts:/${id}`,
        tags: { team: 'risk', 'mlflow.note.content': 'hello' },
      });
      expect(created.body).not.toHaveProperty('projectId');

      const byId = await api('GET', `/experiments/${id}`);
      expect(byId.status).toBe(200);
      expectSchema(Experiment, byId.body);
      expect(byId.body).toEqual(created.body);

      const byName = await api('GET', `/experiments/by-name/${encodeURIComponent('native/exp one')}`);
      expect(byName.status).toBe(200);
      expect(byName.body.experimentId).toBe(id);

      const renamed = await api('PATCH', `/experiments/${id}`, { name: 'native-exp-renamed' });
      expect(renamed.status).toBe(200);
      expectSchema(Experiment, renamed.body);
      expect(renamed.body.name).toBe('native-exp-renamed');

      const tagged = await api('PUT', `/experiments/${id}/tags/${encodeURIComponent('owner/team')}`, {
        value: 'ml',
      });
      expect(tagged.status).toBe(204);
      expect(tagged.body).toBeUndefined();
      expect((await api('DELETE', `/experiments/${id}/tags/team`)).status).toBe(204);
      expect((await api('GET', `/experiments/${id}`)).body.tags).toEqual({
        'owner/team': 'ml',
        'mlflow.note.content': 'hello',
      });

      expect((await api('DELETE', `/experiments/${id}`)).status).toBe(204);
      expect((await api('GET', `/experiments/${id}`)).body.lifecycleStage).toBe('deleted');
      const deleted = await api('GET', '/experiments?viewType=DELETED_ONLY');
      expect(deleted.body.experiments.map((e: Experiment) => e.experimentId)).toContain(id);
      expect((await api('POST', `/experiments/${id}/restore`)).status).toBe(204);
      expect((await api('GET', `/experiments/${id}`)).body.lifecycleStage).toBe('active');
    });

    it('lists with filter, repeated orderBy and pages', async () => {
      for (const name of ['list-b', 'list-a', 'list-c'])
        await newExperiment(name, { tags: { group: 'list' } });
      const first = await api(
        'GET',
        `/experiments?filter=${encodeURIComponent("tags.group = 'list'")}&orderBy=name%20DESC&orderBy=creation_time&maxResults=2`,
      );
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expectSchema(ExperimentList, first.body);
      expect(first.body.experiments.map((e: Experiment) => e.name)).toEqual(['list-c', 'list-b']);
      expect(typeof first.body.nextPageToken).toBe('string');
      const second = await api(
        'GET',
        `/experiments?filter=${encodeURIComponent("tags.group = 'list'")}&orderBy=name%20DESC&maxResults=2&pageToken=${encodeURIComponent(first.body.nextPageToken)}`,
      );
      expect(second.status).toBe(200);
      expectSchema(ExperimentList, second.body);
      expect(second.body.experiments.map((e: Experiment) => e.name)).toEqual(['list-a']);
      expect(second.body).not.toHaveProperty('nextPageToken');

      const single = await api('GET', `/experiments?orderBy=name&viewType=ALL`);
      expect(single.status).toBe(200);
      expect(single.body.experiments.length).toBeGreaterThanOrEqual(4);
    });
  });

  describe('runs', () => {
    let experimentId: string;
    beforeAll(async () => {
      experimentId = await newExperiment('native-runs');
    });

    it('starts a run with tags and a parent, and reads it back', async () => {
      const parent = await newRun({ experimentId, runName: 'parent' });
      const created = await api('POST', '/runs', {
        experimentId,
        runName: 'child',
        startTime: NOW,
        tags: { stage: 'train' },
        parentRunId: parent,
      });
      expect(created.status).toBe(201);
      expectSchema(Run, created.body);
      expect(created.body.info).toMatchObject({
        experimentId,
        runName: 'child',
        status: 'RUNNING',
        startTime: NOW,
        endTime: null,
        lifecycleStage: 'active',
      });
      expect(created.body.data.tags).toMatchObject({
        stage: 'train',
        'mlflow.parentRunId': parent,
        'mlflow.runName': 'child',
      });
      const runId = created.body.info.runId as string;
      expect(created.body.info.artifactUri).toBe(`mlflow-artifacts:/${experimentId}/${runId}/artifacts`);
      const got = await api('GET', `/runs/${runId}`);
      expect(got.status).toBe(200);
      expectSchema(Run, got.body);
      expect(got.body.info).toEqual(created.body.info);

      const defaulted = await api('POST', '/runs', {});
      expect(defaulted.status).toBe(201);
      expect(defaulted.body.info.experimentId).toBe('0');
      expect(typeof defaulted.body.info.startTime).toBe('number');
    });

    it('logs a batch, single params and tags, and returns metric history page by page', async () => {
      const runId = await newRun({ experimentId });
      const before = Date.now();
      const batch = await api('POST', `/runs/${runId}/log-batch`, {
        metrics: [
          { key: 'loss', value: 1.5, timestamp: NOW, step: 0 },
          { key: 'loss', value: 'NaN', timestamp: NOW + 1, step: 1 },
          { key: 'loss', value: 'Infinity', timestamp: NOW + 2, step: 2 },
          { key: 'loss', value: '-Infinity', timestamp: NOW + 3, step: 3 },
          { key: 'acc', value: 0.5 },
        ],
        params: [{ key: 'lr', value: '0.1' }],
        tags: [{ key: 'phase', value: 'a' }],
      });
      expect(batch.status, JSON.stringify(batch.body)).toBe(204);
      expect(batch.body).toBeUndefined();

      expect(
        (await api('PUT', `/runs/${runId}/params/${encodeURIComponent('opt/name')}`, { value: 'adam' }))
          .status,
      ).toBe(204);
      expect(
        (await api('PUT', `/runs/${runId}/tags/${encodeURIComponent('a/b')}`, { value: 'x' })).status,
      ).toBe(204);
      expect((await api('PUT', `/runs/${runId}/tags/gone`, { value: 'y' })).status).toBe(204);
      expect((await api('DELETE', `/runs/${runId}/tags/gone`)).status).toBe(204);

      const run = await api('GET', `/runs/${runId}`);
      expectSchema(Run, run.body);
      expect(run.body.data.params).toEqual({ lr: '0.1', 'opt/name': 'adam' });
      expect(run.body.data.tags).toMatchObject({ phase: 'a', 'a/b': 'x' });
      expect(run.body.data.tags).not.toHaveProperty('gone');
      const acc = run.body.data.metrics.find((m: { key: string }) => m.key === 'acc');
      expect(acc).toMatchObject({ value: 0.5, step: 0 });
      expect(acc.timestamp).toBeGreaterThanOrEqual(before);
      expect(acc.timestamp).toBeLessThanOrEqual(Date.now());

      const all = await api('GET', `/runs/${runId}/metrics/loss`);
      expect(all.status).toBe(200);
      expect(all.headers['content-type']).toMatch(/^application\/json/);
      expectSchema(MetricHistory, all.body);
      expect(all.body.metrics.map((m: { value: unknown }) => m.value)).toEqual([
        1.5,
        'NaN',
        'Infinity',
        '-Infinity',
      ]);
      expect(all.body).not.toHaveProperty('nextPageToken');

      const page1 = await api('GET', `/runs/${runId}/metrics/loss?maxResults=3`);
      expectSchema(MetricHistory, page1.body);
      expect(page1.body.metrics).toHaveLength(3);
      const page2 = await api(
        'GET',
        `/runs/${runId}/metrics/loss?maxResults=3&pageToken=${encodeURIComponent(page1.body.nextPageToken)}`,
      );
      expect(page2.body.metrics).toEqual([{ key: 'loss', value: '-Infinity', timestamp: NOW + 3, step: 3 }]);
    });

    it('updates, searches, deletes and restores runs', async () => {
      const exp = await newExperiment('native-search');
      const a = await newRun({ experimentId: exp, runName: 'run-a' });
      const b = await newRun({ experimentId: exp, runName: 'run-b' });
      await api('POST', `/runs/${a}/log-batch`, { metrics: [{ key: 'acc', value: 0.9, timestamp: NOW }] });
      await api('POST', `/runs/${b}/log-batch`, { metrics: [{ key: 'acc', value: 0.7, timestamp: NOW }] });

      const updated = await api('PATCH', `/runs/${a}`, {
        status: 'FINISHED',
        endTime: NOW + 10,
        runName: 'run-a2',
      });
      expect(updated.status).toBe(200);
      expectSchema(RunInfo, updated.body);
      expect(updated.body).toMatchObject({
        runId: a,
        status: 'FINISHED',
        endTime: NOW + 10,
        runName: 'run-a2',
      });

      const found = await api('POST', '/runs/search', {
        experimentIds: [exp],
        filter: 'metrics.acc > 0.5',
        orderBy: ['metrics.acc DESC'],
        maxResults: 1,
      });
      expect(found.status, JSON.stringify(found.body)).toBe(200);
      expectSchema(RunList, found.body);
      expect(found.body.runs.map((r: Run) => r.info.runId)).toEqual([a]);
      const next = await api('POST', '/runs/search', {
        experimentIds: [exp],
        filter: 'metrics.acc > 0.5',
        orderBy: ['metrics.acc DESC'],
        maxResults: 1,
        pageToken: found.body.nextPageToken,
      });
      expect(next.body.runs.map((r: Run) => r.info.runId)).toEqual([b]);

      expect((await api('DELETE', `/runs/${b}`)).status).toBe(204);
      expect((await api('GET', `/runs/${b}`)).body.info.lifecycleStage).toBe('deleted');
      const active = await api('POST', '/runs/search', { experimentIds: [exp] });
      expect(active.body.runs.map((r: Run) => r.info.runId)).toEqual([a]);
      const deleted = await api('POST', '/runs/search', { experimentIds: [exp], viewType: 'DELETED_ONLY' });
      expect(deleted.body.runs.map((r: Run) => r.info.runId)).toEqual([b]);
      expect((await api('POST', `/runs/${b}/restore`)).status).toBe(204);
      expect((await api('GET', `/runs/${b}`)).body.info.lifecycleStage).toBe('active');
    });

    it('records dataset inputs', async () => {
      const runId = await newRun({ experimentId });
      const res = await api('POST', `/runs/${runId}/inputs`, {
        datasets: [
          {
            dataset: {
              name: 'churn',
              digest: 'abc123',
              sourceType: 'local',
              source: 'file:///data/churn.csv',
              schema: '{}',
            },
            tags: [{ key: 'mlflow.data.context', value: 'training' }],
          },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(204);
      const run = await api('GET', `/runs/${runId}`);
      expectSchema(Run, run.body);
      expect(run.body.inputs.datasetInputs).toEqual([
        {
          dataset: {
            name: 'churn',
            digest: 'abc123',
            sourceType: 'local',
            source: 'file:///data/churn.csv',
            schema: '{}',
          },
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
        },
      ]);
    });
  });

  describe('artifacts', () => {
    it('uploads raw bytes of any type, lists folders and downloads files', async () => {
      const runId = await newRun();
      const bytes = Buffer.from([0, 1, 2, 3, 254, 255]);
      const up = await putBytes(`/runs/${runId}/artifacts/model/weights.bin`, bytes);
      expect(up.statusCode, up.body).toBe(201);
      const result = JSON.parse(up.body);
      expectSchema(ArtifactUploadResult, result);
      expect(result).toEqual({
        path: 'model/weights.bin',
        sizeBytes: 6,
        digest: expect.stringContaining(createHash('sha256').update(bytes).digest('hex')),
      });
      const text = await putBytes(`/runs/${runId}/artifacts/notes%20one.txt`, 'hello', 'text/plain');
      expect(text.statusCode).toBe(201);
      expect(JSON.parse(text.body).path).toBe('notes one.txt');
      const json = await putBytes(`/runs/${runId}/artifacts/metrics.json`, '{"a":1}', 'application/json');
      expect(json.statusCode, json.body).toBe(201);
      const empty = await t.app.inject({ method: 'PUT', url: `${API}/runs/${runId}/artifacts/empty.txt` });
      expect(empty.statusCode, empty.body).toBe(201);
      expect(JSON.parse(empty.body).sizeBytes).toBe(0);

      const root = await api('GET', `/runs/${runId}/artifacts`);
      expect(root.status).toBe(200);
      expectSchema(ArtifactListing, root.body);
      expect(root.body.rootUri).toBe(`mlflow-artifacts:/0/${runId}/artifacts`);
      expect(root.body.files.map((f: { path: string; isDir: boolean }) => [f.path, f.isDir])).toEqual([
        ['empty.txt', false],
        ['metrics.json', false],
        ['model', true],
        ['notes one.txt', false],
      ]);
      const sub = await api('GET', `/runs/${runId}/artifacts?path=model`);
      expectSchema(ArtifactListing, sub.body);
      expect(sub.body.files).toEqual([
        { path: 'model/weights.bin', isDir: false, sizeBytes: 6, digest: result.digest },
      ]);

      const down = await t.app.inject({
        method: 'GET',
        url: `${API}/runs/${runId}/artifacts/model/weights.bin`,
      });
      expect(down.statusCode).toBe(200);
      expect(down.rawPayload.equals(bytes)).toBe(true);
      expect(down.headers['content-type']).toBe('application/octet-stream');
      const note = await t.app.inject({
        method: 'GET',
        url: `${API}/runs/${runId}/artifacts/notes%20one.txt`,
      });
      expect(note.body).toBe('hello');

      // The same files through the MLflow artifact proxy: one store, two faces.
      const viaMlflow = await t.app.inject({
        method: 'GET',
        url: `/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/model/weights.bin`,
      });
      expect(viaMlflow.rawPayload.equals(bytes)).toBe(true);
    });
  });

  describe('bad input', () => {
    let exp: string;
    let runId: string;
    let deletedRun: string;
    beforeAll(async () => {
      exp = await newExperiment('bad-input');
      await newExperiment('bad-input-taken');
      runId = await newRun({ experimentId: exp });
      await api('POST', `/runs/${runId}/log-batch`, {
        metrics: [{ key: 'm', value: 1, timestamp: NOW }],
        params: [{ key: 'p', value: 'one' }],
      });
      expect((await putBytes(`/runs/${runId}/artifacts/keep.txt`, 'keep')).statusCode).toBe(201);
      deletedRun = await newRun({ experimentId: exp });
      expect((await api('DELETE', `/runs/${deletedRun}`)).status).toBe(204);
    });

    /** Everything a bad request could have touched. */
    async function snapshot(): Promise<unknown> {
      const experiments = await api('GET', '/experiments?viewType=ALL&maxResults=1000');
      const ids = experiments.body.experiments.map((e: Experiment) => e.experimentId);
      const runs = await api('POST', '/runs/search', {
        experimentIds: ids,
        viewType: 'ALL',
        maxResults: 1000,
      });
      const history = await api('GET', `/runs/${runId}/metrics/m`);
      const files = await t.app.cairn.services.artifacts.listTree('');
      return { experiments: experiments.body, runs: runs.body, history: history.body, files };
    }

    type Case = {
      name: string;
      method: Method;
      url: () => string;
      body?: () => unknown;
      raw?: string;
      status: number;
      code: string;
      field?: string;
    };
    const cases: Case[] = [
      {
        name: 'experiment name is a number',
        method: 'POST',
        url: () => '/experiments',
        body: () => ({ name: 5 }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'name',
      },
      {
        name: 'experiment name missing',
        method: 'POST',
        url: () => '/experiments',
        body: () => ({}),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'name',
      },
      {
        name: 'experiment name empty',
        method: 'POST',
        url: () => '/experiments',
        body: () => ({ name: '  ' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'name',
      },
      {
        name: 'unknown field',
        method: 'POST',
        url: () => '/experiments',
        body: () => ({ name: 'x1', colour: 'red' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'colour',
      },
      {
        name: 'experiment tag value not a string',
        method: 'POST',
        url: () => '/experiments',
        body: () => ({ name: 'x2', tags: { a: 1 } }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'tags.a',
      },
      {
        name: 'duplicate experiment name',
        method: 'POST',
        url: () => '/experiments',
        body: () => ({ name: 'bad-input' }),
        status: 409,
        code: 'ALREADY_EXISTS',
      },
      {
        name: 'body is not JSON',
        method: 'POST',
        url: () => '/experiments',
        raw: '{"name": ',
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'body is an array',
        method: 'POST',
        url: () => '/experiments',
        body: () => [{ name: 'x3' }],
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'unknown experiment',
        method: 'GET',
        url: () => '/experiments/987654',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'malformed experiment id',
        method: 'GET',
        url: () => '/experiments/a.b',
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'unknown experiment name',
        method: 'GET',
        url: () => '/experiments/by-name/no-such-experiment',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'maxResults not a number',
        method: 'GET',
        url: () => '/experiments?maxResults=ten',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'maxResults',
      },
      {
        name: 'maxResults zero',
        method: 'GET',
        url: () => '/experiments?maxResults=0',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'maxResults',
      },
      {
        name: 'maxResults fractional',
        method: 'GET',
        url: () => '/experiments?maxResults=1.5',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'maxResults',
      },
      {
        name: 'unknown viewType',
        method: 'GET',
        url: () => '/experiments?viewType=EVERYTHING',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'viewType',
      },
      {
        name: 'unknown query parameter',
        method: 'GET',
        url: () => '/experiments?max_results=2',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'max_results',
      },
      {
        name: 'malformed experiment filter',
        method: 'GET',
        url: () => `/experiments?filter=${encodeURIComponent('name = ')}`,
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'malformed page token',
        method: 'GET',
        url: () => '/experiments?pageToken=not-a-token!',
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'rename to a taken name',
        method: 'PATCH',
        url: () => `/experiments/${exp}`,
        body: () => ({ name: 'bad-input-taken' }),
        status: 409,
        code: 'ALREADY_EXISTS',
      },
      {
        name: 'rename unknown experiment',
        method: 'PATCH',
        url: () => '/experiments/987654',
        body: () => ({ name: 'zzz' }),
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'rename without a body',
        method: 'PATCH',
        url: () => `/experiments/${exp}`,
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'delete unknown experiment',
        method: 'DELETE',
        url: () => '/experiments/987654',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'delete the default experiment',
        method: 'DELETE',
        url: () => '/experiments/0',
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'experiment tag value is a number',
        method: 'PUT',
        url: () => `/experiments/${exp}/tags/k`,
        body: () => ({ value: 5 }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'value',
      },
      {
        name: 'experiment tag key invalid',
        method: 'PUT',
        url: () => `/experiments/${exp}/tags/${encodeURIComponent('no!')}`,
        body: () => ({ value: 'v' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'delete missing experiment tag',
        method: 'DELETE',
        url: () => `/experiments/${exp}/tags/nope`,
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'run in unknown experiment',
        method: 'POST',
        url: () => '/runs',
        body: () => ({ experimentId: '987654' }),
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'run startTime is text',
        method: 'POST',
        url: () => '/runs',
        body: () => ({ experimentId: exp, startTime: 'yesterday' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'startTime',
      },
      {
        name: 'run startTime is a numeric string',
        method: 'POST',
        url: () => '/runs',
        body: () => ({ experimentId: exp, startTime: '1700000000000' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'startTime',
      },
      {
        name: 'run tags as a list',
        method: 'POST',
        url: () => '/runs',
        body: () => ({ experimentId: exp, tags: [{ key: 'a', value: 'b' }] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'tags',
      },
      {
        name: 'parentRunId disagrees with the tag',
        method: 'POST',
        url: () => '/runs',
        body: () => ({ experimentId: exp, parentRunId: 'abc', tags: { 'mlflow.parentRunId': 'def' } }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'parentRunId',
      },
      {
        name: 'unknown run',
        method: 'GET',
        url: () => '/runs/0123456789abcdef',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'unknown run status',
        method: 'PATCH',
        url: () => `/runs/${runId}`,
        body: () => ({ status: 'DONE' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'status',
      },
      {
        name: 'update a deleted run',
        method: 'PATCH',
        url: () => `/runs/${deletedRun}`,
        body: () => ({ status: 'FINISHED' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'delete unknown run',
        method: 'DELETE',
        url: () => '/runs/0123456789abcdef',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'metric value is a word',
        method: 'POST',
        url: () => `/runs/${runId}/log-batch`,
        body: () => ({ metrics: [{ key: 'm', value: 'abc' }] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'metrics.0.value',
      },
      {
        name: 'metric value is a boolean',
        method: 'POST',
        url: () => `/runs/${runId}/log-batch`,
        body: () => ({ metrics: [{ key: 'm', value: true }] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'metrics.0.value',
      },
      {
        name: 'metric step is fractional',
        method: 'POST',
        url: () => `/runs/${runId}/log-batch`,
        body: () => ({ metrics: [{ key: 'm', value: 1, step: 0.5 }] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'metrics.0.step',
      },
      {
        name: 'good metric with a bad param key: all or nothing',
        method: 'POST',
        url: () => `/runs/${runId}/log-batch`,
        body: () => ({
          metrics: [{ key: 'm', value: 2, timestamp: NOW }],
          params: [{ key: 'bad key!', value: 'x' }],
        }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'param value changed',
        method: 'POST',
        url: () => `/runs/${runId}/log-batch`,
        body: () => ({
          metrics: [{ key: 'm', value: 3, timestamp: NOW }],
          params: [{ key: 'p', value: 'two' }],
        }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'more than 1000 metrics',
        method: 'POST',
        url: () => `/runs/${runId}/log-batch`,
        body: () => ({
          metrics: Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: NOW, step: i })),
        }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'metrics',
      },
      {
        name: 'log to unknown run',
        method: 'POST',
        url: () => '/runs/0123456789abcdef/log-batch',
        body: () => ({ metrics: [{ key: 'm', value: 1 }] }),
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'log to a deleted run',
        method: 'POST',
        url: () => `/runs/${deletedRun}/log-batch`,
        body: () => ({ metrics: [{ key: 'm', value: 1 }] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'search with experimentIds as a string',
        method: 'POST',
        url: () => '/runs/search',
        body: () => ({ experimentIds: exp }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'experimentIds',
      },
      {
        name: 'search without experimentIds',
        method: 'POST',
        url: () => '/runs/search',
        body: () => ({}),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'experimentIds',
      },
      {
        name: 'malformed run filter',
        method: 'POST',
        url: () => '/runs/search',
        body: () => ({ experimentIds: [exp], filter: 'metrics.acc >' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'malformed orderBy',
        method: 'POST',
        url: () => '/runs/search',
        body: () => ({ experimentIds: [exp], orderBy: ['metrics.acc SIDEWAYS'] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'metric history of unknown run',
        method: 'GET',
        url: () => '/runs/0123456789abcdef/metrics/m',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'metric history maxResults negative',
        method: 'GET',
        url: () => `/runs/${runId}/metrics/m?maxResults=-1`,
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'maxResults',
      },
      {
        name: 'param without a value',
        method: 'PUT',
        url: () => `/runs/${runId}/params/q`,
        body: () => ({}),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'value',
      },
      {
        name: 'param changes value',
        method: 'PUT',
        url: () => `/runs/${runId}/params/p`,
        body: () => ({ value: 'three' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'delete missing run tag',
        method: 'DELETE',
        url: () => `/runs/${runId}/tags/nope`,
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'dataset without digest',
        method: 'POST',
        url: () => `/runs/${runId}/inputs`,
        body: () => ({ datasets: [{ dataset: { name: 'd', sourceType: 'local', source: 's' } }] }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'datasets.0.dataset.digest',
      },
      {
        name: 'artifact path climbs out',
        method: 'PUT',
        url: () => `/runs/${runId}/artifacts/a/..%2F..%2F..%2Fx.txt`,
        raw: 'x',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact path encoded ..',
        method: 'PUT',
        url: () => `/runs/${runId}/artifacts/..%2F..%2Fx.txt`,
        raw: 'x',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact path absolute',
        method: 'PUT',
        url: () => `/runs/${runId}/artifacts//etc/passwd`,
        raw: 'x',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact path with NUL',
        method: 'PUT',
        url: () => `/runs/${runId}/artifacts/x%00.txt`,
        raw: 'x',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact path with a backslash',
        method: 'PUT',
        url: () => `/runs/${runId}/artifacts/..%5Cx.txt`,
        raw: 'x',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact path empty',
        method: 'PUT',
        url: () => `/runs/${runId}/artifacts/`,
        raw: 'x',
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact upload to a deleted run',
        method: 'PUT',
        url: () => `/runs/${deletedRun}/artifacts/x.txt`,
        raw: 'x',
        status: 400,
        code: 'INVALID_ARGUMENT',
      },
      {
        name: 'artifact upload to an unknown run',
        method: 'PUT',
        url: () => '/runs/0123456789abcdef/artifacts/x.txt',
        raw: 'x',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'artifact download of a missing file',
        method: 'GET',
        url: () => `/runs/${runId}/artifacts/missing.txt`,
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'artifact download climbs out',
        method: 'GET',
        url: () => `/runs/${runId}/artifacts/..%2F..%2Fkeep.txt`,
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact listing climbs out',
        method: 'GET',
        url: () => `/runs/${runId}/artifacts?path=${encodeURIComponent('../..')}`,
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'artifact listing absolute',
        method: 'GET',
        url: () => `/runs/${runId}/artifacts?path=${encodeURIComponent('/etc')}`,
        status: 400,
        code: 'INVALID_ARGUMENT',
        field: 'path',
      },
      {
        name: 'unknown route',
        method: 'POST',
        url: () => '/runs/frobnicate/now',
        body: () => ({}),
        status: 404,
        code: 'NOT_FOUND',
      },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.status} ${c.code}, nothing written`, async () => {
        const before = await snapshot();
        const res =
          c.raw !== undefined
            ? await t.app.inject({
                method: c.method,
                url: API + c.url(),
                payload: c.raw,
                headers: {
                  'content-type': c.method === 'PUT' ? 'application/octet-stream' : 'application/json',
                },
              })
            : await t.app.inject({
                method: c.method,
                url: API + c.url(),
                ...(c.body === undefined
                  ? {}
                  : { payload: JSON.stringify(c.body()), headers: { 'content-type': 'application/json' } }),
              });
        const body = JSON.parse(res.body);
        expect(res.statusCode, res.body).toBe(c.status);
        expectSchema(ErrorResponse, body);
        expect(body.error.code).toBe(c.code);
        expect(body.error.requestId).toBe(res.headers['x-request-id']);
        if (c.field !== undefined) expect(body.error.field).toBe(c.field);
        expect(await snapshot()).toEqual(before);
      });
    }
  });

  it('documents every route in /api/v1/openapi.json', async () => {
    const res = await call(t.app, 'GET', `${API}/openapi.json`);
    expect(res.status).toBe(200);
    const paths = res.body.paths as Record<
      string,
      Record<string, { summary?: string; tags?: string[]; responses?: object; requestBody?: object }>
    >;
    const expected: Array<[string, string]> = [
      ['/api/v1/experiments', 'post'],
      ['/api/v1/experiments', 'get'],
      ['/api/v1/experiments/{experimentId}', 'get'],
      ['/api/v1/experiments/by-name/{name}', 'get'],
      ['/api/v1/experiments/{experimentId}', 'patch'],
      ['/api/v1/experiments/{experimentId}', 'delete'],
      ['/api/v1/experiments/{experimentId}/restore', 'post'],
      ['/api/v1/experiments/{experimentId}/tags/{key}', 'put'],
      ['/api/v1/experiments/{experimentId}/tags/{key}', 'delete'],
      ['/api/v1/runs', 'post'],
      ['/api/v1/runs/search', 'post'],
      ['/api/v1/runs/{runId}', 'get'],
      ['/api/v1/runs/{runId}', 'patch'],
      ['/api/v1/runs/{runId}', 'delete'],
      ['/api/v1/runs/{runId}/restore', 'post'],
      ['/api/v1/runs/{runId}/log-batch', 'post'],
      ['/api/v1/runs/{runId}/metrics/{key}', 'get'],
      ['/api/v1/runs/{runId}/params/{key}', 'put'],
      ['/api/v1/runs/{runId}/tags/{key}', 'put'],
      ['/api/v1/runs/{runId}/tags/{key}', 'delete'],
      ['/api/v1/runs/{runId}/inputs', 'post'],
      ['/api/v1/runs/{runId}/artifacts', 'get'],
    ];
    for (const [path, method] of expected) {
      const op = paths[path]?.[method];
      expect(op, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(op?.summary, `${method} ${path}`).toBeTruthy();
      expect(op?.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
      expect(Object.keys(op?.responses ?? {}), `${method} ${path}`).toContain('4XX');
    }
    const wildcard = Object.keys(paths).filter((p) => p.startsWith('/api/v1/runs/{runId}/artifacts/'));
    expect(wildcard).toHaveLength(1);
    const artifactOps = paths[wildcard[0] as string];
    expect(Object.keys(artifactOps ?? {}).sort()).toEqual(['get', 'put']);
    expect(JSON.stringify(artifactOps?.['put']?.requestBody)).toContain('application/octet-stream');
    expect(paths['/api/v1/experiments']?.['post']?.requestBody).toBeDefined();
    expect(Object.keys(paths).every((p) => p.startsWith('/api/v1/'))).toBe(true);
  });
});
