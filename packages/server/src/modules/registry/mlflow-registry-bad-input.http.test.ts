import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
const MARCH_1 = Date.UTC(2026, 2, 1);
const MISSING_RUN = 'f'.repeat(32);

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Fields = Record<string, unknown>;

describeEachDatabase('MLflow registry API bad input', ({ database }) => {
  let t: TestApp;
  let now = MARCH_1;
  let runId: string;
  let otherRunId: string;
  let artifactUri: string;
  let source: string;

  /** As MLflow's RestStore: GET fields in the query string, any other method a JSON body. */
  function mlflow(method: Method, endpoint: string, fields: unknown) {
    if (method !== 'GET') return call(t.app, method, `${API}/${endpoint}`, fields);
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(fields as Fields)) {
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
    }
    return call(t.app, 'GET', `${API}/${endpoint}?${params.toString()}`);
  }

  async function ok(method: Method, endpoint: string, fields: Fields): Promise<any> {
    const res = await mlflow(method, endpoint, fields);
    expect(res.status, `${method} ${endpoint}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  }

  const putArtifact = async (path: string, bytes: string | Buffer): Promise<void> => {
    const res = await t.app.inject({
      method: 'PUT',
      url: `${ARTIFACTS}/${path}`,
      payload: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.statusCode).toBe(200);
  };

  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => now } });
    const run = await ok('POST', 'runs/create', { experiment_id: '0', start_time: now });
    runId = run.run.info.run_id;
    artifactUri = run.run.info.artifact_uri;
    const root = artifactUri.replace(/^mlflow-artifacts:\//, '');
    await putArtifact(`${root}/model/model.pkl`, 'pickle');
    await putArtifact(`${root}/broken/model.onnx`, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    otherRunId = (await ok('POST', 'runs/create', { experiment_id: '0', start_time: now })).run.info.run_id;
    source = `${artifactUri}/model`;
    await ok('POST', 'registered-models/create', { name: 'churn', tags: [{ key: 'team', value: 'risk' }] });
    await ok('POST', 'registered-models/create', { name: 'other' });
    await ok('POST', 'model-versions/create', { name: 'churn', source, run_id: runId });
  });
  afterAll(async () => {
    await t.close();
  });

  /** Everything a failed call could have touched, timestamps included. */
  async function snapshot(): Promise<unknown> {
    const models = await ok('GET', 'registered-models/search', { max_results: 1000 });
    const versions = await ok('GET', 'model-versions/search', { max_results: 1000 });
    const history = await call(t.app, 'GET', '/api/v1/models/churn/history');
    return { models, versions, history: history.body };
  }

  const NOT_FOUND = 'RESOURCE_DOES_NOT_EXIST';
  const INVALID = 'INVALID_PARAMETER_VALUE';
  const EXISTS = 'RESOURCE_ALREADY_EXISTS';
  const STATUS: Record<string, number> = { [NOT_FOUND]: 404, [INVALID]: 400, [EXISTS]: 400 };

  interface Case {
    name: string;
    method: Method;
    endpoint: string;
    fields: () => unknown;
    code: string;
    /** What the message must say: the field, or the name or number that was not found. */
    mention: string;
  }
  type Row = [name: string, fields: () => unknown, code: string, mention: string];
  /** Rows for one endpoint; fields are thunks because run ids exist only after beforeAll. */
  const on = (method: Method, endpoint: string, rows: Row[]): Case[] =>
    rows.map(([name, fields, code, mention]) => ({
      name: `${method} ${endpoint}: ${name}`,
      method,
      endpoint,
      fields,
      code,
      mention,
    }));

  const v1 = { name: 'churn', version: '1' };
  const cases: Case[] = [
    ...on('POST', 'registered-models/create', [
      ['name missing', () => ({}), INVALID, "'name'"],
      ['name a number', () => ({ name: 12 }), INVALID, 'name'],
      ['name empty', () => ({ name: '' }), INVALID, 'name'],
      ['name with /', () => ({ name: 'a/b' }), INVALID, 'name'],
      ['name with @', () => ({ name: 'a@b' }), INVALID, 'name'],
      ['duplicate name', () => ({ name: 'churn' }), EXISTS, 'name=churn'],
      ['tags not a list', () => ({ name: 'n1', tags: { team: 'x' } }), INVALID, 'tags'],
      ['tag key missing', () => ({ name: 'n1', tags: [{ value: 'x' }] }), INVALID, 'tags[0].key'],
      ['description a number', () => ({ name: 'n1', description: 5 }), INVALID, 'description'],
      ['body a list', () => [{ name: 'n1' }], INVALID, 'body'],
    ]),
    ...on('GET', 'registered-models/get', [
      ['unknown model', () => ({ name: 'nope' }), NOT_FOUND, 'name=nope'],
      ['name missing', () => ({}), INVALID, "'name'"],
    ]),
    ...on('POST', 'registered-models/rename', [
      ['unknown model', () => ({ name: 'nope', new_name: 'x' }), NOT_FOUND, 'name=nope'],
      ['onto an existing name', () => ({ name: 'churn', new_name: 'other' }), EXISTS, 'name=other'],
      ['new_name missing', () => ({ name: 'churn' }), INVALID, 'new_name'],
      ['new_name with @', () => ({ name: 'churn', new_name: 'x@y' }), INVALID, 'new_name'],
    ]),
    ...on('PATCH', 'registered-models/update', [
      ['unknown model', () => ({ name: 'nope', description: 'd' }), NOT_FOUND, 'name=nope'],
      ['description a list', () => ({ name: 'churn', description: ['d'] }), INVALID, 'description'],
    ]),
    ...on('DELETE', 'registered-models/delete', [
      ['unknown model', () => ({ name: 'nope' }), NOT_FOUND, 'name=nope'],
      ['name missing', () => ({}), INVALID, "'name'"],
    ]),
    ...on('GET', 'registered-models/search', [
      ['bad filter', () => ({ filter: "name = 'a' AND" }), INVALID, 'filter'],
      ['unknown attribute', () => ({ filter: "run_id = 'a'" }), INVALID, 'run_id'],
      ['max_results 0', () => ({ max_results: 0 }), INVALID, 'max_results'],
      ['max_results above 1000', () => ({ max_results: 1001 }), INVALID, 'max_results'],
      ['max_results a word', () => ({ max_results: 'many' }), INVALID, 'max_results'],
      ['bad order_by', () => ({ order_by: ['name SIDEWAYS'] }), INVALID, 'order_by'],
      ['forged page_token', () => ({ page_token: 'not-a-token!' }), INVALID, 'page_token'],
    ]),
    ...on('POST', 'registered-models/set-tag', [
      ['unknown model', () => ({ name: 'nope', key: 'k', value: 'v' }), NOT_FOUND, 'name=nope'],
      ['key missing', () => ({ name: 'churn', value: 'v' }), INVALID, "'key'"],
      ['value a number', () => ({ name: 'churn', key: 'k', value: 3 }), INVALID, 'value'],
      ['key too long', () => ({ name: 'churn', key: 'k'.repeat(251), value: 'v' }), INVALID, 'key'],
    ]),
    ...on('DELETE', 'registered-models/delete-tag', [
      ['unknown model', () => ({ name: 'nope', key: 'team' }), NOT_FOUND, 'name=nope'],
      ['key missing', () => ({ name: 'churn' }), INVALID, "'key'"],
    ]),
    ...on('POST', 'registered-models/get-latest-versions', [
      ['unknown model', () => ({ name: 'nope' }), NOT_FOUND, 'name=nope'],
      ['stage Prod', () => ({ name: 'churn', stages: ['Prod'] }), INVALID, 'stages[0]'],
      ['stages a number', () => ({ name: 'churn', stages: 3 }), INVALID, 'stages'],
    ]),
    ...on('POST', 'registered-models/alias', [
      ...['12', 'v3', 'V3', 'a@b', 'a/b', 'latest', 'LATEST', '', ' champion'].map((alias): Row => [
        `alias ${JSON.stringify(alias)}`,
        () => ({ ...v1, alias }),
        INVALID,
        'alias',
      ]),
      ['alias missing', () => v1, INVALID, "'alias'"],
      ['alias a number', () => ({ ...v1, alias: 7 }), INVALID, 'alias'],
      ['unknown model', () => ({ ...v1, name: 'nope', alias: 'champion' }), NOT_FOUND, 'name=nope'],
      ['unknown version', () => ({ ...v1, version: '99', alias: 'champion' }), NOT_FOUND, 'version=99'],
      ['version a word', () => ({ ...v1, version: 'one', alias: 'champion' }), INVALID, 'version'],
      ['version missing', () => ({ name: 'churn', alias: 'champion' }), INVALID, "'version'"],
    ]),
    ...on('DELETE', 'registered-models/alias', [
      ['unknown model', () => ({ name: 'nope', alias: 'champion' }), NOT_FOUND, 'name=nope'],
      ['alias v3', () => ({ name: 'churn', alias: 'v3' }), INVALID, 'alias'],
    ]),
    ...on('GET', 'registered-models/alias', [
      ['unset alias', () => ({ name: 'churn', alias: 'champion' }), INVALID, 'alias champion not found'],
      ['unknown model', () => ({ name: 'nope', alias: 'champion' }), NOT_FOUND, 'name=nope'],
      ['alias missing', () => ({ name: 'churn' }), INVALID, "'alias'"],
    ]),
    ...on('POST', 'model-versions/create', [
      ['unknown model', () => ({ name: 'nope', source, run_id: runId }), NOT_FOUND, 'name=nope'],
      ['source missing', () => ({ name: 'churn', run_id: runId }), INVALID, "'source'"],
      ['source a number', () => ({ name: 'churn', source: 5 }), INVALID, 'source'],
      [
        'runs:/ of a missing run',
        () => ({ name: 'churn', source: `runs:/${MISSING_RUN}/model` }),
        NOT_FOUND,
        MISSING_RUN,
      ],
      [
        'run path with no files',
        () => ({ name: 'churn', source: `runs:/${runId}/none` }),
        NOT_FOUND,
        'source',
      ],
      [
        'artifact path with no files',
        () => ({ name: 'churn', source: `${artifactUri}/none` }),
        NOT_FOUND,
        'source',
      ],
      ['source elsewhere', () => ({ name: 'churn', source: 's3://bucket/model' }), INVALID, 'source'],
      ['local path', () => ({ name: 'churn', source: '/tmp/model', run_id: runId }), INVALID, 'source'],
      ['run_id of another run', () => ({ name: 'churn', source, run_id: otherRunId }), INVALID, 'run_id'],
      ['run_id a number', () => ({ name: 'churn', source, run_id: 42 }), INVALID, 'run_id'],
      [
        'copy of a missing version',
        () => ({ name: 'churn', source: 'models:/churn/99' }),
        NOT_FOUND,
        'version=99',
      ],
      ['tags not a list', () => ({ name: 'churn', source, tags: 'a=b' }), INVALID, 'tags'],
    ]),
    ...on('GET', 'model-versions/get', [
      ['unknown version', () => ({ ...v1, version: '99' }), NOT_FOUND, 'version=99'],
      ['unknown model', () => ({ ...v1, name: 'nope' }), NOT_FOUND, 'name=nope'],
      ['version missing', () => ({ name: 'churn' }), INVALID, "'version'"],
      ['version 0', () => ({ ...v1, version: '0' }), INVALID, 'version'],
      ['version 1.5', () => ({ ...v1, version: '1.5' }), INVALID, 'version'],
    ]),
    ...on('PATCH', 'model-versions/update', [
      ['unknown version', () => ({ ...v1, version: '99', description: 'd' }), NOT_FOUND, 'version=99'],
      ['description a number', () => ({ ...v1, description: 1 }), INVALID, 'description'],
    ]),
    ...on('DELETE', 'model-versions/delete', [
      ['unknown version', () => ({ ...v1, version: '99' }), NOT_FOUND, 'version=99'],
      ['version missing', () => ({ name: 'churn' }), INVALID, "'version'"],
    ]),
    ...on('GET', 'model-versions/get-download-uri', [
      ['unknown version', () => ({ ...v1, version: '99' }), NOT_FOUND, 'version=99'],
      ['unknown model', () => ({ ...v1, name: 'nope' }), NOT_FOUND, 'name=nope'],
    ]),
    ...on('GET', 'model-versions/search', [
      ['bad filter', () => ({ filter: 'run_id = ' }), INVALID, 'filter'],
      ['max_results above 200000', () => ({ max_results: 200_001 }), INVALID, 'max_results'],
    ]),
    ...on('POST', 'model-versions/set-tag', [
      ['unknown version', () => ({ ...v1, version: '99', key: 'k', value: 'v' }), NOT_FOUND, 'version=99'],
      ['value missing', () => ({ ...v1, key: 'k' }), INVALID, "'value'"],
    ]),
    ...on('DELETE', 'model-versions/delete-tag', [
      ['unknown version', () => ({ ...v1, version: '99', key: 'k' }), NOT_FOUND, 'version=99'],
      ['unknown model', () => ({ ...v1, name: 'nope', key: 'k' }), NOT_FOUND, 'name=nope'],
    ]),
    ...on('POST', 'model-versions/transition-stage', [
      ...['Prod', 'prod', 'Deleted_Internal', ''].map((stage): Row => [
        `stage ${JSON.stringify(stage)}`,
        () => ({ ...v1, stage, archive_existing_versions: false }),
        INVALID,
        'stage',
      ]),
      ['stage missing', () => ({ ...v1, archive_existing_versions: false }), INVALID, "'stage'"],
      [
        'archive_existing_versions a word',
        () => ({ ...v1, stage: 'Production', archive_existing_versions: 'yes' }),
        INVALID,
        'archive_existing_versions',
      ],
      [
        'archiving the others when archiving',
        () => ({ ...v1, stage: 'Archived', archive_existing_versions: true }),
        INVALID,
        'archive_existing_versions',
      ],
      [
        'unknown version',
        () => ({ ...v1, version: '99', stage: 'Production', archive_existing_versions: true }),
        NOT_FOUND,
        'version=99',
      ],
      [
        'unknown model',
        () => ({ ...v1, name: 'nope', stage: 'Production', archive_existing_versions: false }),
        NOT_FOUND,
        'name=nope',
      ],
    ]),
  ];

  it('answers every bad call with a 4xx in MLflow shape naming the field, and writes nothing', async () => {
    now += 60_000;
    const before = await snapshot();
    for (const { name, method, endpoint, fields, code, mention } of cases) {
      const res = await mlflow(method, endpoint, fields());
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(STATUS[code]);
      expect(Object.keys(res.body).sort(), name).toEqual(['error_code', 'message']);
      expect(res.body.error_code, name).toBe(code);
      expect(res.body.message, name).toContain(mention);
    }
    expect(await snapshot()).toEqual(before);
    // No version number was used up by the failed registrations.
    const next = await ok('POST', 'model-versions/create', { name: 'churn', source });
    expect(next.model_version.version).toBe('2');
  });

  it('refuses malformed JSON and empty bodies on POST, PATCH and DELETE', async () => {
    for (const [method, endpoint] of [
      ['POST', 'registered-models/create'],
      ['PATCH', 'registered-models/update'],
      ['DELETE', 'registered-models/delete'],
    ] as const) {
      for (const payload of ['{"name": ', '']) {
        const res = await t.app.inject({
          method,
          url: `${API}/${endpoint}`,
          payload,
          headers: { 'content-type': 'application/json' },
        });
        expect(res.statusCode, `${method} ${endpoint} ${payload}`).toBe(400);
        expect(res.json().error_code).toBe(INVALID);
      }
    }
  });

  it('registers a corrupt ONNX file as opaque with a warning instead of failing', async () => {
    await ok('POST', 'registered-models/create', { name: 'broken-onnx' });
    const res = await ok('POST', 'model-versions/create', {
      name: 'broken-onnx',
      source: `${artifactUri}/broken`,
      run_id: runId,
    });
    expect(res.model_version).toMatchObject({ version: '1', status: 'READY' });
    expect(res.model_version.status_message).toMatch(/model\.onnx could not be read as ONNX/);
    const native = await call(t.app, 'GET', '/api/v1/models/broken-onnx/versions/1');
    expect(native.body.format).toBe('opaque');
  });

  it('never answers arbitrary JSON bodies with a 5xx', async () => {
    await ok('POST', 'registered-models/create', { name: 'prop' });
    await ok('POST', 'model-versions/create', { name: 'prop', source });
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('prop', 'churn', '1', '2', 'champion', 'Production', 'None', true, false, source),
    );
    const fields = fc.dictionary(
      fc.constantFrom(
        'name',
        'new_name',
        'source',
        'run_id',
        'alias',
        'version',
        'stage',
        'archive_existing_versions',
        'tags',
        'description',
        'run_link',
      ),
      value,
    );
    const bodies = fc.oneof(fields, fc.jsonValue({ maxDepth: 2 }));
    const endpoints = fc.constantFrom(
      'registered-models/create',
      'model-versions/create',
      'registered-models/alias',
      'model-versions/transition-stage',
    );
    await fc.assert(
      fc.asyncProperty(endpoints, bodies, async (endpoint, payload) => {
        const res = await t.app.inject({
          method: 'POST',
          url: `${API}/${endpoint}`,
          payload: JSON.stringify(payload),
          headers: { 'content-type': 'application/json' },
        });
        expect(res.statusCode, `${endpoint} ${JSON.stringify(payload)}: ${res.body}`).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.json()).toHaveProperty('error_code');
      }),
      { numRuns: 300 },
    );
  });
});
