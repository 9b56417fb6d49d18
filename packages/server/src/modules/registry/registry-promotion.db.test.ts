import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import type { Services } from '../../app.js';
import { createSqlTransactor } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';
import { LOCAL_CALLER, runAsCaller, type Caller, type ProtectedTargets } from '../governance/index.js';

/** Stands in for the project policy: `champion` and `Production` are protected everywhere. */
const PROTECTS_CHAMPION: ProtectedTargets = {
  isProtected: async (_projectId, target) =>
    (target.kind === 'alias' && target.name === 'champion') ||
    (target.kind === 'stage' && target.name === 'Production'),
};

const APPROVER: Caller = { actor: 'bob', userId: 'u-bob', isAdmin: false, roles: new Map() };
const VIEWER: Caller = {
  actor: 'alice',
  userId: 'u-alice',
  isAdmin: false,
  roles: new Map([['default', new Set(['viewer'] as const)]]),
};

const codeOf = async (work: Promise<unknown>): Promise<string> => {
  try {
    await work;
  } catch (error) {
    if (isCairnError(error)) return error.code;
    throw error;
  }
  return 'ok';
};

describeEachDatabase('registry: applying promotions, local mode', ({ database }) => {
  let t: TestApp;
  let s: Services;
  let now = Date.UTC(2026, 2, 1);
  let runId: string;

  const transactor = () => createSqlTransactor(t.app.cairn.database, { now: () => now });
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
  const eventsAfter = async (seq: number) =>
    (await db().selectFrom('audit_events').selectAll().where('seq', '>', seq).orderBy('seq').execute()).map(
      (e) => ({
        actor: e.actor,
        action: e.action,
        target: `${e.target_kind}:${e.target_id}`,
        project: e.project_id,
        details: JSON.parse(e.details) as Record<string, unknown>,
      }),
    );

  async function modelWithVersions(name: string, count: number): Promise<void> {
    await s.models.createModel({ name });
    for (let i = 0; i < count; i++) await s.versions.createVersion({ name, source: `runs:/${runId}/model` });
  }

  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => now }, protectedTargets: PROTECTS_CHAMPION });
    s = t.app.cairn.services;
    const run = await s.tracking.createRun({ experimentId: '0' });
    runId = run.info.runId;
    await s.artifacts.upload(`0/${runId}/artifacts/model/model.bin`, Readable.from([Buffer.from('w')]));
  });
  afterAll(async () => {
    await t.close();
  });

  it('moves a protected alias inside the caller’s transaction, with history and audit events', async () => {
    await modelWithVersions('churn', 2);
    const seq = await lastSeq();
    now += 1_000;
    await runAsCaller(APPROVER, () =>
      transactor().run(async (stores) => {
        for (const version of [1, 2]) {
          now += 1_000;
          await s.models.applyPromotion(stores, {
            modelName: 'churn',
            version,
            target: { kind: 'alias', name: 'champion' },
            actor: 'carol',
            promotionRequest: `req-${version}`,
          });
        }
      }),
    );
    expect((await s.versions.getByAlias('churn', 'champion')).version).toBe(2);
    const history = await s.models.labelHistory({ name: 'churn', kind: 'alias', label: 'champion' });
    expect(history.map((h) => [h.version, h.startedBy, h.endedBy])).toEqual([
      [2, 'carol', null],
      [1, 'carol', 'carol'],
    ]);
    expect(await eventsAfter(seq)).toEqual([
      {
        actor: 'bob',
        action: 'models.alias_set',
        target: 'model:churn',
        project: 'default',
        details: { alias: 'champion', version: 1, previousVersion: null, promotionRequest: 'req-1' },
      },
      {
        actor: 'bob',
        action: 'models.alias_set',
        target: 'model:churn',
        project: 'default',
        details: { alias: 'champion', version: 2, previousVersion: 1, promotionRequest: 'req-2' },
      },
    ]);
  });

  it('moves a protected stage and archives the one it replaces', async () => {
    await modelWithVersions('fraud', 2);
    const promote = (version: number) =>
      runAsCaller(APPROVER, () =>
        transactor().run((stores) =>
          s.models.applyPromotion(stores, {
            modelName: 'fraud',
            version,
            target: { kind: 'stage', name: 'Production' },
            archiveExisting: true,
            actor: 'carol',
            promotionRequest: `stage-${version}`,
          }),
        ),
      );
    await promote(1);
    const seq = await lastSeq();
    const moved = await promote(2);
    expect(moved.stage).toBe('Production');
    expect((await s.versions.getVersion('fraud', 1)).stage).toBe('Archived');
    expect(await eventsAfter(seq)).toEqual([
      expect.objectContaining({
        action: 'model_versions.stage_transition',
        target: 'model_version:fraud/2',
        details: {
          stage: 'Production',
          previousStage: 'None',
          archiveExisting: true,
          promotionRequest: 'stage-2',
        },
      }),
      expect.objectContaining({
        action: 'model_versions.stage_transition',
        target: 'model_version:fraud/1',
        details: {
          stage: 'Archived',
          previousStage: 'Production',
          archivedBy: 'fraud/2',
          promotionRequest: 'stage-2',
        },
      }),
    ]);
  });

  it('rolls back with the promotions transaction when it fails after the move', async () => {
    await modelWithVersions('rollback', 1);
    const seq = await lastSeq();
    const failed = runAsCaller(APPROVER, () =>
      transactor().run(async (stores) => {
        await s.models.applyPromotion(stores, {
          modelName: 'rollback',
          version: 1,
          target: { kind: 'alias', name: 'champion' },
          actor: 'carol',
        });
        throw new Error('the request could not be marked applied');
      }),
    );
    await expect(failed).rejects.toThrow('could not be marked applied');
    expect((await s.models.getModel('rollback')).aliases).toEqual({});
    expect(await s.models.labelHistory({ name: 'rollback' })).toEqual([]);
    expect(await eventsAfter(seq)).toEqual([]);
  });

  it.each([
    [{ kind: 'alias' as const, name: 'latest' }, 'INVALID_ARGUMENT'],
    [{ kind: 'stage' as const, name: 'Live' }, 'INVALID_ARGUMENT'],
  ])('refuses a label that cannot exist: %j', async (target, code) => {
    const seq = await lastSeq();
    const work = transactor().run((stores) =>
      s.models.applyPromotion(stores, { modelName: 'churn', version: 1, target, actor: 'carol' }),
    );
    expect(await codeOf(work)).toBe(code);
    expect(await eventsAfter(seq)).toEqual([]);
  });

  it('refuses a direct move to a protected label in local mode too, once a policy protects it', async () => {
    await modelWithVersions('local', 1);
    expect(await codeOf(s.models.setAlias({ name: 'local', alias: 'champion', version: 1 }))).toBe(
      'PERMISSION_DENIED',
    );
    expect(await codeOf(s.versions.transitionStage({ name: 'local', version: 1, stage: 'Production' }))).toBe(
      'PERMISSION_DENIED',
    );
    const seq = await lastSeq();
    // As the HTTP layer runs every request with auth off.
    await runAsCaller(LOCAL_CALLER, async () => {
      await s.models.setAlias({ name: 'local', alias: 'candidate', version: 1 });
      await s.versions.transitionStage({ name: 'local', version: 1, stage: 'Staging' });
    });
    expect((await eventsAfter(seq)).map((e) => [e.actor, e.action])).toEqual([
      ['local', 'models.alias_set'],
      ['local', 'model_versions.stage_transition'],
    ]);
  });

  it('names the project of a model and of a version for other modules, without a permission check', async () => {
    const version = await s.versions.getVersion('churn', 1);
    await runAsCaller(VIEWER, async () => {
      expect(await s.models.projectOfModel('churn')).toBe('default');
      expect(await s.versions.projectOfVersion(version.versionId)).toBe('default');
      expect(await s.versions.projectOfVersion('no-such-version')).toBeUndefined();
    });
  });

  it('lets a viewer read but checks every change before any transaction opens', async () => {
    const seq = await lastSeq();
    await runAsCaller(VIEWER, async () => {
      expect((await s.models.getModel('churn')).name).toBe('churn');
      expect((await s.versions.searchVersions({ filter: "name = 'churn'" })).items).toHaveLength(2);
      for (const change of [
        () => s.models.setModelTag('churn', 'k', 'v'),
        () => s.models.updateModel('churn', { description: 'x' }),
        () => s.versions.updateVersion('churn', 1, { description: 'x' }),
        () => s.cards.updateCard({ name: 'churn', version: 1, patch: { limitations: 'x' } }),
        () => s.versions.createVersion({ name: 'churn', source: `runs:/${runId}/model` }),
      ]) {
        expect(await codeOf(change())).toBe('PERMISSION_DENIED');
      }
    });
    await runAsCaller({ ...VIEWER, roles: new Map() }, async () => {
      expect(await codeOf(s.models.getModel('churn'))).toBe('PERMISSION_DENIED');
      expect((await s.models.searchModels({})).items).toEqual([]);
    });
    expect(await eventsAfter(seq)).toEqual([]);
    expect((await s.models.getModel('churn')).description).toBe('');
  });

  describe('with auth on and no caller', () => {
    it('fails closed instead of acting as anyone', async () => {
      const secured = await createTestApp(database(), {
        env: { CAIRN_AUTH: 'true', CAIRN_ADMIN_TOKEN: 'y'.repeat(40) },
      });
      try {
        expect(await codeOf(secured.app.cairn.services.models.getModel('churn'))).toBe('UNAUTHENTICATED');
        expect(await codeOf(secured.app.cairn.services.models.searchModels({}))).toBe('UNAUTHENTICATED');
      } finally {
        await secured.close();
      }
    });
  });
});
