import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtectedTargets } from '../governance/index.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';

const ADMIN_TOKEN = 'x'.repeat(40);
const API = '/api/v1';
const ML = '/api/2.0/mlflow';
const enc = encodeURIComponent;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface Reply {
  status: number;
  body: any;
}

/** The policy's answer stood in for: `champion` and `Production` need a promotion request, in every project. */
const PROTECTS_CHAMPION: ProtectedTargets = {
  isProtected: async (_projectId, target) =>
    (target.kind === 'alias' && target.name === 'champion') ||
    (target.kind === 'stage' && target.name === 'Production'),
};

interface AuditRow {
  seq: number;
  actor: string;
  action: string;
  outcome: string;
  target_kind: string;
  target_id: string;
  project_id: string | null;
  details: string;
}

describeEachDatabase('registry governance with auth on', ({ database }) => {
  let t: TestApp;
  const tokens: Record<string, string> = { admin: ADMIN_TOKEN };
  let p1Run: string;
  let p2Run: string;

  async function send(who: string, method: Method, url: string, payload?: unknown): Promise<Reply> {
    const token = tokens[who];
    if (token === undefined) throw new Error(`no token for ${who}`);
    const response = await t.app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    const json = (response.headers['content-type'] ?? '').toString().startsWith('application/json');
    return { status: response.statusCode, body: json ? response.json() : response.body };
  }

  async function ok(who: string, method: Method, url: string, payload?: unknown): Promise<any> {
    const res = await send(who, method, url, payload);
    expect(res.status, `${who} ${method} ${url}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body;
  }

  const db = () => t.app.cairn.database.db;
  const lastSeq = async (): Promise<number> =>
    Number(
      (
        await db()
          .selectFrom('audit_events')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirst()
      )?.seq ?? 0,
    );
  const eventsAfter = async (seq: number): Promise<AuditRow[]> =>
    (await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', seq)
      .orderBy('seq')
      .execute()) as AuditRow[];

  async function makeUser(name: string, project: string, role: string): Promise<void> {
    await ok('admin', 'POST', `${API}/users`, { name });
    await ok('admin', 'POST', `${API}/projects/${project}/members`, { user: name, role });
    tokens[name] = (await ok('admin', 'POST', `${API}/tokens`, { user: name, name: 'test' })).token;
  }

  /** An experiment in the project with one run holding `model/model.bin`; returns the run id. */
  async function runWithModel(project: string): Promise<string> {
    const { experiment_id } = await ok('admin', 'POST', `${ML}/experiments/create`, {
      name: `exp-${project}`,
      tags: [{ key: 'cairn.project', value: project }],
    });
    const { run } = await ok('admin', 'POST', `${ML}/runs/create`, { experiment_id });
    const runId: string = run.info.run_id;
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${runId}/artifacts/model/model.bin`,
      payload: `weights of ${project}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode, put.body).toBeLessThan(300);
    return runId;
  }

  beforeAll(async () => {
    t = await createTestApp(database(), {
      env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: ADMIN_TOKEN },
      protectedTargets: PROTECTS_CHAMPION,
    });
    await ok('admin', 'POST', `${API}/projects`, { id: 'p1' });
    await ok('admin', 'POST', `${API}/projects`, { id: 'p2' });
    await makeUser('alice', 'p1', 'viewer');
    await makeUser('erin', 'p1', 'editor');
    await makeUser('adam', 'p1', 'admin');
    await makeUser('eve', 'p2', 'editor');
    p1Run = await runWithModel('p1');
    p2Run = await runWithModel('p2');
    await ok('erin', 'POST', `${API}/models`, { name: 'churn', project: 'p1' });
    for (let i = 0; i < 3; i++) {
      await ok('erin', 'POST', `${API}/models/churn/versions`, { source: `runs:/${p1Run}/model` });
    }
    await ok('eve', 'POST', `${ML}/registered-models/create`, {
      name: 'fraud',
      tags: [{ key: 'cairn.project', value: 'p2' }],
    });
    await ok('eve', 'POST', `${ML}/model-versions/create`, { name: 'fraud', source: `runs:/${p2Run}/model` });
  });
  afterAll(async () => {
    await t.close();
  });

  describe('projects of models', () => {
    it('puts a model in the project named by `project` or by the tag cairn.project', async () => {
      expect((await ok('admin', 'GET', `${API}/models/churn`)).project).toBe('p1');
      expect((await ok('admin', 'GET', `${API}/models/fraud`)).project).toBe('p2');
      const row = await db()
        .selectFrom('registered_models')
        .select('project_id')
        .where('name', '=', 'fraud')
        .executeTakeFirstOrThrow();
      expect(row.project_id).toBe('p2');
    });

    it.each([
      ['admin', { name: 'm-ghost', project: 'ghost' }, 404, 'NOT_FOUND'],
      ['erin', { name: 'm-p2', project: 'p2' }, 403, 'PERMISSION_DENIED'],
      ['alice', { name: 'm-viewer', project: 'p1' }, 403, 'PERMISSION_DENIED'],
      ['erin', { name: 'm-bad', project: "p1' or '1'='1" }, 400, 'INVALID_ARGUMENT'],
      ['erin', { name: 'm-both', project: 'p1', tags: { 'cairn.project': 'p2' } }, 400, 'INVALID_ARGUMENT'],
    ])('%s creating %j gets %i %s and nothing is written', async (who, body, status, code) => {
      const before = await lastSeq();
      const res = await send(who, 'POST', `${API}/models`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error.code).toBe(code);
      const exists = await db()
        .selectFrom('registered_models')
        .select('name')
        .where('name', '=', body.name)
        .execute();
      expect(exists).toEqual([]);
      expect((await eventsAfter(before)).filter((e) => e.outcome === 'ok')).toEqual([]);
    });

    it('refuses an unknown project in the MLflow create with MLflow error codes', async () => {
      const res = await send('admin', 'POST', `${ML}/registered-models/create`, {
        name: 'm-ghost-ml',
        tags: [{ key: 'cairn.project', value: 'ghost' }],
      });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });
      expect(res.body.message).toContain("Project 'ghost' does not exist");
    });
  });

  describe('reads', () => {
    const reads: Array<[string, string]> = [
      ['native get model', `${API}/models/churn`],
      ['native version', `${API}/models/churn/versions/1`],
      ['native versions', `${API}/models/churn/versions`],
      ['native files', `${API}/models/churn/versions/1/files`],
      ['native file', `${API}/models/churn/versions/1/files/model.bin`],
      ['native card', `${API}/models/churn/versions/1/card`],
      ['native history', `${API}/models/churn/history`],
      ['native resolve', `${API}/model-versions/resolve?ref=${enc('churn/latest')}`],
      ['mlflow get', `${ML}/registered-models/get?name=churn`],
      ['mlflow latest', `${ML}/registered-models/get-latest-versions?name=churn`],
      ['mlflow version', `${ML}/model-versions/get?name=churn&version=1`],
      ['mlflow download uri', `${ML}/model-versions/get-download-uri?name=churn&version=1`],
    ];

    it.each(reads)('a viewer reads: %s', async (_label, url) => {
      const res = await send('alice', 'GET', url);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    });

    it.each(reads)('an editor of another project is refused: %s', async (_label, url) => {
      const res = await send('eve', 'GET', url);
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      const code = url.startsWith(ML) ? res.body.error_code : res.body.error.code;
      expect(code).toBe('PERMISSION_DENIED');
    });

    it("refuses another project's pinned files through the artifact proxy", async () => {
      const { artifact_uri } = await ok(
        'erin',
        'GET',
        `${ML}/model-versions/get-download-uri?name=churn&version=1`,
      );
      const path = String(artifact_uri).replace('mlflow-artifacts:/', '');
      const url = `/api/2.0/mlflow-artifacts/artifacts/${path}/model.bin`;
      expect((await send('alice', 'GET', url)).status).toBe(200);
      expect((await send('eve', 'GET', url)).status).toBe(403);
    });
  });

  describe('searches return only readable models', () => {
    const names = (list: Array<{ name: string }>) => [...new Set(list.map((m) => m.name))].sort();

    it.each([
      ['alice', ['churn']],
      ['eve', ['fraud']],
      ['admin', ['churn', 'fraud']],
    ])('%s sees %j on every search route', async (who, expected) => {
      const native = names((await ok(who, 'GET', `${API}/models`)).models);
      const mlModels = names(
        (await ok(who, 'GET', `${ML}/registered-models/search`)).registered_models ?? [],
      );
      const mlVersions = names((await ok(who, 'GET', `${ML}/model-versions/search`)).model_versions ?? []);
      for (const seen of [native, mlModels, mlVersions]) {
        expect(seen.filter((n) => n === 'churn' || n === 'fraud')).toEqual(expected);
      }
    });

    it('a filter naming another project’s model finds nothing', async () => {
      const filter = enc("name = 'churn'");
      const versions = await ok('eve', 'GET', `${ML}/model-versions/search?filter=${filter}`);
      expect(versions.model_versions ?? []).toEqual([]);
      const models = await ok('eve', 'GET', `${ML}/registered-models/search?filter=${filter}`);
      expect(models.registered_models ?? []).toEqual([]);
      expect((await ok('eve', 'GET', `${API}/models?filter=${filter}`)).models).toEqual([]);
    });

    it('a user with no project sees an empty registry, not an error', async () => {
      await ok('admin', 'POST', `${API}/users`, { name: 'nobody' });
      tokens['nobody'] = (await ok('admin', 'POST', `${API}/tokens`, { user: 'nobody' })).token;
      expect((await ok('nobody', 'GET', `${API}/models`)).models).toEqual([]);
      expect((await ok('nobody', 'GET', `${ML}/model-versions/search`)).model_versions ?? []).toEqual([]);
    });
  });

  describe('writes', () => {
    const writes: Array<[string, Method, string, unknown]> = [
      ['native rename', 'PATCH', `${API}/models/churn`, { name: 'churn2' }],
      ['native update', 'PATCH', `${API}/models/churn`, { description: 'x' }],
      ['native delete', 'DELETE', `${API}/models/churn`, undefined],
      ['native tag', 'PUT', `${API}/models/churn/tags/team`, { value: 'x' }],
      ['native version', 'POST', `${API}/models/churn/versions`, { source: 'runs:/x/model' }],
      ['native version update', 'PATCH', `${API}/models/churn/versions/1`, { description: 'x' }],
      ['native version delete', 'DELETE', `${API}/models/churn/versions/1`, undefined],
      ['native version tag', 'PUT', `${API}/models/churn/versions/1/tags/k`, { value: 'v' }],
      ['native alias', 'PUT', `${API}/models/churn/aliases/candidate`, { version: 1 }],
      ['native stage', 'POST', `${API}/models/churn/versions/1/stage`, { stage: 'Staging' }],
      ['native card', 'PATCH', `${API}/models/churn/versions/1/card`, { limitations: 'x' }],
      ['mlflow rename', 'POST', `${ML}/registered-models/rename`, { name: 'churn', new_name: 'c2' }],
      ['mlflow update', 'PATCH', `${ML}/registered-models/update`, { name: 'churn', description: 'x' }],
      ['mlflow delete', 'DELETE', `${ML}/registered-models/delete`, { name: 'churn' }],
      ['mlflow tag', 'POST', `${ML}/registered-models/set-tag`, { name: 'churn', key: 'k', value: 'v' }],
      ['mlflow tag delete', 'DELETE', `${ML}/registered-models/delete-tag`, { name: 'churn', key: 'k' }],
      ['mlflow alias', 'POST', `${ML}/registered-models/alias`, { name: 'churn', alias: 'a', version: '1' }],
      ['mlflow alias delete', 'DELETE', `${ML}/registered-models/alias`, { name: 'churn', alias: 'a' }],
      ['mlflow version', 'POST', `${ML}/model-versions/create`, { name: 'churn', source: 'runs:/x/m' }],
      ['mlflow version update', 'PATCH', `${ML}/model-versions/update`, { name: 'churn', version: '1' }],
      ['mlflow version delete', 'DELETE', `${ML}/model-versions/delete`, { name: 'churn', version: '1' }],
      [
        'mlflow version tag',
        'POST',
        `${ML}/model-versions/set-tag`,
        { name: 'churn', version: '1', key: 'k', value: 'v' },
      ],
      [
        'mlflow version tag delete',
        'DELETE',
        `${ML}/model-versions/delete-tag`,
        { name: 'churn', version: '1', key: 'k' },
      ],
      [
        'mlflow stage',
        'POST',
        `${ML}/model-versions/transition-stage`,
        { name: 'churn', version: '1', stage: 'Staging' },
      ],
    ];

    it.each(['alice', 'eve'])(
      '%s is refused every change to a p1 model, and nothing changes',
      async (who) => {
        const snapshot = async () => ({
          model: await ok('admin', 'GET', `${API}/models/churn`),
          versions: await ok('admin', 'GET', `${API}/models/churn/versions`),
          card: await ok('admin', 'GET', `${API}/models/churn/versions/1/card`),
        });
        const before = await snapshot();
        const seq = await lastSeq();
        for (const [label, method, url, payload] of writes) {
          const res = await send(who, method, url, payload);
          expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(403);
          const code = url.startsWith(ML) ? res.body.error_code : res.body.error.code;
          expect(code, label).toBe('PERMISSION_DENIED');
        }
        expect(await snapshot()).toEqual(before);
        const events = await eventsAfter(seq);
        expect(events.filter((e) => e.outcome === 'ok')).toEqual([]);
        expect(events.every((e) => e.actor === who)).toBe(true);
      },
    );

    it('refuses a version whose source run is in a project the writer cannot read', async () => {
      const res = await send('eve', 'POST', `${API}/models/fraud/versions`, {
        source: `runs:/${p1Run}/model`,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      const viaArtifacts = await send('eve', 'POST', `${ML}/model-versions/create`, {
        name: 'fraud',
        source: `mlflow-artifacts:/1/${p1Run}/artifacts/model`,
      });
      expect(viaArtifacts.status, JSON.stringify(viaArtifacts.body)).toBe(403);
      const copy = await send('eve', 'POST', `${API}/models/fraud/versions`, { source: 'models:/churn/1' });
      expect(copy.status, JSON.stringify(copy.body)).toBe(403);
      const upload = await t.app.inject({
        method: 'PUT',
        url: `${API}/model-uploads/${randomUUID()}/model.bin`,
        payload: 'uploaded weights',
        headers: { authorization: `Bearer ${tokens['eve']}`, 'content-type': 'application/octet-stream' },
      });
      expect(upload.statusCode, upload.body).toBe(201);
      const runIdOnly = await send('eve', 'POST', `${API}/models/fraud/versions`, {
        source: upload.json().source,
        runId: p1Run,
      });
      expect(runIdOnly.status, JSON.stringify(runIdOnly.body)).toBe(403);
      expect((await ok('admin', 'GET', `${API}/models/fraud/versions`)).versions).toHaveLength(1);
    });
  });

  describe('the audit trail', () => {
    const mutations: Array<[string, Method, string, unknown, string, string]> = [
      [
        'create',
        'POST',
        `${API}/models`,
        { name: 'audited', project: 'p1', tags: { team: 'risk' } },
        'models.create',
        'model:audited',
      ],
      ['tag', 'PUT', `${API}/models/audited/tags/team`, { value: 'ops' }, 'models.tag_set', 'model:audited'],
      [
        'tag delete',
        'DELETE',
        `${API}/models/audited/tags/team`,
        undefined,
        'models.tag_delete',
        'model:audited',
      ],
      [
        'describe',
        'PATCH',
        `${ML}/registered-models/update`,
        { name: 'audited', description: 'd' },
        'models.update',
        'model:audited',
      ],
      [
        'version',
        'POST',
        `${ML}/model-versions/create`,
        { name: 'audited', source: 'RUN' },
        'model_versions.create',
        'model_version:audited/1',
      ],
      [
        'version 2',
        'POST',
        `${API}/models/audited/versions`,
        { source: 'models:/audited/1' },
        'model_versions.create',
        'model_version:audited/2',
      ],
      [
        'version update',
        'PATCH',
        `${API}/models/audited/versions/1`,
        { description: 'v1' },
        'model_versions.update',
        'model_version:audited/1',
      ],
      [
        'version tag',
        'POST',
        `${ML}/model-versions/set-tag`,
        { name: 'audited', version: '1', key: 'k', value: 'v' },
        'model_versions.tag_set',
        'model_version:audited/1',
      ],
      [
        'version tag delete',
        'DELETE',
        `${API}/models/audited/versions/1/tags/k`,
        undefined,
        'model_versions.tag_delete',
        'model_version:audited/1',
      ],
      [
        'alias',
        'PUT',
        `${API}/models/audited/aliases/candidate`,
        { version: 1 },
        'models.alias_set',
        'model:audited',
      ],
      [
        'alias moves',
        'POST',
        `${ML}/registered-models/alias`,
        { name: 'audited', alias: 'candidate', version: '2' },
        'models.alias_set',
        'model:audited',
      ],
      [
        'alias delete',
        'DELETE',
        `${API}/models/audited/aliases/candidate`,
        undefined,
        'models.alias_delete',
        'model:audited',
      ],
      [
        'stage',
        'POST',
        `${ML}/model-versions/transition-stage`,
        { name: 'audited', version: '1', stage: 'Staging' },
        'model_versions.stage_transition',
        'model_version:audited/1',
      ],
      [
        'card',
        'PATCH',
        `${API}/models/audited/versions/1/card`,
        { riskTier: 'high', limitations: 'l' },
        'model_cards.update',
        'model_version:audited/1',
      ],
      [
        'version delete',
        'DELETE',
        `${ML}/model-versions/delete`,
        { name: 'audited', version: '2' },
        'model_versions.delete',
        'model_version:audited/2',
      ],
      [
        'rename',
        'POST',
        `${ML}/registered-models/rename`,
        { name: 'audited', new_name: 'audited2' },
        'models.rename',
        'model:audited',
      ],
      ['delete', 'DELETE', `${API}/models/audited2`, undefined, 'models.delete', 'model:audited2'],
    ];

    it('records exactly one event per change, with action, target, actor and project', async () => {
      for (const [label, method, url, payload, action, target] of mutations) {
        const body =
          payload !== null && typeof payload === 'object' && (payload as { source?: string }).source === 'RUN'
            ? { ...payload, source: `runs:/${p1Run}/model` }
            : payload;
        const seq = await lastSeq();
        await ok('erin', method, url, body);
        const events = await eventsAfter(seq);
        expect(
          events.map((e) => ({
            action: e.action,
            target: `${e.target_kind}:${e.target_id}`,
            actor: e.actor,
            project: e.project_id,
            outcome: e.outcome,
          })),
          label,
        ).toEqual([{ action, target, actor: 'erin', project: 'p1', outcome: 'ok' }]);
      }
    });

    it('keeps the changed fields in the details', async () => {
      const seq = await lastSeq();
      await ok('erin', 'POST', `${API}/models`, { name: 'detailed', project: 'p1' });
      await ok('erin', 'POST', `${API}/models/detailed/versions`, { source: `runs:/${p1Run}/model` });
      await ok('erin', 'PUT', `${API}/models/detailed/aliases/candidate`, { version: 1 });
      await ok('erin', 'PATCH', `${API}/models/detailed/versions/1/card`, {
        riskTier: 'high',
        limitations: 'l',
      });
      const details = (await eventsAfter(seq)).map((e) => [e.action, JSON.parse(e.details)]);
      expect(details).toEqual([
        ['models.create', { description: '', tags: {} }],
        [
          'model_versions.create',
          expect.objectContaining({ source: `runs:/${p1Run}/model`, runId: p1Run, fileCount: 1 }),
        ],
        ['models.alias_set', { alias: 'candidate', version: 1, previousVersion: null }],
        [
          'model_cards.update',
          { fields: ['limitations', 'riskTier'], riskTier: 'high', previousRiskTier: null },
        ],
      ]);
    });
  });

  describe('protected labels', () => {
    const message = (kind: string, name: string, version: number) =>
      `${kind === 'alias' ? 'Alias' : 'Stage'} '${name}' of model 'churn' is protected by project 'p1's policy: ` +
      `open a promotion request (cairn promotions request churn/${version} --${kind} ${name})`;

    it.each([
      ['native alias', 'PUT', `${API}/models/churn/aliases/champion`, { version: 2 }, 'alias', 'champion'],
      [
        'mlflow alias',
        'POST',
        `${ML}/registered-models/alias`,
        { name: 'churn', alias: 'champion', version: '2' },
        'alias',
        'champion',
      ],
      [
        'native stage',
        'POST',
        `${API}/models/churn/versions/2/stage`,
        { stage: 'production' },
        'stage',
        'Production',
      ],
      [
        'mlflow stage',
        'POST',
        `${ML}/model-versions/transition-stage`,
        { name: 'churn', version: '2', stage: 'Production', archive_existing_versions: true },
        'stage',
        'Production',
      ],
    ] as Array<[string, Method, string, unknown, string, string]>)(
      '%s: even a project admin is sent to the request flow',
      async (_label, method, url, payload, kind, name) => {
        const seq = await lastSeq();
        for (const who of ['erin', 'adam', 'admin']) {
          const res = await send(who, method, url, payload);
          expect(res.status, JSON.stringify(res.body)).toBe(403);
          if (url.startsWith(ML)) {
            expect(res.body).toEqual({ error_code: 'PERMISSION_DENIED', message: message(kind, name, 2) });
          } else {
            expect(res.body.error).toMatchObject({
              code: 'PERMISSION_DENIED',
              message: message(kind, name, 2),
            });
          }
        }
        const version = await ok('admin', 'GET', `${API}/models/churn/versions/2`);
        expect(version.aliases).not.toContain('champion');
        expect(version.stage).toBe('None');
        const events = await eventsAfter(seq);
        expect(events.filter((e) => e.outcome === 'ok')).toEqual([]);
        // The refusals are in the trail, each with the label it was refused.
        const denied = events.filter((e) => e.outcome === 'denied');
        expect(denied.map((e) => [e.actor, e.project_id, JSON.parse(e.details).protected])).toEqual(
          ['erin', 'adam', 'admin'].map((who) => [who, 'p1', { kind, name }]),
        );
      },
    );

    it('lets an unprotected alias and stage move directly', async () => {
      await ok('erin', 'PUT', `${API}/models/churn/aliases/challenger`, { version: 2 });
      await ok('erin', 'POST', `${API}/models/churn/versions/2/stage`, { stage: 'Staging' });
      const version = await ok('erin', 'GET', `${API}/models/churn/versions/2`);
      expect(version).toMatchObject({ aliases: ['challenger'], stage: 'Staging' });
    });

    it('only a project admin takes a version off a protected label', async () => {
      // The promotions module moves protected labels this way once a request is approved.
      const { createSqlTransactor } = await import('../../adapters/sql/sql-stores.js');
      const { runAsCaller, SYSTEM_CALLER } = await import('../governance/index.js');
      const transactor = createSqlTransactor(t.app.cairn.database);
      await runAsCaller(SYSTEM_CALLER, () =>
        transactor.run(async (stores) => {
          await t.app.cairn.services.models.applyPromotion(stores, {
            modelName: 'churn',
            version: 3,
            target: { kind: 'alias', name: 'champion' },
            actor: 'erin',
          });
          await t.app.cairn.services.models.applyPromotion(stores, {
            modelName: 'churn',
            version: 3,
            target: { kind: 'stage', name: 'Production' },
            actor: 'erin',
          });
        }),
      );
      const refusals: Array<[Method, string, unknown]> = [
        ['DELETE', `${API}/models/churn/aliases/champion`, undefined],
        ['DELETE', `${ML}/registered-models/alias`, { name: 'churn', alias: 'champion' }],
        ['POST', `${API}/models/churn/versions/3/stage`, { stage: 'Archived' }],
        ['DELETE', `${API}/models/churn/versions/3`, undefined],
        ['DELETE', `${API}/models/churn`, undefined],
      ];
      for (const [method, url, payload] of refusals) {
        const res = await send('erin', method, url, payload);
        expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(403);
        const text = url.startsWith(ML) ? res.body.message : res.body.error.message;
        expect(text).toMatch(
          /is protected by project 'p1's policy: only a project admin may take version 3 off it/,
        );
      }
      expect(await ok('erin', 'GET', `${API}/models/churn/versions/3`)).toMatchObject({
        aliases: ['champion'],
        stage: 'Production',
      });
      await ok('adam', 'DELETE', `${API}/models/churn/aliases/champion`);
      await ok('adam', 'POST', `${API}/models/churn/versions/3/stage`, { stage: 'Archived' });
      expect(await ok('erin', 'GET', `${API}/models/churn/versions/3`)).toMatchObject({
        aliases: [],
        stage: 'Archived',
      });
    });
  });
});
