import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ProjectPolicy, ProjectPolicyHistory } from '@cairn/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlStores, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { createGovernedApp, type GovernedApp } from '../../testing/governed-app.js';
import { describeEachDatabase } from '../../testing/test-databases.js';

const START = Date.UTC(2026, 10, 3, 8);

function expectSchema(schema: TSchema, body: unknown): void {
  const first = Value.Errors(schema, body).First();
  expect(first === undefined ? 'ok' : `${first.path}: ${first.message}`).toBe('ok');
}

const YAML_POLICY = `# reviewed by risk
protect:
  aliases: [champion, prod]
  stages: [Production]
checks:
  metrics: ["auc >= 0.8"]
approvals: { default: 2 }
`;

describeEachDatabase('project policies /api/v1/projects/:id/policy', ({ database }) => {
  let g: GovernedApp;
  let stores: MetadataStores;

  beforeAll(async () => {
    g = await createGovernedApp(database(), { clock: { now: () => START } });
    stores = createSqlStores(database().db, database().helpers);
    expect((await g.api('admin', 'POST', '/projects', { id: 'ml' })).status).toBe(201);
    await g.addUser('olga', { ml: ['admin'] });
    await g.addUser('alice', { ml: ['editor'] });
    await g.addUser('vic', { ml: ['viewer'] });
    await g.addUser('eve', {});
  });
  afterAll(async () => {
    await g.t.close();
  });

  describe('with authentication on', () => {
    it('starts from the default: champion and Production protected, one other approver, 14 days', async () => {
      const policy = await g.api('vic', 'GET', '/projects/ml/policy');
      expect(policy.status).toBe(200);
      expectSchema(ProjectPolicy, policy.body);
      expect(policy.body).toEqual({
        project: 'ml',
        version: null,
        isDefault: true,
        document: {
          protect: { aliases: ['champion'], stages: ['Production'] },
          checks: { metrics: [], modelCard: [], trainingData: false },
          approvals: { default: 1, byRiskTier: {} },
          fourEyes: true,
          requestTtlDays: 14,
        },
        source: '',
        format: 'json',
        comment: expect.stringContaining('champion and Production are protected'),
        createdAt: null,
        createdBy: null,
      });
      expect((await g.api('vic', 'GET', '/projects/ml/policy/history')).body).toEqual({ policies: [] });
    });

    it('refuses bad policies and callers who are not project admins, writing nothing', async () => {
      const cases: Array<[string, string, unknown, number, string]> = [
        ['editor', 'alice', { document: {} }, 403, 'PERMISSION_DENIED'],
        ['viewer', 'vic', { source: 'fourEyes: true' }, 403, 'PERMISSION_DENIED'],
        ['outsider', 'eve', { document: {} }, 403, 'PERMISSION_DENIED'],
        ['both forms', 'olga', { document: {}, source: '{}' }, 400, 'source'],
        ['neither form', 'olga', { comment: 'x' }, 400, 'document'],
        [
          'bad path',
          'olga',
          { document: { checks: { metrics: ['auc', 'loss < 1'] } } },
          400,
          'document.checks.metrics[0]',
        ],
        [
          'unknown key',
          'olga',
          { source: 'protect: {}\nreviewers: 2', format: 'yaml' },
          400,
          'document.reviewers',
        ],
        ['bad yaml', 'olga', { source: 'protect: [', format: 'yaml' }, 400, 'document'],
        ['json said, yaml sent', 'olga', { source: 'fourEyes: true', format: 'json' }, 400, 'document'],
        ['bad format', 'olga', { source: '{}', format: 'toml' }, 400, 'format'],
        ['too large', 'olga', { source: `#${'x'.repeat(70_000)}` }, 400, 'source'],
        ['comment too long', 'olga', { document: {}, comment: 'x'.repeat(10_001) }, 400, 'comment'],
        ['extra field', 'olga', { document: {}, version: 3 }, 400, 'version'],
      ];
      for (const [name, who, body, status, detail] of cases) {
        const response = await g.api(who, 'PUT', '/projects/ml/policy', body);
        const got = response.body.error;
        expect([name, response.status]).toEqual([name, status]);
        if (status === 400)
          expect([name, got.field ?? got.message]).toEqual([name, expect.stringContaining(detail)]);
        else expect(got.code).toBe(detail);
      }
      expect(await stores.policies.listPolicies('ml')).toEqual([]);
      const denied = await stores.auditLog.query({ order: 'asc', limit: 100, action: 'policies.set' });
      expect(denied.map((e) => `${e.actor} ${e.outcome}`)).toEqual([
        'alice denied',
        'vic denied',
        'eve denied',
      ]);
    });

    it('stores versions from YAML and JSON, keeps the text as written, and lists the history', async () => {
      const first = await g.api('olga', 'PUT', '/projects/ml/policy', { source: YAML_POLICY, comment: 'v1' });
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expectSchema(ProjectPolicy, first.body);
      expect(first.body).toMatchObject({
        project: 'ml',
        version: 1,
        isDefault: false,
        source: YAML_POLICY,
        format: 'yaml',
        comment: 'v1',
        createdAt: START,
        createdBy: 'olga',
      });
      expect(first.body.document).toMatchObject({
        protect: { aliases: ['champion', 'prod'], stages: ['Production'] },
        approvals: { default: 2, byRiskTier: {} },
        fourEyes: true,
        requestTtlDays: 14,
      });

      const document = { protect: { aliases: [], stages: ['Staging'] }, fourEyes: false, requestTtlDays: 3 };
      const second = await g.api('olga', 'PUT', '/projects/ml/policy', { document });
      expect(second.body).toMatchObject({ version: 2, format: 'json', comment: '' });
      expect(JSON.parse(second.body.source)).toEqual(document);
      const jsonText = await g.api('admin', 'PUT', '/projects/ml/policy', { source: ' {"fourEyes": true}' });
      expect(jsonText.body).toMatchObject({ version: 3, format: 'json', createdBy: 'admin' });

      expect((await g.api('vic', 'GET', '/projects/ml/policy')).body.version).toBe(3);
      const history = await g.api('vic', 'GET', '/projects/ml/policy/history');
      expectSchema(ProjectPolicyHistory, history.body);
      expect(history.body.policies.map((p: any) => [p.version, p.format, p.createdBy])).toEqual([
        [3, 'json', 'admin'],
        [2, 'json', 'olga'],
        [1, 'yaml', 'olga'],
      ]);
      const events = await stores.auditLog.query({
        order: 'asc',
        limit: 100,
        action: 'policies.set',
        outcome: 'ok',
      });
      expect(events.map((e) => [e.actor, e.projectId, JSON.parse(e.details).version])).toEqual([
        ['olga', 'ml', 1],
        ['olga', 'ml', 2],
        ['admin', 'ml', 3],
      ]);
      expect(JSON.parse(events[1]!.details).policy.protect).toEqual({ aliases: [], stages: ['Staging'] });
    });

    it('answers reads by permission first, then by existence', async () => {
      const cases: Array<[string, string, number]> = [
        ['eve', '/projects/ml/policy', 403],
        ['eve', '/projects/ml/policy/history', 403],
        ['vic', '/projects/other/policy', 403],
        ['admin', '/projects/other/policy', 404],
        ['admin', '/projects/Not_Valid!/policy', 400],
        ['nobody', '/projects/ml/policy', 401],
      ];
      for (const [who, path, status] of cases) {
        expect([who, path, (await g.api(who, 'GET', path)).status]).toEqual([who, path, status]);
      }
      expect((await g.api('admin', 'PUT', '/projects/other/policy', { document: {} })).status).toBe(404);
    });
  });
});

