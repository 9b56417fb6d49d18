import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
const MARCH_1 = Date.UTC(2026, 2, 1);

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Fields = Record<string, unknown>;

const mlmodel = (runId: string): string =>
  [
    'artifact_path: model',
    'flavors:',
    '  python_function:',
    '    env:',
    '      conda: conda.yaml',
    '      virtualenv: python_env.yaml',
    '    loader_module: mlflow.sklearn',
    '    model_path: model.pkl',
    '    predict_fn: predict',
    '    python_version: 3.11.7',
    '  sklearn:',
    '    code: null',
    '    pickled_model: model.pkl',
    '    serialization_format: cloudpickle',
    '    sklearn_version: 1.4.0',
    'mlflow_version: 2.12.1',
    'model_uuid: 0c7a4f3e5b0d4c2a9f1e2d3c4b5a6978',
    `run_id: ${runId}`,
    'signature:',
    '  inputs: \'[{"type": "double", "name": "tenure", "required": true}]\'',
    '  outputs: \'[{"type": "long", "required": true}]\'',
    '  params: null',
    "utc_time_created: '2026-03-01 12:00:00.000000'",
    '',
  ].join('\n');

const PICKLE_V1 = Buffer.from([0x80, 0x05, 0x95, 0x01, 0x02, 0x03, 0x2e]);
const PICKLE_V2 = Buffer.from([0x80, 0x05, 0x95, 0x09, 0x09, 0x09, 0x2e]);

