import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../testing/test-databases.js';
import type { RunInfoRecord } from '../../../modules/tracking/index.js';
import { createSqlStores, createSqlTransactor } from '../sql-stores.js';

const NOW = 1_700_000_000_000;

describeEachDatabase('SqlTrackingStore', ({ database }) => {
  let counter = 0;
  async function setup(): Promise<{ runId: string; stores: ReturnType<typeof createSqlStores> }> {
    const stores = createSqlStores(database().db, database().helpers);
    await stores.tracking.ensureProject('default', 'default', NOW);
    const experimentId = await stores.tracking.nextExperimentId();
    await stores.tracking.insertExperiment({
      experimentId,
      projectId: 'default',
      name: `store-exp-${counter++}-${experimentId}`,
      artifactLocation: `mlflow-artifacts:/${experimentId}`,
      lifecycleStage: 'active',
      creationTime: NOW,
      lastUpdateTime: NOW,
      tags: { a: 'b' },
    });
    const runId = `${'0'.repeat(24)}${String(counter++).padStart(8, '0')}`;
    const info: RunInfoRecord = {
      runId,
      experimentId,
      runName: 'r',
      userId: 'u',
      status: 'RUNNING',
      startTime: NOW,
      endTime: null,
      lifecycleStage: 'active',
      artifactUri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
      deletedTime: null,
    };
    await stores.tracking.insertRun(info, [{ key: 'mlflow.runName', value: 'r' }]);
    return { runId, stores };
  }

  it('hands out increasing experiment ids', async () => {
    const { tracking } = createSqlStores(database().db, database().helpers);
    const a = Number(await tracking.nextExperimentId());
    const b = Number(await tracking.nextExperimentId());
    expect(b).toBe(a + 1);
  });

  it('keeps the latest metric as the greatest (step, timestamp, value) across batches', async () => {
    const { runId, stores } = await setup();
    const write = (points: Array<[number, number, number]>) =>
      stores.tracking.writeBatch(runId, {
        metrics: points.map(([step, timestamp, value]) => ({ key: 'm', step, timestamp, value })),
        params: [],
        tags: [],
      });
    await write([
      [1, NOW, 0.5],
      [0, NOW + 10, 0.9],
    ]);
    await write([[1, NOW, 0.4]]);
    await write([[1, NOW, Number.NaN]]);
    let run = await stores.tracking.getRun(runId);
    expect(run?.data.metrics).toEqual([{ key: 'm', step: 1, timestamp: NOW, value: 0.5 }]);
    await write([[2, NOW - 5, -1]]);
    run = await stores.tracking.getRun(runId);
    expect(run?.data.metrics).toEqual([{ key: 'm', step: 2, timestamp: NOW - 5, value: -1 }]);
    const history = await stores.tracking.getMetricHistory(runId, 'm', { offset: 0, limit: undefined });
    expect(history.map((p) => p.step)).toEqual([0, 1, 1, 1, 2]);
    expect(Number.isNaN(history.find((p) => Number.isNaN(p.value))?.value)).toBe(true);
  });

  it('stores ±Infinity and NaN and reads them back', async () => {
    const { runId, stores } = await setup();
    await stores.tracking.writeBatch(runId, {
      metrics: [
        { key: 'pos', value: Number.POSITIVE_INFINITY, timestamp: NOW, step: 0 },
        { key: 'neg', value: Number.NEGATIVE_INFINITY, timestamp: NOW, step: 0 },
        { key: 'nan', value: Number.NaN, timestamp: NOW, step: 0 },
      ],
      params: [],
      tags: [],
    });
    const run = await stores.tracking.getRun(runId);
    const byKey = Object.fromEntries((run?.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(byKey['pos']).toBe(Number.POSITIVE_INFINITY);
    expect(byKey['neg']).toBe(Number.NEGATIVE_INFINITY);
    expect(byKey['nan']).toBeNaN();
  });

  it('ignores an exact re-send of the same points (client retries)', async () => {
    const { runId, stores } = await setup();
    const batch = { metrics: [{ key: 'm', value: 1, timestamp: NOW, step: 3 }], params: [], tags: [] };
    await stores.tracking.writeBatch(runId, batch);
    await stores.tracking.writeBatch(runId, batch);
    expect(await stores.tracking.getMetricHistory(runId, 'm', { offset: 0, limit: undefined })).toHaveLength(
      1,
    );
  });

  it('rolls back every write of a failed transaction', async () => {
    const { runId, stores } = await setup();
    const transactor = createSqlTransactor(database());
    await expect(
      transactor.run(async ({ tracking }) => {
        await tracking.writeBatch(runId, {
          metrics: [{ key: 'rolled', value: 1, timestamp: NOW, step: 0 }],
          params: [{ key: 'p', value: '1' }],
          tags: [],
        });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const run = await stores.tracking.getRun(runId);
    expect(run?.data.metrics).toEqual([]);
    expect(run?.data.params).toEqual({});
  });

  it('translates a duplicate experiment name into ALREADY_EXISTS', async () => {
    const transactor = createSqlTransactor(database());
    const experiment = {
      experimentId: 'dup-1',
      projectId: 'default',
      name: 'dup-name',
      artifactLocation: 'x',
      lifecycleStage: 'active' as const,
      creationTime: NOW,
      lastUpdateTime: NOW,
      tags: {},
    };
    await transactor.run(({ tracking }) => tracking.insertExperiment(experiment));
    await expect(
      transactor.run(({ tracking }) => tracking.insertExperiment({ ...experiment, experimentId: 'dup-2' })),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('loads data of many runs in bulk', async () => {
    const runs = await Promise.all(Array.from({ length: 5 }, () => setup()));
    const stores = runs[0]?.stores;
    if (stores === undefined) throw new Error('no runs');
    for (const [i, { runId }] of runs.entries()) {
      await stores.tracking.writeBatch(runId, {
        metrics: [{ key: 'acc', value: i, timestamp: NOW, step: 0 }],
        params: [{ key: 'i', value: String(i) }],
        tags: [{ key: 't', value: String(i) }],
      });
    }
    const data = await stores.tracking.loadRunData(runs.map((r) => r.runId));
    for (const [i, { runId }] of runs.entries()) {
      expect(data.get(runId)?.params).toEqual({ i: String(i) });
      expect(data.get(runId)?.metrics[0]?.value).toBe(i);
    }
  });

  describe('artifact index', () => {
    it('lists folders and files, and deletes whole trees', async () => {
      const { artifacts } = createSqlStores(database().db, database().helpers);
      const put = (path: string) =>
        artifacts.putFile({ path, digest: `sha256:${'a'.repeat(64)}`, sizeBytes: 1, createdAt: NOW });
      await put('root/a/b/c.txt');
      await put('root/a/d.txt');
      await put('root/e.txt');
      await put('root/under_score%/x.txt');
      await put('rootling/z.txt');
      expect(await artifacts.list('root')).toMatchObject({
        dirs: ['root/a', 'root/under_score%'],
        files: [{ path: 'root/e.txt' }],
      });
      expect((await artifacts.listTree('root/a')).map((f) => f.path)).toEqual([
        'root/a/b/c.txt',
        'root/a/d.txt',
      ]);
      expect(await artifacts.deleteTree('root/a')).toBe(2);
      expect(await artifacts.isDir('root/a')).toBe(false);
      expect((await artifacts.listTree('root')).map((f) => f.path)).toEqual([
        'root/e.txt',
        'root/under_score%/x.txt',
      ]);
      expect((await artifacts.listTree('rootling')).map((f) => f.path)).toEqual(['rootling/z.txt']);
      expect(await artifacts.deleteTree('root/under_score%')).toBe(1);
      expect((await artifacts.list('root')).dirs).toEqual([]);
    });
  });
});
