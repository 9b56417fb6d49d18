import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlStores, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { createAuthWorld, type AuthWorld, type WorldMethod } from '../../testing/auth-world.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import type { AuditEvent } from '../governance/index.js';

const ADMIN_TOKEN = 'tracking-admin-token-0123456789abcdef01234567';
const ML = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
const API = '/api/v1';

interface Fixture {
  experimentId: string;
  runId: string;
  /** The run's artifact root in the artifact store: `<experiment>/<run>/artifacts`. */
  root: string;
}

/** One HTTP request of a write route, for a fixture in project p1. */
interface WriteRoute {
  route: string;
  action: string;
  target: 'experiment' | 'run' | 'artifact' | 'new';
  setup?: (f: Fixture) => Request;
  request: (f: Fixture) => Request;
}

type Request = [WorldMethod, string, unknown?] | ['PUT-BYTES', string, string];

const model = (runId: string) =>
  JSON.stringify({ artifact_path: 'model', flavors: { onnx: {} }, utc_time_created: '2026', run_id: runId });

const WRITES: WriteRoute[] = [
  {
    route: 'MLflow experiments/create (tag cairn.project)',
    action: 'experiments.create',
    target: 'new',
    request: () => [
      'POST',
      `${ML}/experiments/create`,
      { name: `e-${randomUUID()}`, tags: [{ key: 'cairn.project', value: 'p1' }] },
    ],
  },
  {
    route: 'native POST /experiments (project)',
    action: 'experiments.create',
    target: 'new',
    request: () => ['POST', `${API}/experiments`, { name: `e-${randomUUID()}`, project: 'p1' }],
  },
  {
    route: 'MLflow experiments/update',
    action: 'experiments.rename',
    target: 'experiment',
    request: (f) => [
      'POST',
      `${ML}/experiments/update`,
      { experiment_id: f.experimentId, new_name: `n-${randomUUID()}` },
    ],
  },
  {
    route: 'MLflow experiments/delete',
    action: 'experiments.delete',
    target: 'experiment',
    request: (f) => ['POST', `${ML}/experiments/delete`, { experiment_id: f.experimentId }],
  },
  {
    route: 'native POST /experiments/{id}/restore',
    action: 'experiments.restore',
    target: 'experiment',
    setup: (f) => ['POST', `${ML}/experiments/delete`, { experiment_id: f.experimentId }],
    request: (f) => ['POST', `${API}/experiments/${f.experimentId}/restore`],
  },
  {
    route: 'MLflow experiments/set-experiment-tag',
    action: 'experiments.tag_set',
    target: 'experiment',
    request: (f) => [
      'POST',
      `${ML}/experiments/set-experiment-tag`,
      { experiment_id: f.experimentId, key: 'k', value: 'v' },
    ],
  },
  {
    route: 'native DELETE /experiments/{id}/tags/{key}',
    action: 'experiments.tag_delete',
    target: 'experiment',
    setup: (f) => [
      'POST',
      `${ML}/experiments/set-experiment-tag`,
      { experiment_id: f.experimentId, key: 'k', value: 'v' },
    ],
    request: (f) => ['DELETE', `${API}/experiments/${f.experimentId}/tags/k`],
  },
  {
    route: 'MLflow runs/create',
    action: 'runs.create',
    target: 'new',
    request: (f) => ['POST', `${ML}/runs/create`, { experiment_id: f.experimentId }],
  },
  {
    route: 'MLflow runs/update',
    action: 'runs.update',
    target: 'run',
    request: (f) => ['POST', `${ML}/runs/update`, { run_id: f.runId, status: 'FINISHED' }],
  },
  {
    route: 'native DELETE /runs/{id}',
    action: 'runs.delete',
    target: 'run',
    request: (f) => ['DELETE', `${API}/runs/${f.runId}`],
  },
  {
    route: 'MLflow runs/restore',
    action: 'runs.restore',
    target: 'run',
    setup: (f) => ['POST', `${ML}/runs/delete`, { run_id: f.runId }],
    request: (f) => ['POST', `${ML}/runs/restore`, { run_id: f.runId }],
  },
  {
    route: 'MLflow runs/log-metric',
    action: 'runs.log_metric',
    target: 'run',
    request: (f) => [
      'POST',
      `${ML}/runs/log-metric`,
      { run_id: f.runId, key: 'auc', value: 0.5, timestamp: 1, step: 0 },
    ],
  },
  {
    route: 'MLflow runs/log-parameter',
    action: 'runs.log_param',
    target: 'run',
    request: (f) => ['POST', `${ML}/runs/log-parameter`, { run_id: f.runId, key: 'lr', value: '0.1' }],
  },
  {
    route: 'MLflow runs/log-batch',
    action: 'runs.log_batch',
    target: 'run',
    request: (f) => [
      'POST',
      `${ML}/runs/log-batch`,
      {
        run_id: f.runId,
        metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 0 }],
        params: [{ key: 'd', value: '3' }],
      },
    ],
  },
  {
    route: 'native POST /runs/{id}/log-batch (metrics only: group commit)',
    action: 'runs.log_batch',
    target: 'run',
    request: (f) => [
      'POST',
      `${API}/runs/${f.runId}/log-batch`,
      { metrics: [{ key: 'loss', value: 2, step: 1 }] },
    ],
  },
  {
    route: 'MLflow runs/set-tag',
    action: 'runs.tag_set',
    target: 'run',
    request: (f) => ['POST', `${ML}/runs/set-tag`, { run_id: f.runId, key: 'note', value: 'x' }],
  },
  {
    route: 'MLflow runs/delete-tag',
    action: 'runs.tag_delete',
    target: 'run',
    setup: (f) => ['POST', `${ML}/runs/set-tag`, { run_id: f.runId, key: 'note', value: 'x' }],
    request: (f) => ['POST', `${ML}/runs/delete-tag`, { run_id: f.runId, key: 'note' }],
  },
  {
    route: 'MLflow runs/log-inputs',
    action: 'runs.log_inputs',
    target: 'run',
    request: (f) => [
      'POST',
      `${ML}/runs/log-inputs`,
      {
        run_id: f.runId,
        datasets: [{ dataset: { name: 'train', digest: 'd1', source_type: 'local', source: '/d' } }],
      },
    ],
  },
  {
    route: 'MLflow runs/log-model',
    action: 'runs.log_model',
    target: 'run',
    request: (f) => ['POST', `${ML}/runs/log-model`, { run_id: f.runId, model_json: model(f.runId) }],
  },
  {
    route: 'MLflow artifact proxy PUT',
    action: 'artifacts.upload',
    target: 'artifact',
    request: (f) => ['PUT-BYTES', `${ARTIFACTS}/${f.root}/model/weights.bin`, 'bytes'],
  },
  {
    route: 'native PUT /runs/{id}/artifacts/{path}',
    action: 'artifacts.upload',
    target: 'artifact',
    request: (f) => ['PUT-BYTES', `${API}/runs/${f.runId}/artifacts/model/weights.bin`, 'bytes'],
  },
  {
    route: 'MLflow artifact proxy DELETE',
    action: 'artifacts.delete',
    target: 'artifact',
    setup: (f) => ['PUT-BYTES', `${ARTIFACTS}/${f.root}/model/weights.bin`, 'bytes'],
    request: (f) => ['DELETE', `${ARTIFACTS}/${f.root}/model/weights.bin`],
  },
];