// Requests below are what the MLflow 2.x Python client sends: RestStore renders
// each proto message with `message_to_json`; GET calls put the fields in the
// query string (requests encodes lists as repeated keys and spaces as '+'),
// every other method — DELETE included — sends them as a JSON body.
describeEachDatabase('MLflow model registry REST API', ({ database }) => {
  let t: TestApp;
  let now = MARCH_1;

  function mlflow(method: Method, endpoint: string, fields: Fields = {}) {
    if (method !== 'GET') return call(t.app, method, `${API}/${endpoint}`, fields);
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(fields)) {
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
    }
    const qs = params.toString();
    return call(t.app, 'GET', `${API}/${endpoint}${qs === '' ? '' : `?${qs}`}`);
  }

  async function ok(method: Method, endpoint: string, fields: Fields = {}): Promise<any> {
    const res = await mlflow(method, endpoint, fields);
    expect(res.status, `${method} ${endpoint}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  }

  const putArtifact = (path: string, bytes: string | Buffer) =>
    t.app.inject({
      method: 'PUT',
      url: `${ARTIFACTS}/${path}`,
      payload: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });

  /** A run with an MLflow model logged under `model/`, as `mlflow.sklearn.log_model` leaves it. */
  async function runWithModel(): Promise<{ runId: string; artifactUri: string }> {
    const run = await ok('POST', 'runs/create', { experiment_id: '0', start_time: now });
    const runId: string = run.run.info.run_id;
    const artifactUri: string = run.run.info.artifact_uri;
    const root = artifactUri.replace(/^mlflow-artifacts:\//, '');
    const files: Array<[string, string | Buffer]> = [
      ['model/MLmodel', mlmodel(runId)],
      ['model/model.pkl', PICKLE_V1],
      ['model/conda.yaml', 'name: mlflow-env\ndependencies:\n- python=3.11.7\n'],
      ['model/python_env.yaml', 'python: 3.11.7\n'],
      ['model/requirements.txt', 'mlflow==2.12.1\nscikit-learn==1.4.0\n'],
      ['model/metadata/requirements.txt', 'mlflow==2.12.1\n'],
    ];
    for (const [path, bytes] of files)
      expect((await putArtifact(`${root}/${path}`, bytes)).statusCode).toBe(200);
    return { runId, artifactUri };
  }

  /**
   * What `HttpArtifactRepository.download_artifacts` does for a download URI:
   * list the folder (`?path=`), recurse into folders, GET every file.
   */
  async function download(artifactUri: string): Promise<Map<string, Buffer>> {
    const root = artifactUri.replace(/^mlflow-artifacts:\//, '');
    const files = new Map<string, Buffer>();
    const walk = async (dir: string): Promise<void> => {
      const path = dir === '' ? root : `${root}/${dir}`;
      const listing = await call(t.app, 'GET', `${ARTIFACTS}?path=${encodeURIComponent(path)}`);
      expect(listing.status).toBe(200);
      for (const entry of listing.body.files ?? []) {
        const rel = dir === '' ? entry.path : `${dir}/${entry.path}`;
        if (entry.is_dir) {
          await walk(rel);
          continue;
        }
        const res = await t.app.inject({ method: 'GET', url: `${ARTIFACTS}/${root}/${rel}` });
        expect(res.statusCode, rel).toBe(200);
        expect(res.rawPayload.length).toBe(entry.file_size);
        files.set(rel, res.rawPayload);
      }
    };
    await walk('');
    return files;
  }

  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => now } });
  });
  afterAll(async () => {
    await t.close();
  });

  describe('mlflow.register_model("runs:/<id>/model", "churn")', () => {
    let runId: string;
    let artifactUri: string;

    beforeAll(async () => {
      ({ runId, artifactUri } = await runWithModel());
    });

    it('creates the model, tolerates a second create, registers versions and reports READY', async () => {
      now += 1_000;
      const created = await ok('POST', 'registered-models/create', { name: 'churn' });
      // Empty repeated fields and unset strings are left out, as MLflow's proto-JSON does.
      expect(created).toEqual({
        registered_model: { name: 'churn', creation_timestamp: now, last_updated_timestamp: now },
      });
      const again = await mlflow('POST', 'registered-models/create', { name: 'churn' });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({
        error_code: 'RESOURCE_ALREADY_EXISTS',
        message: 'Registered Model (name=churn) already exists.',
      });

      // The client resolves runs:/ to the run's artifact URI before sending it.
      now += 1_000;
      const first = await ok('POST', 'model-versions/create', {
        name: 'churn',
        source: `${artifactUri}/model`,
        run_id: runId,
      });
      expect(first.model_version).toEqual({
        name: 'churn',
        version: '1',
        creation_timestamp: now,
        last_updated_timestamp: now,
        user_id: 'local',
        current_stage: 'None',
        source: `${artifactUri}/model`,
        run_id: runId,
        status: 'READY',
      });
      // `await_creation_for` polls until the status leaves PENDING_REGISTRATION.
      const polled = await ok('GET', 'model-versions/get', { name: 'churn', version: '1' });
      expect(polled.model_version).toEqual(first.model_version);

      // Older clients and other tools send the runs:/ URI itself.
      const second = await ok('POST', 'model-versions/create', {
        name: 'churn',
        source: `runs:/${runId}/model`,
        run_id: runId,
        tags: [{ key: 'team', value: 'risk' }],
        description: 'weekly retrain',
      });
      expect(second.model_version).toMatchObject({
        version: '2',
        source: `runs:/${runId}/model`,
        run_id: runId,
        description: 'weekly retrain',
        tags: [{ key: 'team', value: 'risk' }],
        status: 'READY',
      });

      const model = await ok('GET', 'registered-models/get', { name: 'churn' });
      expect(
        model.registered_model.latest_versions.map((v: Fields) => [v['version'], v['current_stage']]),
      ).toEqual([['2', 'None']]);
    });

    it('serves models:/churn@champion downloads from the pinned files, read-only', async () => {
      expect(
        await ok('POST', 'registered-models/alias', { name: 'churn', alias: 'champion', version: '1' }),
      ).toEqual({});
      const model = await ok('GET', 'registered-models/get', { name: 'churn' });
      expect(model.registered_model.aliases).toEqual([{ alias: 'champion', version: '1' }]);

      // load_model("models:/churn@champion"): alias → version → download URI → artifact proxy.
      const byAlias = await ok('GET', 'registered-models/alias', { name: 'churn', alias: 'champion' });
      expect(byAlias.model_version).toMatchObject({ name: 'churn', version: '1', aliases: ['champion'] });
      expect(await ok('GET', 'model-versions/get-by-alias', { name: 'churn', alias: 'champion' })).toEqual(
        byAlias,
      );
      const uri = await ok('GET', 'model-versions/get-download-uri', { name: 'churn', version: '1' });
      expect(uri.artifact_uri).toMatch(/^mlflow-artifacts:\/_registry\/[^/]+$/);
      const files = await download(uri.artifact_uri);
      expect([...files.keys()].sort()).toEqual([
        'MLmodel',
        'conda.yaml',
        'metadata/requirements.txt',
        'model.pkl',
        'python_env.yaml',
        'requirements.txt',
      ]);
      expect(files.get('model.pkl')).toEqual(PICKLE_V1);
      expect(files.get('MLmodel')?.toString()).toBe(mlmodel(runId));

      // The run's artifact is overwritten; the registered version keeps its bytes.
      const root = artifactUri.replace(/^mlflow-artifacts:\//, '');
      expect((await putArtifact(`${root}/model/model.pkl`, PICKLE_V2)).statusCode).toBe(200);
      const runCopy = await t.app.inject({ method: 'GET', url: `${ARTIFACTS}/${root}/model/model.pkl` });
      expect(runCopy.rawPayload).toEqual(PICKLE_V2);
      expect((await download(uri.artifact_uri)).get('model.pkl')).toEqual(PICKLE_V1);

      const pinned = uri.artifact_uri.replace(/^mlflow-artifacts:\//, '');
      const put = await putArtifact(`${pinned}/model.pkl`, PICKLE_V2);
      expect(put.statusCode).toBe(403);
      expect(put.json().error_code).toBe('PERMISSION_DENIED');
      const del = await t.app.inject({ method: 'DELETE', url: `${ARTIFACTS}/${pinned}/model.pkl` });
      expect(del.statusCode).toBe(403);
      expect(del.json().error_code).toBe('PERMISSION_DENIED');
      expect((await download(uri.artifact_uri)).get('model.pkl')).toEqual(PICKLE_V1);
    });

    it('moves and deletes aliases with JSON bodies on DELETE, as MLflow does', async () => {
      await ok('POST', 'registered-models/alias', { name: 'churn', alias: 'champion', version: '2' });
      await ok('POST', 'registered-models/alias', { name: 'churn', alias: 'challenger', version: '1' });
      const v2 = await ok('GET', 'model-versions/get', { name: 'churn', version: '2' });
      expect(v2.model_version.aliases).toEqual(['champion']);
      const model = await ok('GET', 'registered-models/get', { name: 'churn' });
      expect(model.registered_model.aliases).toEqual([
        { alias: 'challenger', version: '1' },
        { alias: 'champion', version: '2' },
      ]);

      expect(await ok('DELETE', 'registered-models/alias', { name: 'churn', alias: 'challenger' })).toEqual(
        {},
      );
      const gone = await mlflow('GET', 'registered-models/alias', { name: 'churn', alias: 'challenger' });
      expect(gone.status).toBe(400);
      expect(gone.body).toEqual({
        error_code: 'INVALID_PARAMETER_VALUE',
        message: 'Registered model alias challenger not found.',
      });
      // Deleting an alias that is not set is done, as in MLflow's store.
      await ok('DELETE', 'registered-models/alias', { name: 'churn', alias: 'challenger' });
      const v1 = await ok('GET', 'model-versions/get', { name: 'churn', version: '1' });
      expect(v1.model_version).not.toHaveProperty('aliases');
    });

    it('is served under /ajax-api too', async () => {
      const res = await call(t.app, 'GET', '/ajax-api/2.0/mlflow/registered-models/get?name=churn');
      expect(res.status).toBe(200);
      expect(res.body.registered_model.name).toBe('churn');
    });
  });

  describe('stages', () => {
    let source: string;
    beforeAll(async () => {
      const { artifactUri } = await runWithModel();
      source = `${artifactUri}/model`;
      await ok('POST', 'registered-models/create', { name: 'stages' });
      for (let i = 0; i < 4; i++) await ok('POST', 'model-versions/create', { name: 'stages', source });
    });

    it('transitions, archives the others on request, and reports the latest per stage', async () => {
      const toProd = await ok('POST', 'model-versions/transition-stage', {
        name: 'stages',
        version: '1',
        stage: 'Production',
        archive_existing_versions: false,
      });
      expect(toProd.model_version).toMatchObject({ version: '1', current_stage: 'Production' });
      // Stage names are matched without regard to case, as MLflow does.
      await ok('POST', 'model-versions/transition-stage', {
        name: 'stages',
        version: '2',
        stage: 'staging',
        archive_existing_versions: false,
      });
      now += 1_000;
      const archived = await ok('POST', 'model-versions/transition-stage', {
        name: 'stages',
        version: '3',
        stage: 'Production',
        archive_existing_versions: true,
      });
      expect(archived.model_version).toMatchObject({
        version: '3',
        current_stage: 'Production',
        last_updated_timestamp: now,
      });
      const v1 = await ok('GET', 'model-versions/get', { name: 'stages', version: '1' });
      expect(v1.model_version.current_stage).toBe('Archived');

      const stagesOf = (body: any) =>
        body.model_versions.map((v: Fields) => [v['version'], v['current_stage']]) as Array<[string, string]>;
      // MlflowClient.get_latest_versions sends POST; the proto also allows GET.
      const all = await ok('POST', 'registered-models/get-latest-versions', { name: 'stages' });
      expect(stagesOf(all)).toEqual([
        ['1', 'Archived'],
        ['2', 'Staging'],
        ['3', 'Production'],
        ['4', 'None'],
      ]);
      const some = await ok('POST', 'registered-models/get-latest-versions', {
        name: 'stages',
        stages: ['Production', 'None'],
      });
      expect(stagesOf(some)).toEqual([
        ['3', 'Production'],
        ['4', 'None'],
      ]);
      const viaGet = await ok('GET', 'registered-models/get-latest-versions', {
        name: 'stages',
        stages: ['Staging'],
      });
      expect(stagesOf(viaGet)).toEqual([['2', 'Staging']]);

      const model = await ok('GET', 'registered-models/get', { name: 'stages' });
      expect(
        model.registered_model.latest_versions.map((v: Fields) => [v['version'], v['current_stage']]),
      ).toEqual(stagesOf(all));
    });
  });

  describe('search', () => {
    let runA: string;
    beforeAll(async () => {
      const a = await runWithModel();
      const b = await runWithModel();
      runA = a.runId;
      const models: Array<[string, string, string]> = [
        ['chapter', 'risk', a.artifactUri],
        ['cheddar', 'growth', b.artifactUri],
        ['churn-eu', 'risk', b.artifactUri],
        ['fraud', 'risk', a.artifactUri],
      ];
      for (const [name, team, uri] of models) {
        now += 1_000;
        await ok('POST', 'registered-models/create', { name, tags: [{ key: 'team', value: team }] });
        await ok('POST', 'model-versions/create', { name, source: `${uri}/model` });
      }
    });

    const names = (list: Fields[] | undefined) => (list ?? []).map((m) => m['name']);

    it('filters registered models with MLflow grammar and Cairn OR, ordered by name', async () => {
      const cases: Array<[string, string[]]> = [
        ["name LIKE 'ch%'", ['chapter', 'cheddar', 'churn', 'churn-eu']],
        ["tags.team = 'risk' AND name LIKE 'ch%'", ['chapter', 'churn-eu']],
        ["name = 'fraud' OR name = 'cheddar'", ['cheddar', 'fraud']],
        ["name IN ('fraud', 'chapter')", ['chapter', 'fraud']],
        ["name ILIKE 'CH%EU'", ['churn-eu']],
      ];
      for (const [filter, expected] of cases) {
        const res = await ok('GET', 'registered-models/search', { filter, max_results: 100 });
        expect(names(res.registered_models), filter).toEqual(expected);
      }
      const found = await ok('GET', 'registered-models/search', { filter: "name = 'fraud'" });
      expect(found.registered_models[0]).toMatchObject({
        name: 'fraud',
        tags: [{ key: 'team', value: 'risk' }],
        latest_versions: [{ name: 'fraud', version: '1', current_stage: 'None' }],
      });
    });

    it('pages through next_page_token and honours repeated order_by', async () => {
      const seen: string[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const res = await ok('GET', 'registered-models/search', {
          filter: "name LIKE 'ch%'",
          max_results: 3,
          order_by: ['name DESC'],
          ...(pageToken === undefined ? {} : { page_token: pageToken }),
        });
        seen.push(...names(res.registered_models).map(String));
        pageToken = res.next_page_token;
        pages += 1;
      } while (pageToken !== undefined);
      expect(pages).toBe(2);
      expect(seen).toEqual(['churn-eu', 'churn', 'cheddar', 'chapter']);

      const twoKeys = await ok('GET', 'registered-models/search', {
        filter: "tags.team = 'risk'",
        order_by: ['last_updated_timestamp DESC', 'name ASC'],
      });
      expect(names(twoKeys.registered_models)).toEqual(['fraud', 'churn-eu', 'chapter']);
    });

    it('searches model versions by name, run_id and tags, with paging', async () => {
      const byRun = await ok('GET', 'model-versions/search', { filter: `run_id = '${runA}'` });
      expect(names(byRun.model_versions).sort()).toEqual(['chapter', 'fraud']);
      expect(byRun.model_versions.every((v: Fields) => v['run_id'] === runA)).toBe(true);
      const inList = await ok('GET', 'model-versions/search', { filter: `run_id IN ('${runA}')` });
      expect(names(inList.model_versions).sort()).toEqual(['chapter', 'fraud']);
      const either = await ok('GET', 'model-versions/search', {
        filter: "name = 'chapter' OR name = 'cheddar'",
        order_by: ['name ASC'],
      });
      expect(names(either.model_versions)).toEqual(['chapter', 'cheddar']);

      await ok('POST', 'model-versions/set-tag', {
        name: 'fraud',
        version: '1',
        key: 'validated',
        value: 'yes',
      });
      const tagged = await ok('GET', 'model-versions/search', { filter: "tags.validated = 'yes'" });
      expect(names(tagged.model_versions)).toEqual(['fraud']);
      expect(tagged.model_versions[0].tags).toEqual([{ key: 'validated', value: 'yes' }]);

      const seen: unknown[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const res = await ok('GET', 'model-versions/search', {
          filter: "name LIKE 'ch%'",
          max_results: 2,
          order_by: ['name ASC'],
          ...(pageToken === undefined ? {} : { page_token: pageToken }),
        });
        seen.push(...names(res.model_versions));
        pageToken = res.next_page_token;
        pages += 1;
      } while (pageToken !== undefined);
      expect(pages).toBe(3);
      expect(seen).toEqual(['chapter', 'cheddar', 'churn', 'churn', 'churn-eu']);

      const none = await ok('GET', 'model-versions/search', { filter: "name = 'nothing'" });
      expect(none).toEqual({ model_versions: [] });
    });
  });

  describe('rename, update, tags and deletes', () => {
    let source: string;
    beforeAll(async () => {
      const { artifactUri } = await runWithModel();
      source = `${artifactUri}/model`;
      await ok('POST', 'registered-models/create', {
        name: 'old-name',
        description: 'first',
        tags: [{ key: 'team', value: 'risk' }],
      });
      await ok('POST', 'model-versions/create', { name: 'old-name', source });
      await ok('POST', 'model-versions/create', { name: 'old-name', source });
      await ok('POST', 'registered-models/alias', { name: 'old-name', alias: 'champion', version: '2' });
    });

    it('renames a model; its versions and aliases follow', async () => {
      now += 1_000;
      const renamed = await ok('POST', 'registered-models/rename', {
        name: 'old-name',
        new_name: 'new-name',
      });
      expect(renamed.registered_model).toMatchObject({
        name: 'new-name',
        last_updated_timestamp: now,
        description: 'first',
        aliases: [{ alias: 'champion', version: '2' }],
      });
      const gone = await mlflow('GET', 'registered-models/get', { name: 'old-name' });
      expect(gone.status).toBe(404);
      expect(gone.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      const v2 = await ok('GET', 'model-versions/get', { name: 'new-name', version: '2' });
      expect(v2.model_version).toMatchObject({ name: 'new-name', version: '2', aliases: ['champion'] });
      const byAlias = await ok('GET', 'registered-models/alias', { name: 'new-name', alias: 'champion' });
      expect(byAlias.model_version.version).toBe('2');
    });

    it('updates descriptions with PATCH', async () => {
      const model = await ok('PATCH', 'registered-models/update', {
        name: 'new-name',
        description: 'second',
      });
      expect(model.registered_model.description).toBe('second');
      const version = await ok('PATCH', 'model-versions/update', {
        name: 'new-name',
        version: '1',
        description: 'baseline',
      });
      expect(version.model_version).toMatchObject({ version: '1', description: 'baseline' });
    });

    it('sets and deletes tags; deleting a tag that is not there is done', async () => {
      await ok('POST', 'registered-models/set-tag', { name: 'new-name', key: 'owner', value: 'ana' });
      await ok('POST', 'model-versions/set-tag', {
        name: 'new-name',
        version: '1',
        key: 'ok',
        value: 'true',
      });
      expect((await ok('GET', 'registered-models/get', { name: 'new-name' })).registered_model.tags).toEqual([
        { key: 'owner', value: 'ana' },
        { key: 'team', value: 'risk' },
      ]);
      await ok('DELETE', 'registered-models/delete-tag', { name: 'new-name', key: 'team' });
      await ok('DELETE', 'registered-models/delete-tag', { name: 'new-name', key: 'team' });
      await ok('DELETE', 'model-versions/delete-tag', { name: 'new-name', version: '1', key: 'ok' });
      await ok('DELETE', 'model-versions/delete-tag', { name: 'new-name', version: '1', key: 'ok' });
      expect((await ok('GET', 'registered-models/get', { name: 'new-name' })).registered_model.tags).toEqual([
        { key: 'owner', value: 'ana' },
      ]);
      expect(
        (await ok('GET', 'model-versions/get', { name: 'new-name', version: '1' })).model_version,
      ).not.toHaveProperty('tags');
    });

    it('deletes a version (its aliases go with it, its number is never reused) and then the model', async () => {
      expect(await ok('DELETE', 'model-versions/delete', { name: 'new-name', version: '2' })).toEqual({});
      const gone = await mlflow('GET', 'model-versions/get', { name: 'new-name', version: '2' });
      expect(gone.status).toBe(404);
      expect(gone.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      const model = await ok('GET', 'registered-models/get', { name: 'new-name' });
      expect(model.registered_model).not.toHaveProperty('aliases');
      expect(model.registered_model.latest_versions.map((v: Fields) => v['version'])).toEqual(['1']);
      const next = await ok('POST', 'model-versions/create', { name: 'new-name', source });
      expect(next.model_version.version).toBe('3');

      expect(await ok('DELETE', 'registered-models/delete', { name: 'new-name' })).toEqual({});
      const after = await mlflow('GET', 'registered-models/get', { name: 'new-name' });
      expect(after.status).toBe(404);
      const versions = await ok('GET', 'model-versions/search', { filter: "name = 'new-name'" });
      expect(versions.model_versions).toEqual([]);
    });
  });
});
