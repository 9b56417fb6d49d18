import { randomUUID } from 'node:crypto';
import { isCairnError, RUN_TAGS } from '@cairn/contract';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSqlStores, createSqlTransactor, type MetadataStores } from '../../adapters/sql/sql-stores.js';
import { ADMIN_CALLER, memberCaller } from '../../testing/callers.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import {
  AccessControl,
  deniedAttemptOf,
  LOCAL_CALLER,
  runAsCaller,
  type AuditEvent,
  type Caller,
} from '../governance/index.js';
import { ExperimentService } from './experiments.service.js';
import { TrackingService } from './tracking.service.js';

const clock = { now: () => 1_700_000_000_000 };

const as = <T>(caller: Caller, work: () => Promise<T>): Promise<T> => runAsCaller(caller, work);

/** The error a promise rejects with (a test that expects one fails if it resolves). */
async function failure(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; denied: boolean }> {
  try {
    await promise;
  } catch (error) {
    if (!isCairnError(error)) throw error;
    return { code: error.code, message: error.message, denied: deniedAttemptOf(error) !== undefined };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

interface Fixture {
  projectId: string;
  experimentId: string;
  runId: string;
}

type Services = { experiments: ExperimentService; tracking: TrackingService };

/** Every tracking mutation: its audit action and target, any set-up it needs, and the call itself. */
const MUTATIONS: Array<{
  action: string;
  target: 'experiment' | 'run';
  setup?: (s: Services, f: Fixture) => Promise<unknown>;
  call: (s: Services, f: Fixture) => Promise<unknown>;
}> = [
  {
    action: 'experiments.rename',
    target: 'experiment',
    call: (s, f) => s.experiments.renameExperiment(f.experimentId, `renamed-${randomUUID()}`),
  },
  {
    action: 'experiments.delete',
    target: 'experiment',
    call: (s, f) => s.experiments.deleteExperiment(f.experimentId),
  },
  {
    action: 'experiments.restore',
    target: 'experiment',
    setup: (s, f) => s.experiments.deleteExperiment(f.experimentId),
    call: (s, f) => s.experiments.restoreExperiment(f.experimentId),
  },
  {
    action: 'experiments.tag_set',
    target: 'experiment',
    call: (s, f) => s.experiments.setExperimentTag(f.experimentId, 'team', 'fraud'),
  },
  {
    action: 'experiments.tag_delete',
    target: 'experiment',
    setup: (s, f) => s.experiments.setExperimentTag(f.experimentId, 'team', 'fraud'),
    call: (s, f) => s.experiments.deleteExperimentTag(f.experimentId, 'team'),
  },
  {
    action: 'runs.create',
    target: 'experiment',
    call: (s, f) => s.tracking.createRun({ experimentId: f.experimentId, runName: 'second' }),
  },
  {
    action: 'runs.update',
    target: 'run',
    call: (s, f) => s.tracking.updateRun(f.runId, { status: 'FINISHED', endTime: 5 }),
  },
  { action: 'runs.delete', target: 'run', call: (s, f) => s.tracking.deleteRun(f.runId) },
  {
    action: 'runs.restore',
    target: 'run',
    setup: (s, f) => s.tracking.deleteRun(f.runId),
    call: (s, f) => s.tracking.restoreRun(f.runId),
  },
  {
    action: 'runs.log_metric',
    target: 'run',
    call: (s, f) => s.tracking.logMetric(f.runId, { key: 'auc', value: 0.9, timestamp: 1, step: 0 }),
  },
  { action: 'runs.log_param', target: 'run', call: (s, f) => s.tracking.logParam(f.runId, 'lr', '0.1') },
  {
    action: 'runs.log_batch',
    target: 'run',
    call: (s, f) =>
      s.tracking.logBatch(f.runId, {
        metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 0 }],
        params: [{ key: 'depth', value: '3' }],
        tags: [{ key: 'stage', value: 'dev' }],
      }),
  },
  { action: 'runs.tag_set', target: 'run', call: (s, f) => s.tracking.setTag(f.runId, 'note', 'hi') },
  {
    action: 'runs.tag_delete',
    target: 'run',
    setup: (s, f) => s.tracking.setTag(f.runId, 'note', 'hi'),
    call: (s, f) => s.tracking.deleteTag(f.runId, 'note'),
  },
  {
    action: 'runs.log_inputs',
    target: 'run',
    call: (s, f) =>
      s.tracking.logInputs(f.runId, [
        { dataset: { name: 'train', digest: 'd1', source_type: 'local', source: '/data/train.csv' } },
      ]),
  },
  {
    action: 'runs.log_model',
    target: 'run',
    call: (s, f) =>
      s.tracking.recordLoggedModel(
        f.runId,
        JSON.stringify({
          artifact_path: 'model',
          flavors: { onnx: {} },
          utc_time_created: 'now',
          run_id: f.runId,
        }),
      ),
  },
];