describeEachDatabase('tracking and artifacts with auth on (HTTP)', ({ database }) => {
  let t: TestApp;
  let world: AuthWorld;
  let stores: MetadataStores;
  let p2: Fixture;

  const send = (who: string, request: Request) =>
    request[0] === 'PUT-BYTES'
      ? world.put(who, request[1], request[2])
      : world.call(who, request[0], request[1], request[2]);

  /** An experiment with one run in a project, made by the admin. */
  async function fixture(project: string): Promise<Fixture> {
    const created = await world.call('admin', 'POST', `${API}/experiments`, {
      name: `e-${randomUUID()}`,
      project,
    });
    const experimentId = created.body.experimentId as string;
    const run = await world.call('admin', 'POST', `${ML}/runs/create`, { experiment_id: experimentId });
    const runId = run.body.run.info.run_id as string;
    await world.call('admin', 'POST', `${ML}/runs/log-metric`, {
      run_id: runId,
      key: 'auc',
      value: 0.9,
      timestamp: 1,
      step: 0,
    });
    await world.put('admin', `${ARTIFACTS}/${experimentId}/${runId}/artifacts/readme.txt`, 'hello');
    return { experimentId, runId, root: `${experimentId}/${runId}/artifacts` };
  }

  const headSeq = async () => (await stores.auditLog.head()).lastSeq;
  const eventsAfter = (seq: number): Promise<AuditEvent[]> =>
    stores.auditLog.query({ afterSeq: seq, order: 'asc', limit: 1000 });

  /** Everything a refused write could have touched, read as the admin. */
  const snapshot = async (f: Fixture) =>
    JSON.stringify([
      (await world.call('admin', 'GET', `${API}/experiments/${f.experimentId}`)).body,
      (await world.call('admin', 'GET', `${API}/runs/${f.runId}`)).body,
      (await world.call('admin', 'POST', `${API}/runs/search`, { experimentIds: [f.experimentId] })).body,
      (await world.call('admin', 'GET', `${ARTIFACTS}?path=${f.root}/model`)).body,
      (await world.call('admin', 'GET', `${API}/experiments`)).body,
    ]);

  beforeAll(async () => {
    t = await createTestApp(database(), { env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN } });
    stores = createSqlStores(database().db, database().helpers);
    world = await createAuthWorld(t.app, {
      adminToken: ADMIN_TOKEN,
      projects: ['p1', 'p2'],
      members: [
        { user: 'alice', roles: { p1: 'viewer' } },
        { user: 'bob', roles: { p1: 'editor' } },
        { user: 'carol', roles: { p2: 'editor' } },
        { user: 'dana', roles: { p1: 'approver' } },
        { user: 'eve', roles: {} },
      ],
    });
    p2 = await fixture('p2');
  });
  afterAll(async () => {
    await t.close();
  });

  describe.each(WRITES)('$route', (write) => {
    it(`as an editor of the project: done, one ${write.action} event by bob in p1`, async () => {
      const f = await fixture('p1');
      if (write.setup !== undefined) expect((await send('admin', write.setup(f))).status).toBeLessThan(300);
      const before = await headSeq();
      const response = await send('bob', write.request(f));
      expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
      const events = await eventsAfter(before);
      expect(events.map((e) => [e.action, e.outcome, e.actor, e.projectId])).toEqual([
        [write.action, 'ok', 'bob', 'p1'],
      ]);
      const target = events[0]!.target;
      if (write.target === 'experiment') expect(target).toEqual({ kind: 'experiment', id: f.experimentId });
      if (write.target === 'run') expect(target).toEqual({ kind: 'run', id: f.runId });
      if (write.target === 'artifact')
        expect(target).toEqual({ kind: 'artifact', id: `${f.root}/model/weights.bin` });
      expect(events[0]!.requestId).not.toBeNull();
    });

    it.each(['alice', 'dana', 'carol', 'eve'])(
      'as %s (viewer, approver, another project, no role): 403 PERMISSION_DENIED, nothing written, one denied event',
      async (who) => {
        const f = await fixture('p1');
        if (write.setup !== undefined) expect((await send('admin', write.setup(f))).status).toBeLessThan(300);
        const [state, before] = [await snapshot(f), await headSeq()];
        const response = await send(who, write.request(f));
        expect(response.status).toBe(403);
        const code = response.body.error_code ?? response.body.error?.code;
        expect(code).toBe('PERMISSION_DENIED');
        expect(await snapshot(f)).toBe(state);
        const events = await eventsAfter(before);
        expect(events.map((e) => [e.action, e.outcome, e.actor])).toEqual([[write.action, 'denied', who]]);
      },
    );
  });

  describe('reads', () => {
    const READS: Array<[string, (f: Fixture) => Request]> = [
      ['MLflow experiments/get', (f) => ['GET', `${ML}/experiments/get?experiment_id=${f.experimentId}`]],
      ['native GET /experiments/{id}', (f) => ['GET', `${API}/experiments/${f.experimentId}`]],
      ['MLflow runs/get', (f) => ['GET', `${ML}/runs/get?run_id=${f.runId}`]],
      [
        'MLflow runs/search naming the experiment',
        (f) => ['POST', `${ML}/runs/search`, { experiment_ids: [f.experimentId] }],
      ],
      [
        'native POST /runs/search naming the experiment',
        (f) => ['POST', `${API}/runs/search`, { experimentIds: [f.experimentId] }],
      ],
      [
        'MLflow metrics/get-history',
        (f) => ['GET', `${ML}/metrics/get-history?run_id=${f.runId}&metric_key=auc`],
      ],
      ['native GET /runs/{id}/metrics/{key}', (f) => ['GET', `${API}/runs/${f.runId}/metrics/auc`]],
      ['MLflow artifacts/list', (f) => ['GET', `${ML}/artifacts/list?run_id=${f.runId}`]],
      ['native GET /runs/{id}/artifacts', (f) => ['GET', `${API}/runs/${f.runId}/artifacts`]],
      [
        'native GET /runs/{id}/artifacts/{path}',
        (f) => ['GET', `${API}/runs/${f.runId}/artifacts/readme.txt`],
      ],
      ['MLflow artifact proxy GET (download)', (f) => ['GET', `${ARTIFACTS}/${f.root}/readme.txt`]],
      ['MLflow artifact proxy listing', (f) => ['GET', `${ARTIFACTS}?path=${f.root}`]],
    ];

    it.each(READS)('%s: the viewer and approver read, others get 403', async (_name, read) => {
      const f = await fixture('p1');
      for (const who of ['alice', 'dana', 'bob']) {
        const response = await send(who, read(f));
        expect([who, response.status]).toEqual([who, 200]);
      }
      for (const who of ['carol', 'eve']) {
        const response = await send(who, read(f));
        expect([who, response.status]).toEqual([who, 403]);
      }
    });

    it('searches list only the experiments and runs of readable projects', async () => {
      const f = await fixture('p1');
      const mlflowIds = async (who: string) =>
        (
          (await world.call(who, 'POST', `${ML}/experiments/search`, { max_results: 1000 })).body
            .experiments ?? []
        ).map((e: { experiment_id: string }) => e.experiment_id);
      const nativeIds = async (who: string) =>
        (await world.call(who, 'GET', `${API}/experiments?maxResults=1000`)).body.experiments.map(
          (e: { experimentId: string; project: string }) => `${e.project}:${e.experimentId}`,
        );
      expect(await mlflowIds('carol')).toEqual([p2.experimentId]);
      expect(await nativeIds('carol')).toEqual([`p2:${p2.experimentId}`]);
      expect(await mlflowIds('alice')).toContain(f.experimentId);
      expect(await mlflowIds('alice')).not.toContain(p2.experimentId);
      expect(await mlflowIds('eve')).toEqual([]);
      const runs = await world.call('carol', 'POST', `${ML}/runs/search`, {
        experiment_ids: [p2.experimentId],
      });
      expect(runs.body.runs.map((r: any) => r.info.run_id)).toEqual([p2.runId]);
    });

    it('MLflow runs/search with ids of another project is refused, even mixed with readable ones', async () => {
      const f = await fixture('p1');
      const mixed = await world.call('carol', 'POST', `${ML}/runs/search`, {
        experiment_ids: [p2.experimentId, f.experimentId],
      });
      expect(mixed.status).toBe(403);
      expect(mixed.body.error_code).toBe('PERMISSION_DENIED');
      expect(JSON.stringify(mixed.body)).not.toContain(f.runId);
    });
  });

  describe('artifact paths outside a run', () => {
    it.each([
      ['the root listing', 'GET', ARTIFACTS, 'bob', 403],
      ['the root listing, as the admin', 'GET', ARTIFACTS, 'admin', 200],
      ['an experiment folder', 'GET', `${ARTIFACTS}?path=1`, 'bob', 403],
      ['_registry itself', 'GET', `${ARTIFACTS}?path=_registry`, 'bob', 403],
    ] as const)('%s: %s → %i', async (_label, method, url, who, status) => {
      expect((await world.call(who, method, url)).status).toBe(status);
    });

    it('a run named under another experiment’s folder is no run’s folder: admins only', async () => {
      const f = await fixture('p1');
      const forged = `${p2.experimentId}/${f.runId}/artifacts/x.txt`;
      expect((await world.put('bob', `${ARTIFACTS}/${forged}`, 'x')).status).toBe(403);
      expect((await world.put('carol', `${ARTIFACTS}/${forged}`, 'x')).status).toBe(403);
    });

    it('model folder uploads (_uploads/) are open to editors of any project, not to viewers', async () => {
      const folder = `_uploads/${randomUUID()}`;
      expect((await world.put('carol', `${ARTIFACTS}/${folder}/model.onnx`, 'm')).status).toBe(200);
      expect((await world.put('alice', `${ARTIFACTS}/${folder}/other.onnx`, 'm')).status).toBe(403);
      expect((await world.put('eve', `${ARTIFACTS}/${folder}/other.onnx`, 'm')).status).toBe(403);
    });
  });

  it('a run belongs to the authenticated caller, whatever user_id and mlflow.user say', async () => {
    const f = await fixture('p1');
    const created = await world.call('bob', 'POST', `${ML}/runs/create`, {
      experiment_id: f.experimentId,
      user_id: 'mallory',
      tags: [{ key: 'mlflow.user', value: 'mallory' }],
    });
    expect(created.body.run.info.user_id).toBe('bob');
    const tags = Object.fromEntries(created.body.run.data.tags.map((x: any) => [x.key, x.value]));
    expect(tags['mlflow.user']).toBe('bob');
  });

  it('an unknown project is NOT_FOUND, naming it', async () => {
    const response = await world.call('admin', 'POST', `${API}/experiments`, {
      name: `e-${randomUUID()}`,
      project: 'nope',
    });
    expect(response.status).toBe(404);
    expect(response.body.error.message).toContain("'nope'");
  });
});

