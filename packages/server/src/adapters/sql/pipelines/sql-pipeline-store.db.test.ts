import type { PipelineSpec } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import type {
  PipelineRunRecord,
  PipelineTriggerRecord,
  StepRunRecord,
} from '../../../modules/pipelines/entities.js';
import type { PipelineStore } from '../../../modules/pipelines/pipelines.store.js';
import { describeEachDatabase } from '../../../testing/index.js';
import { createSqlStores, createSqlTransactor } from '../sql-stores.js';

const NOW = 1_700_000_000_000;
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const FAR_FUTURE = 9_000_000_000_000_000;

const SPEC: PipelineSpec = {
  name: 'train',
  params: { lr: 0.1, epochs: 3, tags: ['a', 'b'] },
  concurrency: null,
  steps: [
    {
      name: 'prep',
      run: 'python prep.py {{params.lr}}',
      inputs: { raw: { kind: 'dataset', dataset: 'churn', ref: 'latest' } },
      outputs: ['data'],
      foreach: { kind: 'list', items: [1, 2, 3] },
      retry: { count: 2, backoffMs: 1000 },
      timeoutMs: null,
      cache: true,
      resources: { cpu: 1, memoryMb: null, gpu: 0 },
      env: { MODE: 'fast' },
      code: null,
      params: ['lr'],
      after: [],
    },
  ],
};

