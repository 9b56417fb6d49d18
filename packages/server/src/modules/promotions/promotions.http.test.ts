import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ErrorResponse, PromotionList, PromotionRequest } from '@cairn/contract';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSqlStores, createSqlTransactor, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { createGovernedApp, type GovernedApp } from '../../testing/governed-app.js';
import { runAsCaller, SYSTEM_CALLER } from '../governance/index.js';
import { expireOverdueRequests } from './index.js';
import { describeEachDatabase } from '../../testing/test-databases.js';

const DAY = 24 * 60 * 60 * 1000;
const START = Date.UTC(2026, 10, 2, 9);

const POLICY_YAML = `
protect:
  aliases: [champion]
  stages: [Production]
checks:
  metrics: ["auc >= 0.85", "loss < 0.3"]
  modelCard: [intendedUse, riskTier]
  trainingData: true
approvals:
  default: 1
  byRiskTier: { high: 2 }
fourEyes: true
requestTtlDays: 14
`;

function expectSchema(schema: TSchema, body: unknown): void {
  const first = Value.Errors(schema, body).First();
  expect(first === undefined ? 'ok' : `${first.path}: ${first.message}`).toBe('ok');
}

const checkOf = (body: any, id: string) => body.checks.find((c: any) => c.id === id);
const failedChecks = (body: any): string[] => body.checks.filter((c: any) => !c.passed).map((c: any) => c.id);