describeEachDatabase('tracking in local mode (auth off, HTTP)', ({ database }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(database());
  });
  afterAll(async () => {
    await t.close();
  });

  it('everything works without credentials and is recorded with actor local', async () => {
    const stores = createSqlStores(database().db, database().helpers);
    const before = (await stores.auditLog.head()).lastSeq;
    const experiment = await call(t.app, 'POST', `${ML}/experiments/create`, { name: 'local' });
    expect(experiment.status).toBe(200);
    const experimentId = experiment.body.experiment_id as string;
    const run = await call(t.app, 'POST', `${ML}/runs/create`, {
      experiment_id: experimentId,
      user_id: 'me',
    });
    const runId = run.body.run.info.run_id as string;
    expect(run.body.run.info.user_id).toBe('me');
    const batch = await call(t.app, 'POST', `${ML}/runs/log-batch`, {
      run_id: runId,
      metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
    });
    expect(batch.status).toBe(200);
    const upload = await t.app.inject({
      method: 'PUT',
      url: `${ARTIFACTS}/${experimentId}/${runId}/artifacts/a.txt`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: 'a',
    });
    expect(upload.statusCode).toBe(200);
    expect((await call(t.app, 'GET', `${ARTIFACTS}`)).status).toBe(200);
    const events = await stores.auditLog.query({ afterSeq: before, order: 'asc', limit: 100 });
    expect(events.map((e) => [e.action, e.actor, e.projectId])).toEqual([
      ['experiments.create', 'local', 'default'],
      ['runs.create', 'local', 'default'],
      ['runs.log_batch', 'local', 'default'],
      ['artifacts.upload', 'local', 'default'],
    ]);
  });
});