describeEachDatabase('SqlPipelineStore', ({ database }) => {
  let counter = 0;
  const unique = (base: string): string => `${base}-${counter++}`;

  /** A store bound to the database, and a project of its own (runs and triggers reference projects). */
  async function setUp(): Promise<{ store: PipelineStore; projectId: string }> {
    const stores = createSqlStores(database().db, database().helpers);
    const projectId = unique('project');
    await stores.tracking.ensureProject(projectId, projectId, NOW);
    return { store: stores.pipelines, projectId };
  }

  function runOf(projectId: string, fields: Partial<PipelineRunRecord> = {}): PipelineRunRecord {
    return {
      pipelineRunId: unique('prun'),
      projectId,
      pipelineName: 'train',
      spec: SPEC,
      definitionDigest: DIGEST,
      codeDigest: null,
      params: { lr: 0.1, epochs: 3, tags: ['a', 'b'] },
      executor: 'local',
      useCache: true,
      status: 'running',
      trigger: { kind: 'manual' },
      triggerKey: null,
      error: null,
      experimentId: 'exp-1',
      owner: null,
      leaseUntil: null,
      createdAt: NOW,
      startedAt: null,
      endedAt: null,
      createdBy: 'alice',
      ...fields,
    };
  }

  function stepOf(run: PipelineRunRecord, fields: Partial<StepRunRecord> = {}): StepRunRecord {
    return {
      stepRunId: unique('srun'),
      pipelineRunId: run.pipelineRunId,
      stepName: 'prep',
      itemIndex: -1,
      item: null,
      status: 'pending',
      attempt: 0,
      cacheKey: null,
      cachedFrom: null,
      reason: null,
      runId: null,
      outputs: {},
      exitCode: null,
      error: null,
      stderrTail: null,
      notBefore: null,
      leaseOwner: null,
      leaseUntil: null,
      pid: null,
      createdAt: NOW,
      startedAt: null,
      endedAt: null,
      ...fields,
    };
  }

  function triggerOf(projectId: string, fields: Partial<PipelineTriggerRecord> = {}): PipelineTriggerRecord {
    return {
      triggerId: unique('trig'),
      projectId,
      name: unique('nightly'),
      kind: 'schedule',
      cron: '0 3 * * *',
      timezone: null,
      dataset: null,
      alias: null,
      spec: SPEC,
      definitionDigest: DIGEST,
      codeDigest: null,
      params: { lr: 0.2 },
      executor: 'local',
      enabled: true,
      nextAt: NOW + 1000,
      lastSeen: null,
      createdAt: NOW,
      createdBy: 'alice',
      ...fields,
    };
  }

  /**
   * Every active run earlier tests left behind, leased far into the future, so
   * a claim test sees only the runs it makes (claims are not project-scoped).
   */
  async function leaseAwayOtherRuns(store: PipelineStore): Promise<void> {
    await store.claimRuns({
      owner: unique('drain'),
      now: FAR_FUTURE,
      leaseUntil: FAR_FUTURE + 1,
      limit: 1_000_000,
    });
  }

  describe('runs', () => {
    it('round-trips a run with its first steps, with every field set or null', async () => {
      const { store, projectId } = await setUp();
      const bare = runOf(projectId);
      const full = runOf(projectId, {
        codeDigest: `sha256:${'cd'.repeat(32)}`,
        executor: 'queue',
        useCache: false,
        status: 'cancelling',
        trigger: { kind: 'dataset', triggerId: 'trig-1', dataset: 'churn', versionId: 'dv-7' },
        triggerKey: unique('key'),
        error: 'stopped by bob',
        owner: 'scheduler-a',
        leaseUntil: NOW + 30_000,
        startedAt: NOW + 1,
        endedAt: NOW + 2,
      });
      const steps = [
        stepOf(full),
        stepOf(full, {
          stepName: 'fan',
          itemIndex: 0,
          item: { path: ['a', 1], ok: false, none: null },
          status: 'succeeded',
          attempt: 2,
          cacheKey: 'ck-1',
          cachedFrom: 'srun-x',
          reason: 'ran: inputs changed',
          runId: 'run-1',
          outputs: {
            model: { digest: DIGEST, sizeBytes: 12, type: 'file' },
            plots: { digest: DIGEST, sizeBytes: 0, type: 'dir' },
          },
          exitCode: 0,
          error: 'none',
          stderrTail: 'line 1\nline 2',
          notBefore: NOW + 5,
          leaseOwner: 'worker-1',
          leaseUntil: NOW + 6,
          pid: 4242,
          startedAt: NOW + 3,
          endedAt: NOW + 4,
        }),
        stepOf(full, { stepName: 'fan', itemIndex: 1, item: 'text' }),
        stepOf(full, { stepName: 'fan', itemIndex: 2, item: 0 }),
      ];
      await store.insertRun(bare, []);
      await store.insertRun(full, steps);

      expect(await store.getRun(bare.pipelineRunId)).toEqual(bare);
      expect(await store.getRun(full.pipelineRunId)).toEqual(full);
      expect(await store.getRun('missing')).toBeUndefined();
      expect(await store.listSteps(bare.pipelineRunId)).toEqual([]);
      expect(await store.listSteps(full.pipelineRunId)).toEqual([steps[1], steps[2], steps[3], steps[0]]);
      for (const step of steps) expect(await store.getStep(step.stepRunId)).toEqual(step);
      expect(await store.getStep('missing')).toBeUndefined();
    });

    it('refuses a second run with the same id or trigger key, and a run of no project', async () => {
      const { store, projectId } = await setUp();
      const triggerKey = unique('trigger-key');
      const first = runOf(projectId, { triggerKey });
      await store.insertRun(first, [stepOf(first)]);
      expect(await store.getRunByTriggerKey(triggerKey)).toEqual(first);
      expect(await store.getRunByTriggerKey('missing')).toBeUndefined();

      await expect(store.insertRun({ ...first, triggerKey: null }, [])).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
      });
      const second = runOf(projectId, { triggerKey });
      await expect(store.insertRun(second, [])).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });

      // Through a transaction, as the service does: nothing of the losing run stays.
      const transactor = createSqlTransactor(database());
      const loser = runOf(projectId, { triggerKey });
      await expect(
        transactor.run((stores) => stores.pipelines.insertRun(loser, [stepOf(loser)])),
      ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      expect(await store.getRun(loser.pipelineRunId)).toBeUndefined();
      expect(await store.listSteps(loser.pipelineRunId)).toEqual([]);

      // Many runs without a trigger key live side by side.
      await store.insertRun(runOf(projectId), []);
      await store.insertRun(runOf(projectId), []);
      await expect(store.insertRun(runOf('no-such-project'), [])).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('lists newest first, filtered, a page at a time', async () => {
      const { store, projectId } = await setUp();
      const other = await setUp();
      const a = runOf(projectId, { createdAt: NOW + 1, pipelineRunId: unique('prun-a') });
      const b = runOf(projectId, { createdAt: NOW + 3, pipelineName: 'etl', status: 'failed' });
      // Same millisecond: the larger id (in byte order) comes first.
      const c1 = runOf(projectId, { createdAt: NOW + 2, pipelineRunId: `${unique('prun')}-B` });
      const c2 = runOf(projectId, {
        createdAt: NOW + 2,
        pipelineRunId: `${c1.pipelineRunId.slice(0, -2)}-a`,
      });
      const elsewhere = runOf(other.projectId, { createdAt: NOW + 9 });
      for (const run of [a, b, c1, c2, elsewhere]) await store.insertRun(run, []);

      const ids = (runs: PipelineRunRecord[]): string[] => runs.map((r) => r.pipelineRunId);
      const mine = { projectIds: [projectId], offset: 0, limit: 100 };
      expect(await store.listRuns(mine)).toEqual([b, c2, c1, a]);
      expect(ids(await store.listRuns({ ...mine, limit: 2 }))).toEqual(ids([b, c2, c1]));
      expect(ids(await store.listRuns({ ...mine, offset: 2, limit: 2 }))).toEqual(ids([c1, a]));
      expect(ids(await store.listRuns({ ...mine, offset: 4, limit: 2 }))).toEqual([]);
      expect(ids(await store.listRuns({ ...mine, pipelineName: 'etl' }))).toEqual(ids([b]));
      expect(ids(await store.listRuns({ ...mine, status: 'running' }))).toEqual(ids([c2, c1, a]));
      expect(ids(await store.listRuns({ ...mine, status: 'failed', pipelineName: 'train' }))).toEqual([]);
      expect(
        ids(await store.listRuns({ ...mine, projectIds: [projectId, other.projectId], limit: 2 })),
      ).toEqual(ids([elsewhere, b, c2]));
      expect(await store.listRuns({ ...mine, projectIds: [] })).toEqual([]);
      const everywhere = ids(await store.listRuns({ offset: 0, limit: 100_000 }));
      expect(everywhere).toEqual(expect.arrayContaining(ids([a, b, c1, c2, elsewhere])));
    });

    it('updates a run by compare-and-set on its status', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId, { owner: 'scheduler-a', leaseUntil: NOW + 10 });
      await store.insertRun(run, []);
      const id = run.pipelineRunId;

      expect(await store.updateRun(id, { startedAt: NOW + 1 })).toBe(true);
      const ended = { status: 'failed', error: 'step prep failed', endedAt: NOW + 5 } as const;
      expect(await store.updateRun(id, ended, ['running', 'cancelling'])).toBe(true);
      const afterEnd = { ...run, startedAt: NOW + 1, ...ended };
      expect(await store.getRun(id)).toEqual(afterEnd);

      // Stale guard: nothing changes.
      expect(await store.updateRun(id, { status: 'succeeded', error: null }, ['running'])).toBe(false);
      expect(await store.updateRun(id, { status: 'succeeded' }, [])).toBe(false);
      expect(await store.getRun(id)).toEqual(afterEnd);
      expect(await store.updateRun('missing', { status: 'failed' })).toBe(false);

      // Fields set back to null.
      expect(await store.updateRun(id, { error: null, owner: null, leaseUntil: null })).toBe(true);
      expect(await store.getRun(id)).toEqual({ ...afterEnd, error: null, owner: null, leaseUntil: null });

      // An empty patch writes nothing and says whether the guard holds.
      expect(await store.updateRun(id, {})).toBe(true);
      expect(await store.updateRun(id, {}, ['failed'])).toBe(true);
      expect(await store.updateRun(id, {}, ['running'])).toBe(false);
      expect(await store.updateRun('missing', {})).toBe(false);
    });
  });

  describe('leases', () => {
    it('claims active runs whose lease is free, expired or its own, up to the limit', async () => {
      const { store, projectId } = await setUp();
      await leaseAwayOtherRuns(store);
      const owner = unique('scheduler');
      const free = runOf(projectId, { createdAt: NOW + 1 });
      const expired = runOf(projectId, { owner: 'gone', leaseUntil: NOW - 1, createdAt: NOW + 2 });
      const own = runOf(projectId, { owner, leaseUntil: NOW + 5, createdAt: NOW + 3 });
      const cancelling = runOf(projectId, { status: 'cancelling', createdAt: NOW + 4 });
      const noLease = runOf(projectId, { owner: 'odd', leaseUntil: null, createdAt: NOW + 5 });
      const held = runOf(projectId, { owner: 'other', leaseUntil: NOW + 5, createdAt: NOW + 6 });
      const heldToNow = runOf(projectId, { owner: 'other', leaseUntil: NOW, createdAt: NOW + 7 });
      const ended = runOf(projectId, { status: 'succeeded', createdAt: NOW + 8 });
      const all = [free, expired, own, cancelling, noLease, held, heldToNow, ended];
      for (const run of all) await store.insertRun(run, []);

      const claim = { owner, now: NOW, leaseUntil: NOW + 60_000 };
      // Oldest first.
      expect(await store.claimRuns({ ...claim, limit: 2 })).toEqual([
        free.pipelineRunId,
        expired.pipelineRunId,
      ]);
      expect(await store.claimRuns({ ...claim, limit: 0 })).toEqual([]);
      const taken = await store.claimRuns({ ...claim, limit: 100 });
      // Its own leases are renewed as part of a claim.
      expect(taken).toEqual([free, expired, own, cancelling, noLease].map((r) => r.pipelineRunId));
      for (const run of [free, expired, own, cancelling, noLease]) {
        expect(await store.getRun(run.pipelineRunId)).toMatchObject({ owner, leaseUntil: NOW + 60_000 });
      }
      for (const run of [held, heldToNow, ended]) expect(await store.getRun(run.pipelineRunId)).toEqual(run);

      // Another scheduler finds nothing while the leases hold, and everything once they lapse.
      const rival = { owner: unique('scheduler'), leaseUntil: NOW + 200_000, limit: 100 };
      // A lease holds up to and including its last millisecond.
      expect(await store.claimRuns({ ...rival, now: NOW })).toEqual([]);
      expect(await store.claimRuns({ ...rival, now: NOW + 60_001 })).toEqual(
        [free, expired, own, cancelling, noLease, held, heldToNow].map((r) => r.pipelineRunId),
      );
    });

    it('never hands one run to two schedulers racing for it', async () => {
      const { store, projectId } = await setUp();
      await leaseAwayOtherRuns(store);
      const runs = Array.from({ length: 40 }, (_, i) => runOf(projectId, { createdAt: NOW + i }));
      for (const run of runs) await store.insertRun(run, []);
      const expected = runs.map((r) => r.pipelineRunId).sort();
      const transactor = createSqlTransactor(database());

      for (const inTransaction of [false, true]) {
        // Two store sets on the same database: on PostgreSQL each claim runs on its own pooled connection.
        const owners = [unique('scheduler-a'), unique('scheduler-b'), unique('scheduler-c')];
        const round = inTransaction ? NOW + 1_000_000 : NOW;
        const claim = (owner: string): Promise<string[]> => {
          const input = { owner, now: round, leaseUntil: round + 500_000, limit: 100 };
          return inTransaction
            ? transactor.run((stores) => stores.pipelines.claimRuns(input))
            : createSqlStores(database().db, database().helpers).pipelines.claimRuns(input);
        };
        const results = await Promise.all(owners.map(claim));
        const union = results.flat();
        expect(new Set(union).size).toBe(union.length);
        expect([...union].sort()).toEqual(expected);
        for (const [i, ids] of results.entries()) {
          for (const id of ids) expect((await store.getRun(id))?.owner).toBe(owners[i]);
        }
      }
    });

    it('renews and releases only the leases its owner holds', async () => {
      const { store, projectId } = await setUp();
      await leaseAwayOtherRuns(store);
      const owner = unique('scheduler');
      const mine = [runOf(projectId), runOf(projectId)];
      const theirs = runOf(projectId, { owner: 'other', leaseUntil: NOW + 10 });
      for (const run of [...mine, theirs]) await store.insertRun(run, []);
      const ids = [...mine, theirs].map((r) => r.pipelineRunId);
      expect(await store.claimRuns({ owner, now: NOW, leaseUntil: NOW + 100, limit: 10 })).toHaveLength(2);

      const renewed = await store.renewRuns({
        owner,
        pipelineRunIds: [...ids, 'missing'],
        leaseUntil: NOW + 200,
      });
      expect(renewed.sort()).toEqual(mine.map((r) => r.pipelineRunId).sort());
      expect(await store.renewRuns({ owner, pipelineRunIds: [], leaseUntil: NOW + 300 })).toEqual([]);
      for (const run of mine) {
        expect(await store.getRun(run.pipelineRunId)).toMatchObject({ owner, leaseUntil: NOW + 200 });
      }
      expect(await store.getRun(theirs.pipelineRunId)).toEqual(theirs);

      await store.releaseRuns(owner, [ids[0] ?? '', theirs.pipelineRunId]);
      await store.releaseRuns(owner, []);
      expect(await store.getRun(ids[0] ?? '')).toMatchObject({ owner: null, leaseUntil: null });
      expect(await store.getRun(ids[1] ?? '')).toMatchObject({ owner, leaseUntil: NOW + 200 });
      expect(await store.getRun(theirs.pipelineRunId)).toEqual(theirs);
      expect(await store.renewRuns({ owner, pipelineRunIds: ids, leaseUntil: NOW + 300 })).toEqual([ids[1]]);

      // A released run goes to the next scheduler at once, lease or no lease.
      const next = await store.claimRuns({
        owner: unique('scheduler'),
        now: NOW,
        leaseUntil: NOW + 50,
        limit: 10,
      });
      expect(next).toEqual([ids[0]]);
    });
  });

  describe('steps', () => {
    it('inserts and reads back a large fan-out in batches', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId);
      await store.insertRun(run, [stepOf(run, { stepName: 'fan' })]);
      const items = Array.from({ length: 10_001 }, (_, i) =>
        stepOf(run, {
          stepName: 'fan',
          itemIndex: i,
          item: { file: `part-${i}.csv`, n: i },
          cacheKey: i % 2 === 0 ? `ck-${i}` : null,
          outputs: i % 1000 === 0 ? { out: { digest: DIGEST, sizeBytes: i, type: 'file' } } : {},
        }),
      );
      await store.insertSteps(items);
      await store.insertSteps([]);

      const listed = await store.listSteps(run.pipelineRunId);
      expect(listed).toHaveLength(10_002);
      expect(listed[0]?.itemIndex).toBe(-1);
      expect(listed.slice(1)).toEqual(items);

      // One statement for every id, whatever the count.
      const ids = items.map((s) => s.stepRunId);
      expect(
        await store.updateSteps(ids, { status: 'skipped', reason: 'cancelled' }, { status: ['pending'] }),
      ).toBe(10_001);
      expect(await store.updateSteps(ids, { status: 'pending' }, { status: ['pending'] })).toBe(0);
      await store.deleteItems(run.pipelineRunId, 'fan');
      expect(await store.listSteps(run.pipelineRunId)).toHaveLength(0);
    });

    it('refuses a second row for the same step item', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId);
      const step = stepOf(run, { stepName: 'fan', itemIndex: 3 });
      await store.insertRun(run, [step]);
      await expect(store.insertSteps([stepOf(run, { stepName: 'fan', itemIndex: 3 })])).rejects.toMatchObject(
        {
          code: 'ALREADY_EXISTS',
        },
      );
      await expect(store.insertSteps([{ ...step, itemIndex: 4 }])).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
      });
      await expect(store.insertSteps([stepOf(runOf(projectId))])).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(await store.listSteps(run.pipelineRunId)).toEqual([step]);
    });

    it('lists by step name in byte order, then by item index as a number', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId);
      const named = (stepName: string, itemIndex = -1): StepRunRecord => stepOf(run, { stepName, itemIndex });
      // Byte order: '-' < 'B' < '_' < 'a'; a linguistic collation would interleave them.
      const expected = [
        named('B'),
        named('_x'),
        named('a-1'),
        named('a_1'),
        named('b', 0),
        named('b', 2),
        named('b', 10),
      ];
      await store.insertRun(run, [...expected].reverse());
      const names = (await store.listSteps(run.pipelineRunId)).map((s) => `${s.stepName}/${s.itemIndex}`);
      expect(names).toEqual(expected.map((s) => `${s.stepName}/${s.itemIndex}`));
    });

    it('updates a step by compare-and-set on status and attempt', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId);
      const step = stepOf(run);
      await store.insertRun(run, [step]);
      const id = step.stepRunId;

      const started = {
        status: 'running',
        attempt: 1,
        runId: 'run-1',
        leaseOwner: 'scheduler-a',
        leaseUntil: NOW + 10,
        pid: 99,
        startedAt: NOW + 1,
      } as const;
      expect(await store.updateStep(id, started, { status: ['pending', 'queued'], attempt: 0 })).toBe(true);
      const running = { ...step, ...started };
      expect(await store.getStep(id)).toEqual(running);

      // Stale guards: wrong status, wrong attempt, no status at all; nothing changes.
      expect(await store.updateStep(id, { status: 'failed' }, { status: ['pending'] })).toBe(false);
      expect(await store.updateStep(id, { status: 'failed' }, { status: ['running'], attempt: 0 })).toBe(
        false,
      );
      expect(await store.updateStep(id, { status: 'failed' }, { status: [] })).toBe(false);
      expect(await store.getStep(id)).toEqual(running);
      expect(await store.updateStep('missing', { status: 'failed' })).toBe(false);

      const finished = {
        status: 'succeeded',
        outputs: { data: { digest: DIGEST, sizeBytes: 7, type: 'dir' } },
        exitCode: 0,
        stderrTail: 'done',
        cacheKey: 'ck',
        reason: 'ran',
        leaseOwner: null,
        leaseUntil: null,
        pid: null,
        endedAt: NOW + 2,
      } as const;
      expect(await store.updateStep(id, finished, { status: ['running'], attempt: 1 })).toBe(true);
      expect(await store.getStep(id)).toEqual({ ...running, ...finished });

      // Every other field, and back to null.
      const more = { item: [1, 'two'], cachedFrom: 'srun-0', error: 'boom', notBefore: NOW + 9, exitCode: 3 };
      expect(await store.updateStep(id, more)).toBe(true);
      expect(await store.getStep(id)).toEqual({ ...running, ...finished, ...more });
      const cleared = {
        item: null,
        cachedFrom: null,
        error: null,
        notBefore: null,
        exitCode: null,
        runId: null,
      };
      expect(await store.updateStep(id, cleared)).toBe(true);
      expect(await store.getStep(id)).toEqual({ ...running, ...finished, ...cleared });

      // An empty patch writes nothing and says whether the guard holds.
      expect(await store.updateStep(id, {})).toBe(true);
      expect(await store.updateStep(id, {}, { status: ['succeeded'], attempt: 1 })).toBe(true);
      expect(await store.updateStep(id, {}, { attempt: 2 })).toBe(false);
      expect(await store.updateStep('missing', {})).toBe(false);
    });

    it('updates many steps under one guard and counts the rows changed', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId);
      const steps = [
        stepOf(run, { stepName: 'a', status: 'pending' }),
        stepOf(run, { stepName: 'b', status: 'queued', attempt: 1 }),
        stepOf(run, { stepName: 'c', status: 'succeeded', attempt: 1 }),
        stepOf(run, { stepName: 'd', status: 'pending' }),
      ];
      await store.insertRun(run, steps);
      const ids = steps.map((s) => s.stepRunId);
      const skip = { status: 'skipped', reason: 'the run was cancelled', endedAt: NOW + 1 } as const;

      expect(await store.updateSteps([], skip)).toBe(0);
      expect(await store.updateSteps(ids, skip, { status: [] })).toBe(0);
      expect(await store.updateSteps(ids, {}, { status: ['pending', 'queued'] })).toBe(3);
      expect(await store.updateSteps([...ids, 'missing'], {})).toBe(4);
      expect(await store.updateSteps(ids, skip, { status: ['pending', 'queued'], attempt: 0 })).toBe(2);
      expect(await store.updateSteps(ids, skip, { status: ['pending', 'queued'] })).toBe(1);
      expect(await store.updateSteps(ids, skip, { status: ['pending', 'queued'] })).toBe(0);

      const listed = await store.listSteps(run.pipelineRunId);
      expect(listed).toEqual([
        { ...steps[0], ...skip },
        { ...steps[1], ...skip },
        steps[2],
        { ...steps[3], ...skip },
      ]);
    });

    it('deletes every row of one step of one run (a foreach step laid out again)', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId);
      const otherRun = runOf(projectId);
      const head = stepOf(run, { stepName: 'fan' });
      const items = [0, 1, 2].map((i) => stepOf(run, { stepName: 'fan', itemIndex: i, item: i }));
      const sibling = stepOf(run, { stepName: 'fanout', itemIndex: 0, item: 'x' });
      const elsewhere = stepOf(otherRun, { stepName: 'fan', itemIndex: 0, item: 'y' });
      await store.insertRun(run, [head, ...items, sibling]);
      await store.insertRun(otherRun, [elsewhere]);

      await store.deleteItems(run.pipelineRunId, 'fan');
      expect(await store.listSteps(run.pipelineRunId)).toEqual([sibling]);
      expect(await store.listSteps(otherRun.pipelineRunId)).toEqual([elsewhere]);
      // The step is laid out again from a new list.
      const again = [0, 1].map((i) => stepOf(run, { stepName: 'fan', itemIndex: i, item: `new-${i}` }));
      await store.insertSteps(again);
      expect(await store.listSteps(run.pipelineRunId)).toEqual([...again, sibling]);
      await store.deleteItems(run.pipelineRunId, 'missing');
    });

    it('finds the newest succeeded step run under a cache key in the project', async () => {
      const { store, projectId } = await setUp();
      const other = await setUp();
      const cacheKey = unique('ck');
      const run = runOf(projectId);
      const later = runOf(projectId);
      const foreign = runOf(other.projectId);
      const ok = (
        r: PipelineRunRecord,
        endedAt: number,
        fields: Partial<StepRunRecord> = {},
      ): StepRunRecord => stepOf(r, { cacheKey, status: 'succeeded', endedAt, ...fields });
      const old = ok(run, NOW + 1, { stepName: 'a' });
      const newest = ok(later, NOW + 5, { stepName: 'a' });
      const steps = [
        old,
        ok(run, NOW + 9, { stepName: 'b', status: 'cached', cachedFrom: old.stepRunId }),
        ok(run, NOW + 9, { stepName: 'c', status: 'failed' }),
        ok(run, NOW + 9, { stepName: 'd', cacheKey: unique('ck') }),
        ok(run, NOW + 9, { stepName: 'e', status: 'running', endedAt: null }),
      ];
      await store.insertRun(run, steps);
      await store.insertRun(later, [newest]);
      await store.insertRun(foreign, [ok(foreign, NOW + 99)]);

      expect(await store.findCached({ projectId, cacheKey })).toEqual(newest);
      expect(await store.findCached({ projectId, cacheKey: 'missing' })).toBeUndefined();
      expect((await store.findCached({ projectId: other.projectId, cacheKey }))?.pipelineRunId).toBe(
        foreign.pipelineRunId,
      );
      await store.updateStep(newest.stepRunId, { status: 'failed' });
      expect(await store.findCached({ projectId, cacheKey })).toEqual(old);
    });
  });

  describe('triggers', () => {
    it('stores, reads and deletes triggers, one name per project', async () => {
      const { store, projectId } = await setUp();
      const other = await setUp();
      const schedule = triggerOf(projectId, { timezone: 'Europe/Paris' });
      const dataset = triggerOf(projectId, {
        kind: 'dataset',
        cron: null,
        dataset: 'churn',
        alias: 'prod',
        codeDigest: `sha256:${'ef'.repeat(32)}`,
        executor: 'queue',
        enabled: false,
        nextAt: null,
        lastSeen: 'dv-3',
      });
      await store.insertTrigger(schedule);
      await store.insertTrigger(dataset);

      expect(await store.getTrigger(schedule.triggerId)).toEqual(schedule);
      expect(await store.getTrigger(dataset.triggerId)).toEqual(dataset);
      expect(await store.getTrigger('missing')).toBeUndefined();
      expect(await store.getTriggerByName(projectId, dataset.name)).toEqual(dataset);
      expect(await store.getTriggerByName(other.projectId, dataset.name)).toBeUndefined();

      await expect(store.insertTrigger({ ...schedule, triggerId: unique('trig') })).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
      });
      await expect(store.insertTrigger({ ...schedule, name: unique('n') })).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
      });
      const sameName = { ...schedule, triggerId: unique('trig'), projectId: other.projectId };
      await store.insertTrigger(sameName);
      await expect(store.insertTrigger(triggerOf('no-such-project'))).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });

      expect(await store.deleteTrigger(schedule.triggerId)).toBe(true);
      expect(await store.deleteTrigger(schedule.triggerId)).toBe(false);
      expect(await store.getTrigger(schedule.triggerId)).toBeUndefined();
      expect(await store.getTrigger(sameName.triggerId)).toEqual(sameName);
    });

    it('lists by project and name in byte order, filtered by project and kind', async () => {
      const { store, projectId } = await setUp();
      const other = await setUp();
      const b = triggerOf(projectId, { name: 'b' });
      const upperB = triggerOf(projectId, { name: 'B', kind: 'dataset', cron: null, dataset: 'churn' });
      const a = triggerOf(projectId, { name: 'a_x' });
      const theirs = triggerOf(other.projectId, { name: 'a' });
      for (const t of [b, upperB, a, theirs]) await store.insertTrigger(t);

      expect(await store.listTriggers({ projectIds: [projectId] })).toEqual([upperB, a, b]);
      expect(await store.listTriggers({ projectIds: [projectId], kind: 'schedule' })).toEqual([a, b]);
      expect(await store.listTriggers({ projectIds: [projectId], kind: 'dataset' })).toEqual([upperB]);
      const both = await store.listTriggers({ projectIds: [projectId, other.projectId] });
      expect(both).toHaveLength(4);
      expect(both).toEqual(expect.arrayContaining([upperB, a, b, theirs]));
      expect(await store.listTriggers({ projectIds: [] })).toEqual([]);
      const everywhere = await store.listTriggers({});
      expect(everywhere).toEqual(expect.arrayContaining([upperB, a, b, theirs]));
      expect((await store.listTriggers({ kind: 'dataset' })).every((t) => t.kind === 'dataset')).toBe(true);
    });

    it('updates a trigger by compare-and-set on what it last saw or when it fires next', async () => {
      const { store, projectId } = await setUp();
      const watch = triggerOf(projectId, { kind: 'dataset', cron: null, dataset: 'churn', nextAt: null });
      const nightly = triggerOf(projectId, { nextAt: NOW + 1000 });
      await store.insertTrigger(watch);
      await store.insertTrigger(nightly);

      // lastSeen null means IS NULL: the first version seen wins once.
      expect(await store.updateTrigger(watch.triggerId, { lastSeen: 'dv-1' }, { lastSeen: null })).toBe(true);
      expect(await store.updateTrigger(watch.triggerId, { lastSeen: 'dv-x' }, { lastSeen: null })).toBe(
        false,
      );
      expect(await store.updateTrigger(watch.triggerId, { lastSeen: 'dv-2' }, { lastSeen: 'dv-0' })).toBe(
        false,
      );
      expect(await store.getTrigger(watch.triggerId)).toEqual({ ...watch, lastSeen: 'dv-1' });
      expect(await store.updateTrigger(watch.triggerId, { lastSeen: 'dv-2' }, { lastSeen: 'dv-1' })).toBe(
        true,
      );
      expect(await store.updateTrigger(watch.triggerId, { lastSeen: null, enabled: false })).toBe(true);
      expect(await store.getTrigger(watch.triggerId)).toEqual({ ...watch, lastSeen: null, enabled: false });

      const fire = { nextAt: NOW + 2000 };
      expect(await store.updateTrigger(nightly.triggerId, fire, { nextAt: NOW + 1000 })).toBe(true);
      expect(await store.updateTrigger(nightly.triggerId, fire, { nextAt: NOW + 1000 })).toBe(false);
      expect(await store.updateTrigger(nightly.triggerId, fire, { nextAt: null })).toBe(false);
      expect(
        await store.updateTrigger(
          nightly.triggerId,
          { nextAt: null },
          { nextAt: NOW + 2000, lastSeen: null },
        ),
      ).toBe(true);
      expect(await store.updateTrigger(nightly.triggerId, { nextAt: NOW }, { nextAt: null })).toBe(true);
      expect(await store.getTrigger(nightly.triggerId)).toEqual({ ...nightly, nextAt: NOW });
      expect(await store.updateTrigger('missing', { enabled: true })).toBe(false);

      // An empty patch writes nothing and says whether the guard holds.
      expect(await store.updateTrigger(nightly.triggerId, {}, { nextAt: NOW })).toBe(true);
      expect(await store.updateTrigger(nightly.triggerId, {}, { nextAt: NOW + 1 })).toBe(false);
      expect(await store.updateTrigger('missing', {})).toBe(false);
    });
  });

  describe('stored text', () => {
    it('refuses rows whose JSON columns are not what was written, naming the column', async () => {
      const { store, projectId } = await setUp();
      const run = runOf(projectId);
      const step = stepOf(run);
      const trigger = triggerOf(projectId);
      await store.insertRun(run, [step]);
      await store.insertTrigger(trigger);
      const db = database().db;
      const corruptRun = (set: { spec?: string; params?: string; trigger?: string; status?: string }) =>
        db.updateTable('pipeline_runs').set(set).where('pipeline_run_id', '=', run.pipelineRunId).execute();

      await corruptRun({ spec: '[1]' });
      await expect(store.getRun(run.pipelineRunId)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"spec"'),
      });
      await corruptRun({ spec: JSON.stringify(SPEC), params: '{' });
      await expect(store.getRun(run.pipelineRunId)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"params"'),
      });
      await corruptRun({ params: JSON.stringify(run.params), trigger: '{"kind":"whim"}' });
      await expect(store.listRuns({ projectIds: [projectId], offset: 0, limit: 10 })).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"trigger"'),
      });
      await corruptRun({ trigger: '{"kind":"manual"}', status: 'paused' });
      await expect(store.getRun(run.pipelineRunId)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"status"'),
      });

      const corruptStep = (set: { outputs?: string; item?: string }) =>
        db.updateTable('pipeline_steps').set(set).where('step_run_id', '=', step.stepRunId).execute();
      await corruptStep({ outputs: '[]' });
      await expect(store.getStep(step.stepRunId)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"outputs"'),
      });
      await corruptStep({ outputs: '{"x": 1}' });
      await expect(store.listSteps(run.pipelineRunId)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"outputs"'),
      });
      await corruptStep({ outputs: '{}', item: 'not json' });
      await expect(store.getStep(step.stepRunId)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"item"'),
      });

      await db
        .updateTable('pipeline_triggers')
        .set({ params: 'null' })
        .where('trigger_id', '=', trigger.triggerId)
        .execute();
      await expect(store.getTrigger(trigger.triggerId)).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringContaining('"params"'),
      });

      // Put things right, so no later listing across projects trips over these rows.
      await corruptRun({ status: 'succeeded' });
      await corruptStep({ item: '1' });
      expect(await store.getRun(run.pipelineRunId)).toEqual({ ...run, status: 'succeeded' });
      expect(await store.getStep(step.stepRunId)).toEqual({ ...step, item: 1 });
      expect(await store.deleteTrigger(trigger.triggerId)).toBe(true);
    });
  });
});