describeEachDatabase('tracking permissions and audit (service layer)', ({ database }) => {
  let stores: MetadataStores;
  let services: Services;
  let local: Services;

  beforeAll(async () => {
    const db = database();
    stores = createSqlStores(db.db, db.helpers);
    const transactor = createSqlTransactor(db, clock);
    const build = (authEnabled: boolean): Services => {
      const access = new AccessControl({ authEnabled });
      const experiments = new ExperimentService({ store: stores.tracking, transactor, clock, access });
      const tracking = new TrackingService({
        experiments,
        store: stores.tracking,
        transactor,
        clock,
        access,
      });
      return { experiments, tracking };
    };
    services = build(true);
    local = build(false);
    await services.experiments.ensureDefaults();
  });

  /** Two fresh projects with an experiment and a run each, and the people who work there. */
  async function world() {
    const p1 = `p1-${randomUUID().slice(0, 8)}`;
    const p2 = `p2-${randomUUID().slice(0, 8)}`;
    for (const p of [p1, p2]) await stores.tracking.ensureProject(p, p, clock.now());
    const fixture = async (projectId: string): Promise<Fixture> =>
      as(ADMIN_CALLER, async () => {
        const experiment = await services.experiments.createExperiment({
          name: `exp-${randomUUID()}`,
          project: projectId,
        });
        const run = await services.tracking.createRun({ experimentId: experiment.experimentId });
        return { projectId, experimentId: experiment.experimentId, runId: run.info.runId };
      });
    return {
      p1,
      p2,
      one: await fixture(p1),
      two: await fixture(p2),
      viewer: memberCaller('alice', { [p1]: 'viewer' }),
      editor: memberCaller('bob', { [p1]: 'editor' }),
      approver: memberCaller('dana', { [p1]: 'approver' }),
      outsider: memberCaller('carol', { [p2]: 'editor' }),
    };
  }

  const headSeq = async (): Promise<number> => (await stores.auditLog.head()).lastSeq;
  const eventsAfter = (seq: number): Promise<AuditEvent[]> =>
    stores.auditLog.query({ afterSeq: seq, order: 'asc', limit: 1000 });

  /** What a denied call must leave untouched, read as an admin. */
  const snapshot = (f: Fixture) =>
    as(ADMIN_CALLER, async () =>
      JSON.stringify([
        await services.experiments.getExperiment(f.experimentId),
        await services.tracking.getRun(f.runId),
        await services.tracking.getMetricHistory(f.runId, 'auc'),
        (await services.tracking.searchRuns({ experimentIds: [f.experimentId] })).items.length,
      ]),
    );

  describe.each(MUTATIONS)('$action', (mutation) => {
    it('by an editor of the project: one audit event with action, target, project and actor', async () => {
      const w = await world();
      if (mutation.setup !== undefined) await as(ADMIN_CALLER, () => mutation.setup!(services, w.one));
      const before = await headSeq();
      await as(w.editor, () => mutation.call(services, w.one));
      const events = await eventsAfter(before);
      expect(events).toHaveLength(1);
      const [event] = events as [AuditEvent];
      expect(event).toMatchObject({ action: mutation.action, actor: 'bob', outcome: 'ok', projectId: w.p1 });
      const expectedTarget =
        mutation.action === 'runs.create'
          ? { kind: 'run' }
          : { kind: mutation.target, id: mutation.target === 'run' ? w.one.runId : w.one.experimentId };
      expect(event.target).toMatchObject(expectedTarget);
    });

    it.each(['viewer', 'approver', 'outsider'] as const)(
      'by a %s: PERMISSION_DENIED carrying the attempt, nothing written, no event',
      async (who) => {
        const w = await world();
        if (mutation.setup !== undefined) await as(ADMIN_CALLER, () => mutation.setup!(services, w.one));
        const [before, seq] = [await snapshot(w.one), await headSeq()];
        const error = await failure(as(w[who], () => mutation.call(services, w.one)));
        expect(error).toMatchObject({ code: 'PERMISSION_DENIED', denied: true });
        expect(error.message).toContain(w.p1);
        expect(await snapshot(w.one)).toBe(before);
        expect(await eventsAfter(seq)).toEqual([]);
      },
    );

    it('in local mode (auth off): allowed, recorded with actor local', async () => {
      const w = await world();
      if (mutation.setup !== undefined) await as(ADMIN_CALLER, () => mutation.setup!(local, w.one));
      const before = await headSeq();
      await as(LOCAL_CALLER, () => mutation.call(local, w.one));
      const events = await eventsAfter(before);
      expect(events.map((e) => [e.action, e.actor, e.projectId])).toEqual([[mutation.action, 'local', w.p1]]);
    });
  });

  it('fails closed with auth on and no caller at all', async () => {
    const w = await world();
    const error = await failure(services.tracking.logParam(w.one.runId, 'k', 'v'));
    expect(error.code).toBe('UNAUTHENTICATED');
  });

  describe('creating experiments in projects', () => {
    it('puts the experiment in the named project and records the create there', async () => {
      const w = await world();
      const before = await headSeq();
      const experiment = await as(w.editor, () =>
        services.experiments.createExperiment({ name: `e-${randomUUID()}`, project: w.p1 }),
      );
      expect(experiment.projectId).toBe(w.p1);
      const [event] = await eventsAfter(before);
      expect(event).toMatchObject({
        action: 'experiments.create',
        target: { kind: 'experiment', id: experiment.experimentId },
        projectId: w.p1,
        actor: 'bob',
      });
      expect(JSON.parse(event!.details)).toMatchObject({ name: experiment.name });
    });

    it('takes the project from the MLflow tag cairn.project and keeps the tag', async () => {
      const w = await world();
      const experiment = await as(w.editor, () =>
        services.experiments.createExperiment({
          name: `e-${randomUUID()}`,
          tags: [{ key: 'cairn.project', value: w.p1 }],
        }),
      );
      expect(experiment.projectId).toBe(w.p1);
      expect(experiment.tags['cairn.project']).toBe(w.p1);
    });

    it.each([
      ['an unknown project (admin)', 'admin', (p: string) => ({ project: `${p}-missing` }), 'NOT_FOUND'],
      [
        'an unknown project (editor elsewhere)',
        'editor',
        (p: string) => ({ project: `${p}-missing` }),
        'PERMISSION_DENIED',
      ],
      [
        'a project given twice, differently',
        'admin',
        (p: string) => ({ project: p, tags: [{ key: 'cairn.project', value: 'other' }] }),
        'INVALID_ARGUMENT',
      ],
      ['a project id that is no id', 'admin', () => ({ project: '../etc' }), 'INVALID_ARGUMENT'],
      ['the default project without a role there', 'editor', () => ({}), 'PERMISSION_DENIED'],
      [
        'a project where the caller only views',
        'viewer',
        (p: string) => ({ project: p }),
        'PERMISSION_DENIED',
      ],
    ] as const)('refuses %s with %s, writing nothing', async (_label, who, input, code) => {
      const w = await world();
      const caller = who === 'admin' ? ADMIN_CALLER : w[who];
      const name = `e-${randomUUID()}`;
      const seq = await headSeq();
      const error = await failure(
        as(caller, () => services.experiments.createExperiment({ name, ...input(w.p1) })),
      );
      expect(error.code).toBe(code);
      if (code === 'NOT_FOUND') expect(error.message).toContain(`${w.p1}-missing`);
      expect(await stores.tracking.getExperimentByName(name)).toBeUndefined();
      expect(await eventsAfter(seq)).toEqual([]);
    });
  });

  describe('reads', () => {
    it('a viewer reads experiments, runs, searches and histories of the project', async () => {
      const w = await world();
      await as(ADMIN_CALLER, () =>
        services.tracking.logMetric(w.one.runId, { key: 'auc', value: 1, timestamp: 1, step: 0 }),
      );
      await as(w.viewer, async () => {
        expect((await services.experiments.getExperiment(w.one.experimentId)).projectId).toBe(w.p1);
        expect((await services.tracking.getRun(w.one.runId)).info.runId).toBe(w.one.runId);
        expect((await services.tracking.getMetricHistory(w.one.runId, 'auc')).items).toHaveLength(1);
        const runs = await services.tracking.searchRuns({ experimentIds: [w.one.experimentId] });
        expect(runs.items.map((r) => r.info.runId)).toEqual([w.one.runId]);
      });
    });

    it.each([
      ['getExperiment', (s: Services, f: Fixture) => s.experiments.getExperiment(f.experimentId)],
      [
        'getExperimentByName',
        async (s: Services, f: Fixture) => {
          const { name } = await as(ADMIN_CALLER, () => s.experiments.getExperiment(f.experimentId));
          return s.experiments.getExperimentByName(name);
        },
      ],
      ['getRun', (s: Services, f: Fixture) => s.tracking.getRun(f.runId)],
      ['getRunInfo', (s: Services, f: Fixture) => s.tracking.getRunInfo(f.runId)],
      ['getMetricHistory', (s: Services, f: Fixture) => s.tracking.getMetricHistory(f.runId, 'auc')],
      [
        'getMetricHistoryBulk',
        (s: Services, f: Fixture) => s.tracking.getMetricHistoryBulk([f.runId], 'auc'),
      ],
      [
        'searchRuns naming its experiment',
        (s: Services, f: Fixture) => s.tracking.searchRuns({ experimentIds: [f.experimentId] }),
      ],
    ] as const)('an editor of another project may not %s', async (_name, read) => {
      const w = await world();
      const error = await failure(as(w.outsider, (): Promise<unknown> => read(services, w.one)));
      expect(error).toMatchObject({ code: 'PERMISSION_DENIED', denied: true });
    });

    it('searches return only experiments and runs of readable projects', async () => {
      const w = await world();
      const names = async (caller: Caller) =>
        as(caller, async () =>
          (await services.experiments.searchExperiments({ maxResults: 1000 })).items.map(
            (e) => e.experimentId,
          ),
        );
      expect(await names(w.viewer)).toEqual([w.one.experimentId]);
      expect(await names(w.outsider)).toEqual([w.two.experimentId]);
      expect(await names(memberCaller('nobody', {}))).toEqual([]);
      expect(await names(ADMIN_CALLER)).toEqual(
        expect.arrayContaining([w.one.experimentId, w.two.experimentId, '0']),
      );
      // An id that is no experiment passes the per-id check, but the store still scopes by project.
      const runs = await as(w.outsider, () =>
        services.tracking.searchRuns({ experimentIds: [w.two.experimentId, '999999'] }),
      );
      expect(runs.items.map((r) => r.info.runId)).toEqual([w.two.runId]);
    });
  });

  describe('who a run belongs to', () => {
    it('with auth on, the authenticated caller, whatever user_id or mlflow.user claim', async () => {
      const w = await world();
      const run = await as(w.editor, () =>
        services.tracking.createRun({
          experimentId: w.one.experimentId,
          userId: 'mallory',
          tags: [{ key: RUN_TAGS.user, value: 'mallory' }],
        }),
      );
      expect(run.info.userId).toBe('bob');
      expect((await stores.tracking.getRun(run.info.runId))?.data.tags[RUN_TAGS.user]).toBe('bob');
    });

    it('with auth off, what the client says', async () => {
      const w = await world();
      const run = await as(LOCAL_CALLER, () =>
        local.tracking.createRun({ experimentId: w.one.experimentId, userId: 'mallory' }),
      );
      expect(run.info.userId).toBe('mallory');
    });
  });

  it('group-committed metrics keep each caller on its own audit event', async () => {
    const w = await world();
    const carolOnTwo = memberCaller('carol', { [w.p2]: 'editor' });
    const before = await headSeq();
    const calls: Array<Promise<void>> = [];
    for (let step = 0; step < 20; step++) {
      const [caller, runId] = step % 2 === 0 ? [w.editor, w.one.runId] : [carolOnTwo, w.two.runId];
      const metric = { key: 'm', value: step, timestamp: step, step };
      calls.push(as(caller, () => services.tracking.logMetric(runId, metric)));
    }
    await Promise.all(calls);
    const events = await eventsAfter(before);
    expect(events).toHaveLength(20);
    for (const event of events) {
      expect(event.action).toBe('runs.log_metric');
      const mine = event.actor === 'bob' ? [w.p1, w.one.runId] : [w.p2, w.two.runId];
      expect([event.projectId, event.target.id]).toEqual(mine);
    }
    expect(events.filter((e) => e.actor === 'bob')).toHaveLength(10);
  });

  it('a batch is summarised in its event: counts and keys, not values', async () => {
    const w = await world();
    const before = await headSeq();
    await as(w.editor, () =>
      services.tracking.logBatch(w.one.runId, {
        metrics: [0, 1, 2].map((step) => ({ key: 'loss', value: 0.123456, timestamp: 1, step })),
        params: [{ key: 'lr', value: 'secret-ish-value' }],
        tags: [],
      }),
    );
    const [event] = await eventsAfter(before);
    expect(JSON.parse(event!.details)).toEqual({
      metrics: 3,
      params: 1,
      tags: 0,
      metricKeys: ['loss'],
      paramKeys: ['lr'],
      tagKeys: [],
    });
    expect(event!.details).not.toContain('secret-ish-value');
  });
});