describeEachDatabase('project policies and promotions in local mode (authentication off)', ({ database }) => {
  let g: GovernedApp;

  beforeAll(async () => {
    g = await createGovernedApp(database(), { clock: { now: () => START }, authEnabled: false });
    const run = await g.api('local', 'POST', '/runs', { runName: 'train' });
    const runId = run.body.info.runId;
    expect(await g.putBytes('local', `/runs/${runId}/artifacts/model/weights.bin`, 'w')).toBe(201);
    expect((await g.api('local', 'POST', '/models', { name: 'churn' })).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const version = await g.api('local', 'POST', '/models/churn/versions', {
        source: `runs:/${runId}/model`,
      });
      expect(version.status).toBe(201);
    }
  });
  afterAll(async () => {
    await g.t.close();
  });

  it('protects nothing by default, so an MLflow workflow moves labels as before', async () => {
    const policy = await g.api('local', 'GET', '/projects/default/policy');
    expect(policy.body).toMatchObject({ version: null, isDefault: true });
    expect(policy.body.document.protect).toEqual({ aliases: [], stages: [] });
    expect((await g.api('local', 'PUT', '/models/churn/aliases/champion', { version: 1 })).status).toBe(200);
    const stage = await g.api('local', 'POST', '/models/churn/versions/1/stage', { stage: 'Production' });
    expect(stage.status).toBe(200);
    const request = await g.api('local', 'POST', '/promotions', {
      model: 'churn',
      version: 2,
      alias: 'champion',
    });
    expect(request.status).toBe(412);
    expect(request.body.error.message).toContain('not protected');
  });

  it('once a policy protects a label, moves it only through an approved request', async () => {
    const set = await g.api('local', 'PUT', '/projects/default/policy', {
      source: 'protect: { aliases: [champion] }\nfourEyes: false\n',
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const direct = await g.api('local', 'PUT', '/models/churn/aliases/champion', { version: 2 });
    expect(direct.status).toBe(403);
    expect(direct.body.error.message).toContain('cairn promotions request churn/2 --alias champion');
    // Production is no longer protected by this policy.
    expect(
      (await g.api('local', 'POST', '/models/churn/versions/2/stage', { stage: 'Production' })).status,
    ).toBe(200);

    const request = await g.api('local', 'POST', '/promotions', {
      model: 'churn',
      version: 2,
      alias: 'champion',
    });
    expect(request.status, JSON.stringify(request.body)).toBe(201);
    expect(request.body).toMatchObject({ requester: 'local', status: 'pending', policyVersion: 1 });
    const approved = await g.api('local', 'POST', `/promotions/${request.body.id}/approve`, {
      comment: 'solo',
    });
    expect(approved.body.status).toBe('applied');
    expect((await g.api('local', 'GET', '/models/churn')).body.aliases).toEqual({ champion: 2 });

    expect((await g.api('local', 'PUT', '/projects/default/policy', { document: {} })).body.version).toBe(2);
    const again = await g.api('local', 'POST', '/promotions', {
      model: 'churn',
      version: 1,
      alias: 'champion',
    });
    const own = await g.api('local', 'POST', `/promotions/${again.body.id}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.body.error.message).toContain('four eyes');
  });
});
