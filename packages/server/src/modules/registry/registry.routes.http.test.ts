import { createHash, randomUUID } from 'node:crypto';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  ErrorResponse,
  LabelHistory,
  LineageGraph,
  ModelCard,
  ModelUploadResult,
  ModelVersion,
  ModelVersionList,
  PinnedFileList,
  RegisteredModel,
  RegisteredModelList,
} from '@cairn/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import { buildLinearModel } from '../../testing/onnx-builder.js';

const API = '/api/v1';
const MARCH_1 = Date.UTC(2026, 2, 1);
const DAY = 24 * 60 * 60 * 1000;
const COMMIT = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function expectSchema(schema: TSchema, body: unknown): void {
  const first = Value.Errors(schema, body).First();
  expect(first === undefined ? 'ok' : `${first.path}: ${first.message}`).toBe('ok');
}

const sha256 = (bytes: string | Buffer): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const enc = encodeURIComponent;

describeEachDatabase('native registry API /api/v1/models', ({ database }) => {
  let t: TestApp;
  let now = MARCH_1;
  let runId: string;
  let parentRunId: string;

  const api = (method: Method, path: string, payload?: unknown) => call(t.app, method, API + path, payload);
  const putBytes = (path: string, payload: string | Buffer, contentType = 'application/octet-stream') =>
    t.app.inject({ method: 'PUT', url: API + path, payload, headers: { 'content-type': contentType } });

  async function newModel(name: string, extra: Record<string, unknown> = {}): Promise<void> {
    const res = await api('POST', '/models', { name, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  async function register(name: string, body: Record<string, unknown>): Promise<any> {
    const res = await api('POST', `/models/${enc(name)}/versions`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expectSchema(ModelVersion, res.body);
    return res.body;
  }

  /** Uploads files into a fresh upload folder; returns its `source`. */
  async function upload(files: Record<string, string>): Promise<string> {
    const id = randomUUID();
    let source = '';
    for (const [path, text] of Object.entries(files)) {
      const res = await putBytes(`/model-uploads/${id}/${path.split('/').map(enc).join('/')}`, text);
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json();
      expectSchema(ModelUploadResult, body);
      expect(body).toMatchObject({
        uploadId: id,
        path,
        sizeBytes: Buffer.byteLength(text),
        digest: sha256(text),
      });
      source = body.source;
    }
    return source;
  }

  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => now } });
    const parent = await api('POST', '/runs', { runName: 'sweep' });
    parentRunId = parent.body.info.runId;
    const run = await api('POST', '/runs', {
      runName: 'train',
      parentRunId,
      tags: { 'mlflow.source.git.commit': COMMIT },
    });
    runId = run.body.info.runId;
    const inputs = await api('POST', `/runs/${runId}/inputs`, {
      datasets: [
        { dataset: { name: 'churn-2026q1', digest: 'd1', sourceType: 'local', source: 'data.csv' } },
      ],
    });
    expect(inputs.status).toBe(204);
    await api('POST', `/runs/${runId}/log-batch`, {
      params: [{ key: 'depth', value: '3' }],
      metrics: [{ key: 'auc', value: 0.91, step: 1 }],
    });
    for (const [path, text] of [
      ['model/weights.bin', 'weights v1'],
      ['model/conf/params.json', '{"depth": 3}'],
    ] as const) {
      expect((await putBytes(`/runs/${runId}/artifacts/${path}`, text)).statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await t.close();
  });

  describe('registered models', () => {
    it('creates, reads, lists, renames, describes, tags and deletes', async () => {
      const created = await api('POST', '/models', {
        name: 'fraud v1.2 (beta)',
        description: 'flags fraud',
        tags: { team: 'risk' },
      });
      expect(created.status).toBe(201);
      expectSchema(RegisteredModel, created.body);
      expect(created.body).toMatchObject({
        name: 'fraud v1.2 (beta)',
        description: 'flags fraud',
        tags: { team: 'risk' },
        aliases: {},
        latestVersion: null,
        creationTime: MARCH_1,
      });
      expect(created.body).not.toHaveProperty('modelId');

      const got = await api('GET', `/models/${enc('fraud v1.2 (beta)')}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(created.body);

      await newModel('fraud-other', { tags: { team: 'growth' } });
      const listed = await api('GET', `/models?filter=${enc("tags.team = 'risk'")}`);
      expect(listed.status, JSON.stringify(listed.body)).toBe(200);
      expectSchema(RegisteredModelList, listed.body);
      expect(listed.body.models.map((m: { name: string }) => m.name)).toEqual(['fraud v1.2 (beta)']);
      const paged = await api(
        'GET',
        `/models?filter=${enc("name LIKE 'fraud%'")}&orderBy=name%20DESC&maxResults=1`,
      );
      expect(paged.body.models.map((m: { name: string }) => m.name)).toEqual(['fraud-other']);
      expect(typeof paged.body.nextPageToken).toBe('string');
      const next = await api(
        'GET',
        `/models?filter=${enc("name LIKE 'fraud%'")}&orderBy=name%20DESC&maxResults=1&pageToken=${enc(paged.body.nextPageToken)}`,
      );
      expect(next.body.models.map((m: { name: string }) => m.name)).toEqual(['fraud v1.2 (beta)']);

      now += 1000;
      const patched = await api('PATCH', `/models/${enc('fraud v1.2 (beta)')}`, {
        name: 'fraud',
        description: 'flags fraudulent payments',
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expect(patched.body).toMatchObject({ name: 'fraud', description: 'flags fraudulent payments' });
      expect((await api('GET', `/models/${enc('fraud v1.2 (beta)')}`)).status).toBe(404);

      expect((await api('PUT', '/models/fraud/tags/owner%2Fteam', { value: 'ml' })).status).toBe(204);
      expect((await api('DELETE', '/models/fraud/tags/team')).status).toBe(204);
      expect((await api('GET', '/models/fraud')).body.tags).toEqual({ 'owner/team': 'ml' });
      expect((await api('DELETE', '/models/fraud/tags/team')).status).toBe(404);

      expect((await api('DELETE', '/models/fraud')).status).toBe(204);
      expect((await api('GET', '/models/fraud')).status).toBe(404);
      const taken = await api('POST', '/models', { name: 'fraud-other' });
      expect(taken.status).toBe(409);
      expect(taken.body.error).toMatchObject({ code: 'ALREADY_EXISTS', field: 'name' });
    });
  });

  describe('versions', () => {
    it('registers from a run, pins the files and records the run in lineage', async () => {
      await newModel('churn');
      const v1 = await register('churn', {
        source: `runs:/${runId}/model`,
        description: 'first',
        tags: { validated: 'false' },
      });
      expect(v1).toMatchObject({
        name: 'churn',
        version: 1,
        status: 'READY',
        stage: 'None',
        runId,
        fileCount: 2,
        sizeBytes: 'weights v1'.length + '{"depth": 3}'.length,
        description: 'first',
        tags: { validated: 'false' },
        aliases: [],
      });
      expect(v1.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect((await api('GET', '/models/churn')).body.latestVersion).toBe(1);

      const files = await api('GET', '/models/churn/versions/1/files');
      expect(files.status).toBe(200);
      expectSchema(PinnedFileList, files.body);
      expect(files.body).toMatchObject({ name: 'churn', version: 1, digest: v1.digest });
      expect(files.body.files).toEqual([
        { path: 'conf/params.json', digest: sha256('{"depth": 3}'), sizeBytes: 12 },
        { path: 'weights.bin', digest: sha256('weights v1'), sizeBytes: 10 },
      ]);
      // The manifest digest is sha256 over `path<TAB>digest\n` of the sorted files: clients can check it.
      const manifest = files.body.files
        .map((f: { path: string; digest: string }) => `${f.path}\t${f.digest}\n`)
        .join('');
      expect(sha256(manifest)).toBe(v1.digest);

      // Overwriting the run's artifact never changes the registered bytes.
      await putBytes(`/runs/${runId}/artifacts/model/weights.bin`, 'weights v2');
      const download = await t.app.inject({
        method: 'GET',
        url: `${API}/models/churn/versions/1/files/weights.bin`,
      });
      expect(download.statusCode).toBe(200);
      expect(download.body).toBe('weights v1');
      expect(download.headers['etag']).toBe(`"${sha256('weights v1')}"`);
      const nested = await t.app.inject({
        method: 'GET',
        url: `${API}/models/churn/versions/1/files/conf/params.json`,
      });
      expect(nested.json()).toEqual({ depth: 3 });
      const missing = await api('GET', '/models/churn/versions/1/files/nope.bin');
      expect(missing.status).toBe(404);
      const escape = await api('GET', '/models/churn/versions/1/files/..%2F..%2Fetc');
      expect(escape.status).toBe(400);
    });

    it('registers an uploaded folder and a single uploaded file, with or without a run', async () => {
      await newModel('uploaded model');
      const folder = await upload({ 'model.bin': 'abc', 'sub dir/notes.txt': 'hello' });
      expect(folder).toMatch(/^mlflow-artifacts:\/_uploads\/[0-9a-f-]{36}$/);
      const v1 = await register('uploaded model', { source: folder, runId, format: 'opaque' });
      expect(v1).toMatchObject({ version: 1, fileCount: 2, runId, format: 'opaque', source: folder });
      const listed = (await api('GET', `/models/${enc('uploaded model')}/versions/1/files`)).body;
      expect(listed.files.map((f: { path: string }) => f.path)).toEqual(['model.bin', 'sub dir/notes.txt']);

      const single = await upload({ 'weights.pt': 'tensor bytes' });
      const v2 = await register('uploaded model', { source: single });
      expect(v2).toMatchObject({ version: 2, fileCount: 1, runId: null, sizeBytes: 12 });

      const lineage = await api('GET', `/models/${enc('uploaded model')}/versions/1/lineage`);
      expect(lineage.body.nodes.map((n: { kind: string }) => n.kind)).toContain('run');
      const none = await api('GET', `/models/${enc('uploaded model')}/versions/2/lineage`);
      expect(none.body.edges).toEqual([]);

      const bad = await putBytes('/model-uploads/not-a-uuid/x.bin', 'x');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.field).toBe('uploadId');
      const noPath = await putBytes(`/model-uploads/${randomUUID()}/`, 'x');
      expect(noPath.statusCode).toBe(400);
    });

    it('reads the signature of an uploaded ONNX file and shows it in the version and the card', async () => {
      await newModel('linear');
      const id = randomUUID();
      const bytes = Buffer.from(buildLinearModel({ inputs: 4, outputs: 3 }));
      const up = await putBytes(`/model-uploads/${id}/model.onnx`, bytes);
      expect(up.statusCode, up.body).toBe(201);
      const v = await register('linear', { source: up.json().source });
      expect(v).toMatchObject({ format: 'onnx', fileCount: 1, sizeBytes: bytes.length });
      expect(v.signature).toMatchObject({
        source: 'onnx',
        inputs: [expect.objectContaining({ name: 'X', type: 'FP32', shape: [-1, 4] })],
        outputs: [expect.objectContaining({ name: 'Y', type: 'FP32', shape: [-1, 3] })],
      });
      expect((await api('GET', '/models/linear/versions/1')).body.signature).toEqual(v.signature);
      const card = await t.app.inject({
        method: 'GET',
        url: `${API}/models/linear/versions/1/card?format=markdown`,
      });
      expect(card.body).toMatch(/\| input \| X \| FP32 \|/);
      const declared = await api('POST', '/models/linear/versions', {
        source: `runs:/${runId}/model`,
        format: 'onnx',
      });
      expect(declared.status).toBe(400);
      expect(declared.body.error.field).toBe('format');
    });

    it('lists, reads, describes, tags, stages and deletes versions', async () => {
      await newModel('versions-model');
      for (let i = 0; i < 3; i++) await register('versions-model', { source: `runs:/${runId}/model` });
      const list = await api('GET', '/models/versions-model/versions');
      expect(list.status).toBe(200);
      expectSchema(ModelVersionList, list.body);
      expect(list.body.versions.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
      const page = await api('GET', '/models/versions-model/versions?maxResults=2');
      expect(page.body.versions).toHaveLength(2);
      expect(typeof page.body.nextPageToken).toBe('string');

      expect(
        (await api('PUT', '/models/versions-model/versions/2/tags/validated', { value: 'true' })).status,
      ).toBe(204);
      const filtered = await api(
        'GET',
        `/models/versions-model/versions?filter=${enc("tags.validated = 'true'")}`,
      );
      expect(filtered.body.versions.map((v: { version: number }) => v.version)).toEqual([2]);
      expect((await api('DELETE', '/models/versions-model/versions/2/tags/validated')).status).toBe(204);

      const described = await api('PATCH', '/models/versions-model/versions/2', {
        description: 'the good one',
      });
      expect(described.body).toMatchObject({ version: 2, description: 'the good one' });
      expect((await api('GET', '/models/versions-model/versions/2')).body.description).toBe('the good one');

      const staged = await api('POST', '/models/versions-model/versions/1/stage', { stage: 'production' });
      expect(staged.status, JSON.stringify(staged.body)).toBe(200);
      expect(staged.body.stage).toBe('Production');
      const moved = await api('POST', '/models/versions-model/versions/2/stage', {
        stage: 'Production',
        archiveExisting: true,
      });
      expect(moved.body.stage).toBe('Production');
      expect((await api('GET', '/models/versions-model/versions/1')).body.stage).toBe('Archived');
      const resolved = await api('GET', `/model-versions/resolve?ref=${enc('versions-model/Production')}`);
      expect(resolved.body.version).toBe(2);

      expect((await api('DELETE', '/models/versions-model/versions/3')).status).toBe(204);
      expect((await api('GET', '/models/versions-model/versions/3')).status).toBe(404);
      expect((await api('GET', '/models/versions-model')).body.latestVersion).toBe(2);
      const other = await register('versions-model', { source: `runs:/${runId}/model` });
      expect(other.version).toBe(4);
    });
  });

  describe('aliases and their history', () => {
    it('sets, moves, resolves and deletes aliases; answers “champion on 3 March”', async () => {
      await newModel('aliased');
      for (let i = 0; i < 2; i++) await register('aliased', { source: `runs:/${runId}/model` });
      now = MARCH_1;
      const set = await api('PUT', '/models/aliased/aliases/champion', { version: 1 });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      expect(set.body).toMatchObject({ version: 1, aliases: ['champion'] });
      now = MARCH_1 + 5 * DAY;
      await api('PUT', '/models/aliased/aliases/champion', { version: 2 });
      await api('PUT', '/models/aliased/aliases/challenger', { version: 1 });

      expect((await api('GET', '/models/aliased')).body.aliases).toEqual({ champion: 2, challenger: 1 });
      expect((await api('GET', '/models/aliased/aliases/champion')).body.version).toBe(2);
      for (const [ref, version] of [
        ['aliased@champion', 2],
        ['aliased@challenger', 1],
        ['aliased/1', 1],
        ['aliased@1', 1],
        ['aliased', 2],
        ['aliased/latest', 2],
        ['models:/aliased@champion', 2],
      ] as const) {
        const res = await api('GET', `/model-versions/resolve?ref=${enc(ref)}`);
        expect(res.status, `${ref}: ${JSON.stringify(res.body)}`).toBe(200);
        expect(res.body.version, ref).toBe(version);
      }

      const onThird = await api('GET', '/models/aliased/history?kind=alias&label=champion&at=2026-03-03');
      expect(onThird.status, JSON.stringify(onThird.body)).toBe(200);
      expectSchema(LabelHistory, onThird.body);
      expect(onThird.body.entries).toEqual([
        {
          kind: 'alias',
          label: 'champion',
          version: 1,
          startedAt: MARCH_1,
          endedAt: MARCH_1 + 5 * DAY,
          startedBy: 'local',
          endedBy: 'local',
        },
      ]);
      const byEpoch = await api('GET', `/models/aliased/history?label=champion&at=${MARCH_1 + 6 * DAY}`);
      expect(byEpoch.body.entries.map((e: { version: number }) => e.version)).toEqual([2]);
      const all = await api('GET', '/models/aliased/history');
      expect(all.body.entries).toHaveLength(3);

      now = MARCH_1 + 7 * DAY;
      expect((await api('DELETE', '/models/aliased/aliases/challenger')).status).toBe(204);
      expect((await api('GET', '/models/aliased/aliases/challenger')).status).toBe(404);
      const closed = await api('GET', '/models/aliased/history?label=challenger');
      expect(closed.body.entries[0]).toMatchObject({ version: 1, endedAt: MARCH_1 + 7 * DAY });
    });
  });

  describe('model cards', () => {
    it('edits sections as JSON, exports Markdown and takes an edited Markdown back', async () => {
      await newModel('carded');
      await register('carded', { source: `runs:/${runId}/model` });
      const blank = await api('GET', '/models/carded/versions/1/card');
      expect(blank.status).toBe(200);
      expectSchema(ModelCard, blank.body);
      expect(blank.body.fields).toEqual({
        intendedUse: '',
        outOfScopeUse: '',
        limitations: '',
        ethicalConsiderations: '',
        riskTier: null,
        markdown: '',
      });
      expect(blank.body.generated).toMatchObject({
        trainingData: [expect.objectContaining({ kind: 'dataset', label: 'churn-2026q1' })],
        sourceRun: { runId, runName: 'train', params: { depth: '3' }, metrics: { auc: 0.91 } },
        codeVersions: [expect.objectContaining({ commit: COMMIT })],
      });

      const patched = await api('PATCH', '/models/carded/versions/1/card', {
        intendedUse: 'Rank customers by churn risk.',
        riskTier: 'medium',
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expectSchema(ModelCard, patched.body);
      expect(patched.body.fields).toMatchObject({
        intendedUse: 'Rank customers by churn risk.',
        riskTier: 'medium',
      });

      const markdown = await t.app.inject({
        method: 'GET',
        url: `${API}/models/carded/versions/1/card?format=markdown`,
      });
      expect(markdown.statusCode).toBe(200);
      expect(markdown.headers['content-type']).toContain('text/markdown');
      expect(markdown.body).toContain('## Intended use\n\nRank customers by churn risk.');
      expect(markdown.body).toContain('churn-2026q1');

      const edited = markdown.body
        .replace('Rank customers by churn risk.', 'Rank customers by churn risk, monthly.')
        .replace(/## Limitations\n\n_Not written yet._/, '## Limitations\n\nTrained on 2026 Q1 only.')
        .replace(/## Risk tier\n\nmedium/, '## Risk tier\n\nhigh');
      const put = await t.app.inject({
        method: 'PUT',
        url: `${API}/models/carded/versions/1/card`,
        payload: edited,
        headers: { 'content-type': 'text/markdown' },
      });
      expect(put.statusCode, put.body).toBe(200);
      expect(put.json().fields).toEqual({
        intendedUse: 'Rank customers by churn risk, monthly.',
        outOfScopeUse: '',
        limitations: 'Trained on 2026 Q1 only.',
        ethicalConsiderations: '',
        riskTier: 'high',
        markdown: '',
      });
      const json = await api('PUT', '/models/carded/versions/1/card', { intendedUse: 'x' });
      expect(json.status).toBe(400);
    });
  });

  describe('lineage', () => {
    it('walks from the version to the run, its dataset, its parent run and its commit', async () => {
      await newModel('traced');
      const v = await register('traced', { source: `runs:/${runId}/model` });
      const res = await api('GET', '/models/traced/versions/1/lineage');
      expect(res.status).toBe(200);
      expectSchema(LineageGraph, res.body);
      expect(res.body.root).toEqual({ kind: 'model_version', id: v.versionId });
      const edges = res.body.edges
        .map(
          (e: { from: { kind: string }; relation: string; to: { kind: string } }) =>
            `${e.from.kind}:${e.relation}:${e.to.kind}`,
        )
        .sort();
      expect(edges).toEqual([
        'code_version:source_code:run',
        'dataset:input:run',
        'run:parent:run',
        'run:produced:model_version',
      ]);
      const run = res.body.nodes.find(
        (n: { kind: string; id: string }) => n.kind === 'run' && n.id === runId,
      );
      expect(run.label).toBe('train');
      expect(
        res.body.nodes.some((n: { kind: string; id: string }) => n.kind === 'run' && n.id === parentRunId),
      ).toBe(true);
    });
  });

  describe('bad input', () => {
    it('answers 4xx with a field and writes nothing', async () => {
      await newModel('guarded');
      await register('guarded', { source: `runs:/${runId}/model` });
      await api('PUT', '/models/guarded/aliases/champion', { version: 1 });
      await api('PATCH', '/models/guarded/versions/1/card', { intendedUse: 'kept' });
      await newModel('guarded-2');
      const uploaded = await upload({ 'model.bin': 'bytes' });
      const snapshot = async () => ({
        model: (await api('GET', '/models/guarded')).body,
        versions: (await api('GET', '/models/guarded/versions')).body,
        history: (await api('GET', '/models/guarded/history')).body,
        card: (await api('GET', '/models/guarded/versions/1/card')).body,
        models: (await api('GET', '/models?maxResults=1000')).body.models.length,
      });
      const before = await snapshot();
      const missingRun = 'f'.repeat(32);
      const cases: Array<[string, Method, string, unknown, number, string]> = [
        ['unknown model', 'GET', '/models/no-such-model', undefined, 404, 'name'],
        ['unknown model versions', 'GET', '/models/no-such-model/versions', undefined, 404, 'name'],
        ['unknown version', 'GET', '/models/guarded/versions/99', undefined, 404, 'version'],
        ['version not a number', 'GET', '/models/guarded/versions/abc', undefined, 400, 'version'],
        ['alias "12"', 'PUT', '/models/guarded/aliases/12', { version: 1 }, 400, 'alias'],
        ['alias "a@b"', 'PUT', '/models/guarded/aliases/a%40b', { version: 1 }, 400, 'alias'],
        ['alias "a/b"', 'PUT', '/models/guarded/aliases/a%2Fb', { version: 1 }, 400, 'alias'],
        ['alias "latest"', 'PUT', '/models/guarded/aliases/latest', { version: 1 }, 400, 'alias'],
        ['alias to a missing version', 'PUT', '/models/guarded/aliases/next', { version: 9 }, 404, 'version'],
        ['alias version as text', 'PUT', '/models/guarded/aliases/next', { version: '1' }, 400, 'version'],
        ['unknown alias', 'GET', '/models/guarded/aliases/nobody', undefined, 404, 'alias'],
        ['stage "Prod"', 'POST', '/models/guarded/versions/1/stage', { stage: 'Prod' }, 400, 'stage'],
        [
          'archiveExisting to None',
          'POST',
          '/models/guarded/versions/1/stage',
          { stage: 'None', archiveExisting: true },
          400,
          'archiveExisting',
        ],
        [
          'risk tier "extreme"',
          'PATCH',
          '/models/guarded/versions/1/card',
          { riskTier: 'extreme' },
          400,
          'riskTier',
        ],
        ['unknown card field', 'PATCH', '/models/guarded/versions/1/card', { owner: 'me' }, 400, 'owner'],
        [
          'source of a missing run',
          'POST',
          '/models/guarded/versions',
          { source: `runs:/${missingRun}/model` },
          404,
          'runId',
        ],
        [
          'runId of a missing run',
          'POST',
          '/models/guarded/versions',
          { source: uploaded, runId: missingRun },
          404,
          'runId',
        ],
        [
          'runId other than the source run',
          'POST',
          '/models/guarded/versions',
          { source: `runs:/${runId}/model`, runId: parentRunId },
          400,
          'runId',
        ],
        [
          'source nobody stores',
          'POST',
          '/models/guarded/versions',
          { source: 's3://bucket/m' },
          400,
          'source',
        ],
        [
          'empty run folder',
          'POST',
          '/models/guarded/versions',
          { source: `runs:/${runId}/nothing` },
          404,
          'source',
        ],
        [
          'unknown format',
          'POST',
          '/models/guarded/versions',
          { source: `runs:/${runId}/model`, format: 'pickle' },
          400,
          'format',
        ],
        [
          'unknown version field',
          'POST',
          '/models/guarded/versions',
          { source: `runs:/${runId}/model`, flavor: 'x' },
          400,
          'flavor',
        ],
        ['bad `at` date', 'GET', '/models/guarded/history?at=yesterday', undefined, 400, 'at'],
        ['bad history kind', 'GET', '/models/guarded/history?kind=tag', undefined, 400, 'kind'],
        ['model name with "/"', 'POST', '/models', { name: 'a/b' }, 400, 'name'],
        ['rename onto a taken name', 'PATCH', '/models/guarded', { name: 'guarded-2' }, 409, 'name'],
        ['bad page token', 'GET', '/models?pageToken=zzz', undefined, 400, 'pageToken'],
        ['bad filter', 'GET', `/models?filter=${enc('name ==')}`, undefined, 400, 'filter'],
        ['maxResults 0', 'GET', '/models?maxResults=0', undefined, 400, 'maxResults'],
        [
          'bad reference',
          'GET',
          `/model-versions/resolve?ref=${enc('guarded@nobody')}`,
          undefined,
          404,
          'alias',
        ],
      ];
      for (const [what, method, path, body, status, field] of cases) {
        const res = await api(method, path, body);
        expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status);
        expectSchema(ErrorResponse, res.body);
        expect(res.body.error.field, `${what}: ${JSON.stringify(res.body)}`).toBe(field);
        expect(res.body.error.requestId).toEqual(expect.any(String));
      }
      const badMarkdown = await t.app.inject({
        method: 'PUT',
        url: `${API}/models/guarded/versions/1/card`,
        payload: '# card\n\n## Risk tier\n\nextreme\n',
        headers: { 'content-type': 'text/markdown' },
      });
      expect(badMarkdown.statusCode).toBe(400);
      expect(badMarkdown.json().error.field).toBe('riskTier');
      expect(await snapshot()).toEqual(before);
    });
  });

  it('describes every registry route in /api/v1/openapi.json', async () => {
    const spec = (await api('GET', '/openapi.json')).body;
    const operations = Object.values(spec.paths as Record<string, Record<string, { operationId?: string }>>)
      .flatMap((methods) => Object.values(methods).map((op) => op.operationId))
      .filter((id): id is string => id !== undefined);
    for (const id of [
      'createRegisteredModel',
      'listRegisteredModels',
      'getRegisteredModel',
      'updateRegisteredModel',
      'deleteRegisteredModel',
      'setRegisteredModelTag',
      'deleteRegisteredModelTag',
      'setModelAlias',
      'getModelVersionByAlias',
      'deleteModelAlias',
      'getModelLabelHistory',
      'resolveModelVersion',
      'createModelVersion',
      'listModelVersions',
      'getModelVersion',
      'updateModelVersion',
      'deleteModelVersion',
      'setModelVersionTag',
      'deleteModelVersionTag',
      'transitionModelVersionStage',
      'listModelVersionFiles',
      'downloadModelVersionFile',
      'uploadModelFile',
      'getModelCard',
      'updateModelCard',
      'replaceModelCard',
      'getModelVersionLineage',
    ]) {
      expect(operations, id).toContain(id);
    }
    expect(Object.keys(spec.paths)).toContain('/api/v1/models/{name}/versions/{version}/card');
  });
});
