import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/2.0/mlflow';
const NOW = 1_700_000_000_000;

// Request bodies below are what the MLflow Python client (2.x) sends: protobuf
// messages rendered by MLflow's `message_to_json` (snake_case, int64 as numbers,
// unset fields left out, NaN/Infinity as strings).
describeEachDatabase('MLflow tracking REST API', ({ database }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(database());
  });
  afterAll(async () => {
    await t.close();
  });
  const post = (path: string, body: unknown) => call(t.app, 'POST', `${API}/${path}`, body);
  const get = (path: string) => call(t.app, 'GET', `${API}/${path}`);

  async function newExperiment(name: string): Promise<string> {
    const created = await post('experiments/create', { name });
    expect(created.status).toBe(200);
    return created.body.experiment_id as string;
  }

  async function newRun(experimentId: string, runName = 'r'): Promise<string> {
    const created = await post('runs/create', {
      experiment_id: experimentId,
      user_id: 'alice',
      start_time: NOW,
      tags: [
        { key: 'mlflow.user', value: 'alice' },
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
      ],
      run_name: runName,
    });
    expect(created.status).toBe(200);
    return created.body.run.info.run_id as string;
  }

  describe('experiments', () => {
    it('has the Default experiment 0, as MLflow clients assume', async () => {
      const res = await get('experiments/get?experiment_id=0');
      expect(res.status).toBe(200);
      expect(res.body.experiment).toMatchObject({
        experiment_id: '0',
        name: 'Default',
        lifecycle_stage: 'active',
        artifact_location: 'mlflow-artifacts:/0',
      });
    });

    it('creates, gets by id and name, renames, tags, deletes and restores', async () => {
      const id = await newExperiment('exp-lifecycle');
      const byName = await get('experiments/get-by-name?experiment_name=exp-lifecycle');
      expect(byName.status).toBe(200);
      expect(byName.body.experiment).toMatchObject({
        experiment_id: id,
        name: 'exp-lifecycle',
        lifecycle_stage: 'active',
        artifact_location: `mlflow-artifacts:/${id}`,
      });
      expect(typeof byName.body.experiment.creation_time).toBe('number');
      expect(typeof byName.body.experiment.last_update_time).toBe('number');

      expect(
        (await post('experiments/set-experiment-tag', { experiment_id: id, key: 'team', value: 'risk' }))
          .status,
      ).toBe(200);
      expect((await post('experiments/update', { experiment_id: id, new_name: 'exp-renamed' })).status).toBe(
        200,
      );
      const renamed = await get(`experiments/get?experiment_id=${id}`);
      expect(renamed.body.experiment.name).toBe('exp-renamed');
      expect(renamed.body.experiment.tags).toEqual([{ key: 'team', value: 'risk' }]);

      expect((await post('experiments/delete', { experiment_id: id })).status).toBe(200);
      expect((await get(`experiments/get?experiment_id=${id}`)).body.experiment.lifecycle_stage).toBe(
        'deleted',
      );
      const active = await post('experiments/search', { max_results: 1000, view_type: 'ACTIVE_ONLY' });
      expect(active.body.experiments.map((e: { name: string }) => e.name)).not.toContain('exp-renamed');
      const deleted = await post('experiments/search', { max_results: 1000, view_type: 'DELETED_ONLY' });
      expect(deleted.body.experiments.map((e: { name: string }) => e.name)).toContain('exp-renamed');
      expect((await post('experiments/restore', { experiment_id: id })).status).toBe(200);
      expect((await get(`experiments/get?experiment_id=${id}`)).body.experiment.lifecycle_stage).toBe(
        'active',
      );
    });

    it('answers a missing name with 404 RESOURCE_DOES_NOT_EXIST (the client then returns None)', async () => {
      const res = await get('experiments/get-by-name?experiment_name=nope-never');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: expect.stringContaining('nope-never'),
      });
    });

    it('refuses a duplicate name with RESOURCE_ALREADY_EXISTS', async () => {
      await newExperiment('dup');
      const res = await post('experiments/create', { name: 'dup' });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    });

    it('lists newest experiments first by default, as MLflow does', async () => {
      const older = await newExperiment('order-older');
      await new Promise((resolve) => setTimeout(resolve, 5));
      const newer = await newExperiment('order-newer');
      const res = await post('experiments/search', { max_results: 2 });
      expect(res.body.experiments.map((e: { experiment_id: string }) => e.experiment_id)).toEqual([
        newer,
        older,
      ]);
    });

    it('searches with filter, order_by and page tokens (GET and POST)', async () => {
      for (const name of ['pg-a', 'pg-b', 'pg-c']) await newExperiment(name);
      const first = await post('experiments/search', {
        max_results: 2,
        filter: "name LIKE 'pg-%'",
        order_by: ['name DESC'],
      });
      expect(first.status).toBe(200);
      expect(first.body.experiments.map((e: { name: string }) => e.name)).toEqual(['pg-c', 'pg-b']);
      expect(typeof first.body.next_page_token).toBe('string');
      const second = await get(
        `experiments/search?max_results=2&filter=${encodeURIComponent("name LIKE 'pg-%'")}&order_by=${encodeURIComponent('name DESC')}&page_token=${encodeURIComponent(first.body.next_page_token)}`,
      );
      expect(second.body.experiments.map((e: { name: string }) => e.name)).toEqual(['pg-a']);
      expect(second.body.next_page_token).toBeUndefined();
    });
  });

  describe('runs', () => {
    let experimentId: string;
    beforeAll(async () => {
      experimentId = await newExperiment('runs-exp');
    });

    it('creates a run with the fields the client reads back', async () => {
      const created = await post('runs/create', {
        experiment_id: experimentId,
        user_id: 'alice',
        start_time: NOW,
        tags: [{ key: 'mlflow.user', value: 'alice' }],
        run_name: 'first',
      });
      expect(created.status).toBe(200);
      const run = created.body.run;
      expect(run.info).toMatchObject({
        run_name: 'first',
        experiment_id: experimentId,
        user_id: 'alice',
        status: 'RUNNING',
        start_time: NOW,
        lifecycle_stage: 'active',
      });
      expect(run.info.run_id).toMatch(/^[0-9a-f]{32}$/);
      expect(run.info.run_uuid).toBe(run.info.run_id);
      expect(run.info.artifact_uri).toBe(`mlflow-artifacts:/${experimentId}/${run.info.run_id}/artifacts`);
      expect(run.info.end_time).toBeUndefined();
      expect(run.data.tags).toEqual(
        expect.arrayContaining([
          { key: 'mlflow.user', value: 'alice' },
          { key: 'mlflow.runName', value: 'first' },
        ]),
      );
    });

    it('logs metrics, params and tags singly and in batches', async () => {
      const runId = await newRun(experimentId);
      expect(
        (
          await post('runs/log-metric', {
            run_id: runId,
            run_uuid: runId,
            key: 'loss',
            value: 0.9,
            timestamp: NOW,
            step: 0,
          })
        ).status,
      ).toBe(200);
      expect(
        (await post('runs/log-parameter', { run_id: runId, run_uuid: runId, key: 'lr', value: '0.01' }))
          .status,
      ).toBe(200);
      expect(
        (await post('runs/set-tag', { run_id: runId, run_uuid: runId, key: 'team', value: 'a' })).status,
      ).toBe(200);
      const batch = await post('runs/log-batch', {
        run_id: runId,
        metrics: [
          { key: 'loss', value: 0.5, timestamp: NOW + 1, step: 1 },
          { key: 'loss', value: 0.7, timestamp: NOW + 2, step: 0 },
          { key: 'acc', value: 'NaN', timestamp: NOW, step: 0 },
          { key: 'big', value: 'Infinity', timestamp: NOW, step: 0 },
        ],
        params: [
          { key: 'lr', value: '0.01' },
          { key: 'depth', value: '3' },
        ],
        tags: [{ key: 'team', value: 'b' }],
      });
      expect(batch.status).toBe(200);
      expect(batch.body).toEqual({});

      const run = (await get(`runs/get?run_id=${runId}`)).body.run;
      const metrics = Object.fromEntries(run.data.metrics.map((m: { key: string }) => [m.key, m]));
      expect(metrics['loss']).toEqual({ key: 'loss', value: 0.5, timestamp: NOW + 1, step: 1 });
      expect(metrics['acc'].value).toBe('NaN');
      expect(metrics['big'].value).toBe('Infinity');
      expect(run.data.params).toEqual(
        expect.arrayContaining([
          { key: 'lr', value: '0.01' },
          { key: 'depth', value: '3' },
        ]),
      );
      expect(run.data.tags).toContainEqual({ key: 'team', value: 'b' });

      const history = await get(`metrics/get-history?run_id=${runId}&run_uuid=${runId}&metric_key=loss`);
      expect(history.status).toBe(200);
      expect(history.body.metrics).toEqual([
        { key: 'loss', value: 0.9, timestamp: NOW, step: 0 },
        { key: 'loss', value: 0.7, timestamp: NOW + 2, step: 0 },
        { key: 'loss', value: 0.5, timestamp: NOW + 1, step: 1 },
      ]);
      const paged = await get(`metrics/get-history?run_id=${runId}&metric_key=loss&max_results=2`);
      expect(paged.body.metrics).toHaveLength(2);
      const rest = await get(
        `metrics/get-history?run_id=${runId}&metric_key=loss&max_results=2&page_token=${encodeURIComponent(paged.body.next_page_token)}`,
      );
      expect(rest.body.metrics).toEqual([{ key: 'loss', value: 0.5, timestamp: NOW + 1, step: 1 }]);
    });

    it('streams long histories whole and in order, NaN included', async () => {
      const runId = await newRun(experimentId);
      const total = 25_500;
      for (let offset = 0; offset < total; offset += 1000) {
        const metrics = Array.from({ length: Math.min(1000, total - offset) }, (_, i) => ({
          key: 'long',
          value: offset + i === 7 ? 'NaN' : (offset + i) / 2,
          timestamp: NOW + offset + i,
          step: total - (offset + i),
        }));
        expect((await post('runs/log-batch', { run_id: runId, metrics })).status).toBe(200);
      }
      const res = await get(`metrics/get-history?run_id=${runId}&metric_key=long`);
      expect(res.status).toBe(200);
      expect(res.body.metrics).toHaveLength(total);
      expect(res.body.metrics[0]).toEqual({
        key: 'long',
        value: (total - 1) / 2,
        timestamp: NOW + total - 1,
        step: 1,
      });
      expect(res.body.metrics.find((m: { step: number }) => m.step === total - 7).value).toBe('NaN');
      const steps = res.body.metrics.map((m: { step: number }) => m.step);
      expect(steps).toEqual([...steps].sort((a: number, b: number) => a - b));
    });

    it('keeps params immutable: another value for a logged key is INVALID_PARAMETER_VALUE', async () => {
      const runId = await newRun(experimentId);
      await post('runs/log-parameter', { run_id: runId, key: 'p', value: 'a' });
      const again = await post('runs/log-parameter', { run_id: runId, key: 'p', value: 'a' });
      expect(again.status).toBe(200);
      const changed = await post('runs/log-parameter', { run_id: runId, key: 'p', value: 'b' });
      expect(changed.status).toBe(400);
      expect(changed.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    });

    it('writes nothing from a batch that is rejected part-way', async () => {
      const runId = await newRun(experimentId);
      await post('runs/log-parameter', { run_id: runId, key: 'fixed', value: '1' });
      const res = await post('runs/log-batch', {
        run_id: runId,
        metrics: [{ key: 'm', value: 1, timestamp: NOW, step: 0 }],
        params: [{ key: 'fixed', value: '2' }],
        tags: [{ key: 't', value: 'x' }],
      });
      expect(res.status).toBe(400);
      const run = (await get(`runs/get?run_id=${runId}`)).body.run;
      expect(run.data.metrics).toEqual([]);
      expect(run.data.tags.find((t: { key: string }) => t.key === 't')).toBeUndefined();
    });

    it('updates status and end time, renames, deletes tags, deletes and restores runs', async () => {
      const runId = await newRun(experimentId, 'before');
      const updated = await post('runs/update', {
        run_id: runId,
        run_uuid: runId,
        status: 'FINISHED',
        end_time: NOW + 5000,
        run_name: 'after',
      });
      expect(updated.status).toBe(200);
      expect(updated.body.run_info).toMatchObject({
        status: 'FINISHED',
        end_time: NOW + 5000,
        run_name: 'after',
      });
      const run = (await get(`runs/get?run_id=${runId}`)).body.run;
      expect(run.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'after' });

      await post('runs/set-tag', { run_id: runId, key: 'gone', value: '1' });
      expect((await post('runs/delete-tag', { run_id: runId, key: 'gone' })).status).toBe(200);
      expect((await post('runs/delete-tag', { run_id: runId, key: 'gone' })).status).toBe(404);

      expect((await post('runs/delete', { run_id: runId })).status).toBe(200);
      expect((await get(`runs/get?run_id=${runId}`)).body.run.info.lifecycle_stage).toBe('deleted');
      const logToDeleted = await post('runs/log-metric', {
        run_id: runId,
        key: 'm',
        value: 1,
        timestamp: NOW,
      });
      expect(logToDeleted.status).toBe(400);
      expect((await post('runs/restore', { run_id: runId })).status).toBe(200);
      expect((await get(`runs/get?run_id=${runId}`)).body.run.info.lifecycle_stage).toBe('active');
    });

    it('records nested runs through the parent-run tag', async () => {
      const parent = await newRun(experimentId, 'parent');
      const child = await post('runs/create', {
        experiment_id: experimentId,
        start_time: NOW,
        tags: [{ key: 'mlflow.parentRunId', value: parent }],
      });
      const childId = child.body.run.info.run_id;
      const found = await post('runs/search', {
        experiment_ids: [experimentId],
        filter: `tags.mlflow.parentRunId = '${parent}'`,
        run_view_type: 'ACTIVE_ONLY',
        max_results: 1000,
        order_by: [],
      });
      expect(found.body.runs.map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([childId]);
    });

    it('logs dataset inputs and returns them with the run', async () => {
      const runId = await newRun(experimentId);
      const res = await post('runs/log-inputs', {
        run_id: runId,
        datasets: [
          {
            tags: [{ key: 'mlflow.data.context', value: 'training' }],
            dataset: {
              name: 'iris',
              digest: 'a1b2c3',
              source_type: 'local',
              source: '{"uri": "/data/iris.csv"}',
              schema: '{"mlflow_colspec": []}',
              profile: '{"num_rows": 150}',
            },
          },
        ],
      });
      expect(res.status).toBe(200);
      const run = (await get(`runs/get?run_id=${runId}`)).body.run;
      expect(run.inputs.dataset_inputs).toEqual([
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: {
            name: 'iris',
            digest: 'a1b2c3',
            source_type: 'local',
            source: '{"uri": "/data/iris.csv"}',
            schema: '{"mlflow_colspec": []}',
            profile: '{"num_rows": 150}',
          },
        },
      ]);
    });

    it('searches with metric filters, OR and parentheses, order_by and pages', async () => {
      const exp = await newExperiment('search-exp');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = await newRun(exp, `run-${i}`);
        ids.push(id);
        await post('runs/log-batch', {
          run_id: id,
          metrics: [{ key: 'acc', value: i / 10, timestamp: NOW, step: 0 }],
          params: [{ key: 'model', value: i % 2 === 0 ? 'tree' : 'linear' }],
        });
      }
      const res = await post('runs/search', {
        experiment_ids: [exp],
        filter: "metrics.acc > 0.15 and (params.model = 'tree' or attributes.run_name = 'run-1')",
        order_by: ['metrics.acc DESC'],
        max_results: 1,
      });
      expect(res.status).toBe(200);
      expect(res.body.runs.map((r: { info: { run_name: string } }) => r.info.run_name)).toEqual(['run-4']);
      const next = await post('runs/search', {
        experiment_ids: [exp],
        filter: "metrics.acc > 0.15 and (params.model = 'tree' or attributes.run_name = 'run-1')",
        order_by: ['metrics.acc DESC'],
        max_results: 10,
        page_token: res.body.next_page_token,
      });
      expect(next.body.runs.map((r: { info: { run_name: string } }) => r.info.run_name)).toEqual(['run-2']);
      const bad = await post('runs/search', { experiment_ids: [exp], filter: 'metrics.acc >' });
      expect(bad.status).toBe(400);
      expect(bad.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    });

    it('stores artifacts through the mlflow-artifacts proxy and lists them per run', async () => {
      const runId = await newRun(experimentId);
      const root = `${experimentId}/${runId}/artifacts`;
      const put = await t.app.inject({
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/MLmodel`,
        payload: 'flavors: {}\n',
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(put.statusCode).toBe(200);
      await t.app.inject({
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/notes.txt`,
        payload: 'hello',
      });
      const download = await t.app.inject({
        method: 'GET',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/notes.txt`,
      });
      expect(download.statusCode).toBe(200);
      expect(download.body).toBe('hello');

      const proxyList = await get(`../mlflow-artifacts/artifacts?path=${encodeURIComponent(root)}`);
      expect(proxyList.status).toBe(200);
      expect(proxyList.body.files).toEqual([
        { path: 'model', is_dir: true },
        { path: 'notes.txt', is_dir: false, file_size: 5 },
      ]);
      const runList = await get(`artifacts/list?run_id=${runId}`);
      expect(runList.body.root_uri).toBe(`mlflow-artifacts:/${root}`);
      expect(runList.body.files).toEqual([
        { path: 'model', is_dir: true },
        { path: 'notes.txt', is_dir: false, file_size: 5 },
      ]);
      const sub = await get(`artifacts/list?run_id=${runId}&path=model`);
      expect(sub.body.files).toEqual([{ path: 'model/MLmodel', is_dir: false, file_size: 12 }]);

      const del = await t.app.inject({
        method: 'DELETE',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/notes.txt`,
      });
      expect(del.statusCode).toBe(200);
      expect((await get(`artifacts/list?run_id=${runId}`)).body.files).toEqual([
        { path: 'model', is_dir: true },
      ]);
    });

    it('stores an empty artifact file sent with no body', async () => {
      const runId = await newRun(experimentId);
      const root = `${experimentId}/${runId}/artifacts`;
      const put = await t.app.inject({
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/empty.txt`,
      });
      expect(put.statusCode).toBe(200);
      const listed = await get(`artifacts/list?run_id=${runId}`);
      expect(listed.body.files).toEqual([{ path: 'empty.txt', is_dir: false, file_size: 0 }]);
      const got = await t.app.inject({
        method: 'GET',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/empty.txt`,
      });
      expect(got.statusCode).toBe(200);
      expect(got.body).toBe('');
    });

    it('records logged models in mlflow.log-model.history the way MLflow does', async () => {
      const runId = await newRun(experimentId);
      const signature = {
        inputs: JSON.stringify(
          Array.from({ length: 300 }, (_, i) => ({ name: `feature_${i}`, type: 'double' })),
        ),
      };
      const model = {
        run_id: runId,
        artifact_path: 'model',
        utc_time_created: '2026-11-26 12:00:00.000000',
        model_uuid: 'abc123',
        flavors: {
          onnx: { onnx_version: '1.17', config: { huge: 'x'.repeat(9000) } },
          python_function: { loader_module: 'mlflow.onnx' },
        },
        signature,
      };
      expect(
        (await post('runs/log-model', { run_id: runId, model_json: JSON.stringify(model) })).status,
      ).toBe(200);
      expect(
        (await post('runs/log-model', { run_id: runId, model_json: JSON.stringify(model) })).status,
      ).toBe(200);
      const run = (await get(`runs/get?run_id=${runId}`)).body.run;
      const history = run.data.tags.find((t: { key: string }) => t.key === 'mlflow.log-model.history');
      const kept = {
        run_id: runId,
        artifact_path: 'model',
        utc_time_created: '2026-11-26 12:00:00.000000',
        model_uuid: 'abc123',
        flavors: { onnx: { onnx_version: '1.17' }, python_function: { loader_module: 'mlflow.onnx' } },
      };
      expect(JSON.parse(history.value)).toEqual([kept, kept]);

      const incomplete = await post('runs/log-model', {
        run_id: runId,
        model_json: JSON.stringify({ run_id: runId, flavors: {} }),
      });
      expect(incomplete.status).toBe(400);
      expect(incomplete.body.message).toContain('artifact_path');
    });

    it('answers multipart-upload probes so MLflow clients fall back to a plain PUT', async () => {
      const res = await call(t.app, 'POST', `/api/2.0/mlflow-artifacts/mpu/create/0/x/artifacts/big.bin`, {
        path: 'big.bin',
        num_parts: 3,
      });
      expect(res.status).toBe(501);
      expect(
        res.body.message.startsWith('Multipart upload is not supported for the current artifact repository'),
      ).toBe(true);
    });

    it('treats deleting a missing artifact as done, like MLflow', async () => {
      const res = await t.app.inject({
        method: 'DELETE',
        url: '/api/2.0/mlflow-artifacts/artifacts/0/none/artifacts/x',
      });
      expect(res.statusCode).toBe(200);
    });
  });
});