describeEachDatabase('promotion requests /api/v1/promotions, authentication on', ({ database }) => {
  let g: GovernedApp;
  let stores: MetadataStores;
  let now = START;
  let experimentId: string;
  let goodRun: string;
  let weakRun: string;

  const api = (...args: Parameters<GovernedApp['api']>) => g.api(...args);
  const request = (who: string, body: Record<string, unknown>) => api(who, 'POST', '/promotions', body);
  const decide = (who: string, id: string, verb: string, comment?: string) =>
    api(who, 'POST', `/promotions/${id}/${verb}`, comment === undefined ? {} : { comment });

  async function newRun(
    name: string,
    metrics: Record<string, number>,
    withDataset: boolean,
  ): Promise<string> {
    const run = await api('alice', 'POST', '/runs', { experimentId, runName: name });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    const runId: string = run.body.info.runId;
    await logMetrics(runId, metrics);
    if (withDataset) await logDataset(runId);
    expect(
      await g.putBytes('alice', `/runs/${runId}/artifacts/model/weights.bin`, `weights of ${name}`),
    ).toBe(201);
    return runId;
  }

  async function logMetrics(runId: string, metrics: Record<string, number>): Promise<void> {
    const batch = Object.entries(metrics).map(([key, value]) => ({ key, value, step: 0 }));
    const logged = await api('alice', 'POST', `/runs/${runId}/log-batch`, { metrics: batch });
    expect(logged.status, JSON.stringify(logged.body)).toBe(204);
  }

  async function logDataset(runId: string): Promise<void> {
    const inputs = await api('alice', 'POST', `/runs/${runId}/inputs`, {
      datasets: [
        { dataset: { name: 'churn-2026q3', digest: 'abc1', sourceType: 'local', source: 'train.csv' } },
      ],
    });
    expect(inputs.status, JSON.stringify(inputs.body)).toBe(204);
  }

  /** A model in project ml with version 1 from the run, and its card filled in. */
  async function newModel(name: string, runId: string, card: Record<string, unknown>): Promise<void> {
    expect((await api('alice', 'POST', '/models', { name, project: 'ml' })).status).toBe(201);
    const version = await api('alice', 'POST', `/models/${name}/versions`, {
      source: `runs:/${runId}/model`,
    });
    expect(version.status, JSON.stringify(version.body)).toBe(201);
    const carded = await api('alice', 'PATCH', `/models/${name}/versions/1/card`, card);
    expect(carded.status, JSON.stringify(carded.body)).toBe(200);
  }

  /** The audit events about a request and the model's labels, in chain order. */
  async function trail(requestId: string, model: string) {
    const events = await stores.auditLog.query({ order: 'asc', limit: 1_000, projectIds: ['ml'] });
    return events.filter(
      (e) =>
        (e.target.kind === 'promotion' && e.target.id === requestId) ||
        (e.action === 'models.alias_set' && e.target.id === model) ||
        (e.action === 'model_versions.stage_transition' && e.target.id.startsWith(`${model}/`)),
    );
  }

  beforeAll(async () => {
    g = await createGovernedApp(database(), { clock: { now: () => now } });
    stores = createSqlStores(database().db, database().helpers);
    expect((await api('admin', 'POST', '/projects', { id: 'ml' })).status).toBe(201);
    await g.addUser('alice', { ml: ['editor'] });
    await g.addUser('bob', { ml: ['approver'] });
    await g.addUser('carol', { ml: ['approver'] });
    await g.addUser('olga', { ml: ['admin'] });
    await g.addUser('vic', { ml: ['viewer'] });
    await g.addUser('eve', {});
    const experiment = await api('alice', 'POST', '/experiments', { name: 'churn', project: 'ml' });
    expect(experiment.status, JSON.stringify(experiment.body)).toBe(201);
    experimentId = experiment.body.experimentId;
    goodRun = await newRun('good', { auc: 0.91, loss: 0.2 }, true);
    weakRun = await newRun('weak', { auc: 0.7, loss: 0.2 }, false);
    const policy = await api('olga', 'PUT', '/projects/ml/policy', { source: POLICY_YAML, comment: 'gates' });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    expect(policy.body.version).toBe(1);
  });
  afterAll(async () => {
    await g.t.close();
  });

  it('applies a high-risk version after two approvals, moving the alias in the last approval’s transaction', async () => {
    await newModel('fraud', goodRun, { intendedUse: 'flag fraud', riskTier: 'high' });
    const created = await request('alice', {
      model: 'fraud',
      version: 1,
      alias: 'champion',
      reason: 'auc up',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expectSchema(PromotionRequest, created.body);
    const id: string = created.body.id;
    expect(created.body).toMatchObject({
      project: 'ml',
      model: 'fraud',
      version: 1,
      target: { kind: 'alias', name: 'champion' },
      requester: 'alice',
      reason: 'auc up',
      status: 'pending',
      policyVersion: 1,
      passed: false,
      approvals: { count: 0, required: 2, riskTier: 'high' },
      reviews: [],
      createdAt: now,
      expiresAt: now + 14 * DAY,
    });
    expect(created.body.policy.approvals).toEqual({ default: 1, byRiskTier: { high: 2 } });
    expect(checkOf(created.body, 'metric:auc >= 0.85')).toMatchObject({
      passed: true,
      evidence: { metric: 'auc', value: 0.91, runId: goodRun, threshold: 0.85, op: '>=' },
    });
    expect(checkOf(created.body, 'model_card').evidence).toEqual({
      required: ['intendedUse', 'riskTier'],
      present: ['intendedUse', 'riskTier'],
      missing: [],
    });
    expect(checkOf(created.body, 'training_data')).toMatchObject({
      passed: true,
      evidence: {
        runId: goodRun,
        datasets: [{ kind: 'dataset', label: expect.stringContaining('churn-2026q3') }],
      },
    });
    expect(failedChecks(created.body)).toEqual(['approvals']);

    now += 1_000;
    const first = await decide('bob', id, 'approve', 'looks right');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ status: 'pending', approvals: { count: 1, required: 2 } });
    expect((await api('alice', 'GET', '/models/fraud')).body.aliases).toEqual({});

    now += 1_000;
    const second = await decide('carol', id, 'approve');
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({
      status: 'applied',
      decidedBy: 'carol',
      decidedAt: now,
      passed: true,
    });
    expect(second.body.reviews.map((r: any) => [r.reviewer, r.decision, r.comment])).toEqual([
      ['bob', 'approve', 'looks right'],
      ['carol', 'approve', ''],
    ]);
    expect((await api('vic', 'GET', '/models/fraud')).body.aliases).toEqual({ champion: 1 });
    const history = await api('vic', 'GET', '/models/fraud/history?kind=alias');
    expect(history.body.entries[0]).toMatchObject({ label: 'champion', version: 1, startedBy: 'alice' });

    const events = await trail(id, 'fraud');
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ['promotions.request', 'alice'],
      ['promotions.approve', 'bob'],
      ['promotions.approve', 'carol'],
      ['models.alias_set', 'carol'],
      ['promotions.apply', 'carol'],
    ]);
    // The last approval, the move and the closing of the request committed together.
    const [approval, move, apply] = events.slice(2);
    expect(new Set([approval!.requestId, move!.requestId, apply!.requestId]).size).toBe(1);
    expect([move!.seq - approval!.seq, apply!.seq - move!.seq]).toEqual([1, 1]);
    expect(JSON.parse(move!.details)).toMatchObject({ alias: 'champion', version: 1, promotionRequest: id });

    const again = await decide('olga', id, 'approve');
    expect(again.status).toBe(412);
    expect(again.body.error.message).toContain('already applied');
  });

  it('keeps a request whose metric misses its threshold pending, with the evidence; evaluate applies once it passes', async () => {
    await newModel('weak', weakRun, { intendedUse: 'churn', riskTier: 'low' });
    const created = await request('alice', { model: 'weak', version: 1, alias: 'champion' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.id;
    expect(failedChecks(created.body)).toEqual(['metric:auc >= 0.85', 'training_data', 'approvals']);
    expect(checkOf(created.body, 'metric:auc >= 0.85').evidence).toEqual({
      metric: 'auc',
      op: '>=',
      threshold: 0.85,
      value: 0.7,
      runId: weakRun,
    });
    expect(checkOf(created.body, 'metric:loss < 0.3')).toMatchObject({
      passed: true,
      evidence: { value: 0.2 },
    });
    expect(checkOf(created.body, 'training_data').evidence).toEqual({ runId: weakRun, datasets: [] });

    const approved = await decide('bob', id, 'approve');
    expect(approved.body).toMatchObject({
      status: 'pending',
      approvals: { count: 1, required: 1 },
      passed: false,
    });
    expect(failedChecks(approved.body)).toEqual(['metric:auc >= 0.85', 'training_data']);
    expect((await api('alice', 'GET', '/models/weak')).body.aliases).toEqual({});

    for (const who of ['vic', 'eve']) expect((await decide(who, id, 'evaluate')).status).toBe(403);
    const unchanged = await decide('alice', id, 'evaluate');
    expect(unchanged.body.status).toBe('pending');

    await logMetrics(weakRun, { auc: 0.9 });
    await logDataset(weakRun);
    now += 1_000;
    const evaluated = await decide('alice', id, 'evaluate');
    expect(evaluated.status, JSON.stringify(evaluated.body)).toBe(200);
    expect(evaluated.body).toMatchObject({
      status: 'applied',
      passed: true,
      decidedBy: 'alice',
      evaluatedAt: now,
    });
    expect(checkOf(evaluated.body, 'metric:auc >= 0.85').evidence.value).toBe(0.9);
    expect((await api('alice', 'GET', '/models/weak')).body.aliases).toEqual({ champion: 1 });
    expect((await trail(id, 'weak')).map((e) => `${e.action} ${e.actor} ${e.outcome}`)).toEqual([
      'promotions.request alice ok',
      'promotions.approve bob ok',
      'promotions.evaluate vic denied',
      'promotions.evaluate eve denied',
      'promotions.evaluate alice ok',
      'promotions.evaluate alice ok',
      'models.alias_set alice ok',
      'promotions.apply alice ok',
    ]);
  });

  it('refuses the requester’s own approval under four eyes, and records the denied attempt', async () => {
    await newModel('solo', goodRun, { intendedUse: 'x', riskTier: 'low' });
    // A project admin holds both promote and approve; four eyes still stops them.
    const created = await request('olga', { model: 'solo', version: 1, stage: 'Production' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.id;
    const own = await decide('olga', id, 'approve', 'trust me');
    expect(own.status).toBe(403);
    expectSchema(ErrorResponse, own.body);
    expect(own.body.error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(own.body.error.message).toContain('four eyes');
    const denied = (await trail(id, 'solo')).filter((e) => e.outcome === 'denied');
    expect(denied.map((e) => [e.action, e.actor])).toEqual([['promotions.approve', 'olga']]);
    expect(JSON.parse(denied[0]!.details)).toMatchObject({
      reason: 'four eyes: the requester may not approve',
    });
    const after = await api('olga', 'GET', `/promotions/${id}`);
    expect(after.body).toMatchObject({ status: 'pending', reviews: [], approvals: { count: 0 } });

    const other = await decide('bob', id, 'approve');
    expect(other.body.status).toBe('applied');
    const version = await api('vic', 'GET', '/models/solo/versions/1');
    expect(version.body.stage).toBe('Production');
    expect((await trail(id, 'solo')).map((e) => e.action)).toContain('model_versions.stage_transition');
  });

  it('makes a rejection final, and lets each reviewer decide once', async () => {
    await newModel('rej', goodRun, { intendedUse: 'x', riskTier: 'high' });
    const created = await request('alice', { model: 'rej', version: 1, alias: 'champion' });
    const id: string = created.body.id;
    expect((await decide('bob', id, 'approve')).status).toBe(200);
    const twice = await decide('bob', id, 'approve');
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toContain('bob already reviewed');
    const silent = await decide('carol', id, 'reject');
    expect(silent.status).toBe(400);
    expect(silent.body.error.field).toBe('comment');
    expect((await api('vic', 'GET', `/promotions/${id}`)).body.reviews).toHaveLength(1);

    const rejected = await decide('carol', id, 'reject', 'too risky for now');
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({
      status: 'rejected',
      decidedBy: 'carol',
      decisionComment: 'too risky for now',
    });
    for (const [who, verb] of [
      ['olga', 'approve'],
      ['alice', 'cancel'],
      ['alice', 'evaluate'],
    ] as const) {
      const late = await decide(who, id, verb);
      expect(late.status, `${who} ${verb}`).toBe(412);
      expect(late.body.error.message).toContain('already rejected');
    }
    expect((await api('alice', 'GET', '/models/rej')).body.aliases).toEqual({});
    // The same move may be asked for again.
    expect((await request('alice', { model: 'rej', version: 1, alias: 'champion' })).status).toBe(201);
  });

  it('expires undecided requests: shown as expired, never decided, marked by the server', async () => {
    await newModel('late', goodRun, { intendedUse: 'x', riskTier: 'low' });
    const created = await request('alice', { model: 'late', version: 1, alias: 'champion' });
    const id: string = created.body.id;
    now += 14 * DAY;
    const shown = await api('bob', 'GET', `/promotions/${id}`);
    expect(shown.body.status).toBe('expired');
    const expiredList = await api('bob', 'GET', '/promotions?status=expired&model=late');
    expect(expiredList.body.promotions.map((p: any) => p.id)).toEqual([id]);
    expect((await api('bob', 'GET', '/promotions?status=pending&model=late')).body.promotions).toEqual([]);

    const late = await decide('bob', id, 'approve');
    expect(late.status).toBe(412);
    expect(late.body.error.message).toContain('expired');
    expect((await stores.promotions.getRequest(id))?.status).toBe('expired');
    const expiry = (await trail(id, 'late')).filter((e) => e.action === 'promotions.expire');
    expect(expiry.map((e) => e.actor)).toEqual(['system']);
    expect((await decide('bob', id, 'approve')).status).toBe(412);
    expect((await trail(id, 'late')).filter((e) => e.action === 'promotions.expire')).toHaveLength(1);
    expect((await api('alice', 'GET', '/models/late')).body.aliases).toEqual({});
    expect((await request('alice', { model: 'late', version: 1, alias: 'champion' })).status).toBe(201);
  });

  it('marks lapsed requests expired in the server sweep, even ones nobody looks at again', async () => {
    await newModel('swept', goodRun, { intendedUse: 'x', riskTier: 'low' });
    const lapsing = (await request('alice', { model: 'swept', version: 1, alias: 'champion' })).body.id;
    now += 13 * DAY;
    const fresh = (await request('alice', { model: 'swept', version: 1, stage: 'Production' })).body.id;
    now += 2 * DAY;
    const clock = { now: () => now };
    const deps = {
      store: stores.promotions,
      transactor: createSqlTransactor(g.t.app.cairn.database, clock),
      clock,
    };
    expect(await runAsCaller(SYSTEM_CALLER, () => expireOverdueRequests(deps))).toBeGreaterThanOrEqual(1);
    expect((await stores.promotions.getRequest(lapsing))?.status).toBe('expired');
    expect((await stores.promotions.getRequest(fresh))?.status).toBe('pending');
    const expiry = (await trail(lapsing, 'swept')).filter((e) => e.action === 'promotions.expire');
    expect(expiry.map((e) => e.actor)).toEqual(['system']);
    // A second sweep finds nothing new to mark.
    expect(await runAsCaller(SYSTEM_CALLER, () => expireOverdueRequests(deps))).toBe(0);
    expect((await decide('alice', fresh, 'cancel')).status).toBe(200);
  });

  it('allows one pending request per move; its requester or a project admin may cancel it', async () => {
    await newModel('dup', goodRun, { intendedUse: 'x', riskTier: 'low' });
    const first = await request('alice', { model: 'dup', version: 1, alias: 'champion' });
    const second = await request('alice', { model: 'dup', version: 1, alias: 'champion' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain(first.body.id);
    const staged = await request('alice', { model: 'dup', version: 1, stage: 'Production' });
    expect(staged.status).toBe(201);

    expect((await decide('bob', first.body.id, 'cancel')).status).toBe(403);
    const byAdmin = await decide('olga', first.body.id, 'cancel', 'superseded');
    expect(byAdmin.body).toMatchObject({
      status: 'cancelled',
      decidedBy: 'olga',
      decisionComment: 'superseded',
    });
    const byRequester = await decide('alice', staged.body.id, 'cancel');
    expect(byRequester.body).toMatchObject({ status: 'cancelled', decidedBy: 'alice' });
    expect((await decide('bob', staged.body.id, 'approve')).status).toBe(412);
    expect((await request('alice', { model: 'dup', version: 1, alias: 'champion' })).status).toBe(201);
    const cancels = (await trail(first.body.id, 'dup')).filter((e) => e.action === 'promotions.cancel');
    expect(cancels.map((e) => `${e.actor} ${e.outcome}`)).toEqual(['bob denied', 'olga ok']);
  });

  it('refuses direct moves onto protected labels on every API, pointing at the request flow', async () => {
    await newModel('direct', goodRun, { intendedUse: 'x', riskTier: 'low' });
    for (const who of ['alice', 'olga']) {
      const direct = await api(who, 'PUT', '/models/direct/aliases/champion', { version: 1 });
      expect(direct.status, who).toBe(403);
      expect(direct.body.error.message).toContain('cairn promotions request direct/1 --alias champion');
    }
    const stage = await api('alice', 'POST', '/models/direct/versions/1/stage', { stage: 'Production' });
    expect(stage.status).toBe(403);
    expect(stage.body.error.message).toContain('--stage Production');
    const mlflow = async (path: string, payload: unknown) => {
      const response = await g.t.app.inject({
        method: 'POST',
        url: `/api/2.0/mlflow/${path}`,
        headers: { ...g.headers('alice'), 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
      return { status: response.statusCode, body: response.json() };
    };
    const mlflowAlias = await mlflow('registered-models/alias', {
      name: 'direct',
      alias: 'champion',
      version: '1',
    });
    expect(mlflowAlias.status).toBe(403);
    expect(mlflowAlias.body).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    expect(mlflowAlias.body.message).toContain('promotion request');
    const mlflowStage = await mlflow('model-versions/transition-stage', {
      name: 'direct',
      version: '1',
      stage: 'Production',
      archive_existing_versions: false,
    });
    expect(mlflowStage.status).toBe(403);
    expect(mlflowStage.body.error_code).toBe('PERMISSION_DENIED');
    expect((await api('alice', 'GET', '/models/direct')).body.aliases).toEqual({});

    expect((await api('alice', 'PUT', '/models/direct/aliases/challenger', { version: 1 })).status).toBe(200);
    const needless = await request('alice', { model: 'direct', version: 1, alias: 'staging' });
    expect(needless.status).toBe(412);
    expect(needless.body.error.message).toContain('not protected');
    expect(needless.body.error.message).toContain('set it directly');
    const held = await request('alice', { model: 'direct', version: 1, alias: 'challenger' });
    expect(held.status).toBe(412);
  });

  it('serialises racing requests and approvals of one model: one request, one move', async () => {
    await newModel('race', goodRun, { intendedUse: 'x', riskTier: 'high' });
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () => request('alice', { model: 'race', version: 1, alias: 'champion' })),
    );
    expect(attempts.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const id: string = attempts.find((a) => a.status === 201)!.body.id;
    // Both of the two approvals needed arrive at once: the second to commit must see the first.
    const approvals = await Promise.all([decide('bob', id, 'approve'), decide('carol', id, 'approve')]);
    expect(approvals.map((a) => a.status)).toEqual([200, 200]);
    expect(approvals.map((a) => a.body.status).sort()).toEqual(['applied', 'pending']);
    expect((await api('vic', 'GET', `/promotions/${id}`)).body).toMatchObject({
      status: 'applied',
      approvals: { count: 2, required: 2 },
    });
    const moves = (await trail(id, 'race')).filter((e) => e.action === 'models.alias_set');
    expect(moves).toHaveLength(1);
  });

  it('takes a decision with no body at all', async () => {
    await newModel('bare', goodRun, { intendedUse: 'x', riskTier: 'low' });
    const created = await request('alice', { model: 'bare', version: 1, alias: 'champion' });
    const response = await g.t.app.inject({
      method: 'POST',
      url: `/api/v1/promotions/${created.body.id}/approve`,
      headers: g.headers('bob'),
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().status).toBe('applied');
  });

  it('refuses bad requests before anything is written', async () => {
    const okEvents = async () =>
      (await stores.auditLog.query({ order: 'asc', limit: 100_000 })).filter((e) => e.outcome === 'ok')
        .length;
    const stored = async () =>
      (await stores.promotions.listRequests({ now, offset: 0, limit: 10_000 })).length;
    const before = { events: await okEvents(), requests: await stored() };
    const valid = { model: 'fraud', version: 1, alias: 'champion' };
    const cases: Array<[string, string, unknown, number, string]> = [
      ['no body fields', 'alice', {}, 400, 'INVALID_ARGUMENT'],
      ['unknown model', 'alice', { ...valid, model: 'nope' }, 404, 'NOT_FOUND'],
      ['unknown version', 'alice', { ...valid, version: 99 }, 404, 'NOT_FOUND'],
      ['alias and stage', 'alice', { ...valid, stage: 'Production' }, 400, 'INVALID_ARGUMENT'],
      ['neither', 'alice', { model: 'fraud', version: 1 }, 400, 'INVALID_ARGUMENT'],
      ['stage None', 'alice', { model: 'fraud', version: 1, stage: 'None' }, 400, 'INVALID_ARGUMENT'],
      ['stage case', 'alice', { model: 'fraud', version: 1, stage: 'production' }, 400, 'INVALID_ARGUMENT'],
      ['alias like a version', 'alice', { ...valid, alias: 'v3' }, 400, 'INVALID_ARGUMENT'],
      ['version zero', 'alice', { ...valid, version: 0 }, 400, 'INVALID_ARGUMENT'],
      ['version as text', 'alice', { ...valid, version: '1' }, 400, 'INVALID_ARGUMENT'],
      ['unknown field', 'alice', { ...valid, approvers: ['bob'] }, 400, 'INVALID_ARGUMENT'],
      ['reason too long', 'alice', { ...valid, reason: 'x'.repeat(10_001) }, 400, 'INVALID_ARGUMENT'],
      ['injection in a name', 'alice', { ...valid, model: "x' or '1'='1" }, 404, 'NOT_FOUND'],
      ['viewer', 'vic', valid, 403, 'PERMISSION_DENIED'],
      ['approver', 'bob', valid, 403, 'PERMISSION_DENIED'],
      ['no role', 'eve', valid, 403, 'PERMISSION_DENIED'],
      ['no token', 'nobody', valid, 401, 'UNAUTHENTICATED'],
    ];
    for (const [name, who, body, status, code] of cases) {
      const response = await api(who, 'POST', '/promotions', body);
      expect([name, response.status, response.body?.error?.code]).toEqual([name, status, code]);
    }
    const reads: Array<[string, string, string, number]> = [
      ['GET', '/promotions/not%20an%20id', 'bob', 400],
      ['GET', '/promotions/00000000-0000-4000-8000-000000000000', 'bob', 404],
      ['POST', '/promotions/00000000-0000-4000-8000-000000000000/approve', 'bob', 404],
      ['GET', '/promotions?status=bogus', 'bob', 400],
      ['GET', '/promotions?maxResults=0', 'bob', 400],
      ['GET', '/promotions?project=ml', 'eve', 403],
    ];
    for (const [method, path, who, status] of reads) {
      const response = await api(who, method as 'GET', path, method === 'POST' ? {} : undefined);
      expect([path, response.status]).toEqual([path, status]);
    }
    expect({ events: await okEvents(), requests: await stored() }).toEqual(before);
  });

  it('lists requests of readable projects only, filtered and paged, newest first', async () => {
    const all = await api('vic', 'GET', '/promotions?project=ml');
    expect(all.status).toBe(200);
    expectSchema(PromotionList, all.body);
    const created = all.body.promotions.map((p: any) => p.createdAt);
    expect(created).toEqual([...created].sort((a: number, b: number) => b - a));
    expect(all.body.promotions.length).toBeGreaterThan(5);
    expect((await api('eve', 'GET', '/promotions')).body.promotions).toEqual([]);
    const applied = await api('vic', 'GET', '/promotions?status=applied');
    expect(applied.body.promotions.map((p: any) => p.model).sort()).toEqual([
      'bare',
      'fraud',
      'race',
      'solo',
      'weak',
    ]);
    const paged = await api('vic', 'GET', '/promotions?status=applied&maxResults=4');
    expect(paged.body.promotions).toHaveLength(4);
    const rest = await api(
      'vic',
      'GET',
      `/promotions?status=applied&maxResults=4&pageToken=${paged.body.nextPageToken}`,
    );
    expect(rest.body.promotions).toHaveLength(1);
    expect(rest.body.nextPageToken).toBeUndefined();
  });

  it('archives the versions already in a stage when a stage request says so, and only then', async () => {
    await newModel('staged', goodRun, { intendedUse: 'x', riskTier: 'low' });
    const second = await api('alice', 'POST', '/models/staged/versions', {
      source: `runs:/${goodRun}/model`,
    });
    expect(second.status).toBe(201);
    const card = { intendedUse: 'x', riskTier: 'low' };
    expect((await api('alice', 'PATCH', '/models/staged/versions/2/card', card)).status).toBe(200);
    const stageOf = async (v: number): Promise<string> =>
      (await api('alice', 'GET', `/models/staged/versions/${v}`)).body.stage;

    const first = await request('alice', { model: 'staged', version: 1, stage: 'Production' });
    expect(first.body.archiveExisting).toBe(false);
    expect((await decide('bob', first.body.id, 'approve')).body.status).toBe('applied');
    const next = await request('alice', {
      model: 'staged',
      version: 2,
      stage: 'Production',
      archiveExisting: true,
    });
    expect(next.status, JSON.stringify(next.body)).toBe(201);
    expect(next.body.archiveExisting).toBe(true);
    expectSchema(PromotionRequest, next.body);
    expect((await decide('bob', next.body.id, 'approve')).body.status).toBe('applied');
    expect([await stageOf(1), await stageOf(2)]).toEqual(['Archived', 'Production']);

    for (const [body, field] of [
      [{ model: 'staged', version: 1, alias: 'champion', archiveExisting: true }, 'archiveExisting'],
      [{ model: 'staged', version: 1, stage: 'Production', archiveExisting: 'yes' }, 'archiveExisting'],
    ] as const) {
      const refused = await request('alice', body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.field).toBe(field);
    }
  });
});
