import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { DeploymentStore } from '../../../modules/serving/deployments.store.js';
import type {
  DeploymentRecord,
  DeploymentRevisionRecord,
  PredictionRecord,
} from '../../../modules/serving/entities.js';
import { describeEachDatabase } from '../../../testing/index.js';
import { createSqlStores, createSqlTransactor } from '../sql-stores.js';

const NOW = 1_700_000_000_000;
const DIGEST = `sha256:${'ab'.repeat(32)}` as const;

describeEachDatabase('SqlDeploymentStore', ({ database }) => {
  let counter = 0;
  const unique = (base: string): string => `${base}-${counter++}`;

  /** A store bound to the database, and a project of its own (deployments reference projects). */
  async function setUp(): Promise<{ store: DeploymentStore; projectId: string }> {
    const stores = createSqlStores(database().db, database().helpers);
    const projectId = unique('project');
    await stores.tracking.ensureProject(projectId, projectId, NOW);
    return { store: stores.deployments, projectId };
  }

  async function createDeployment(
    store: DeploymentStore,
    input: { projectId: string; name?: string; withRevision?: boolean },
  ): Promise<DeploymentRecord> {
    const deployment: DeploymentRecord = {
      deploymentId: unique('dep'),
      name: input.name ?? unique('endpoint'),
      projectId: input.projectId,
      description: 'scores churn',
      port: null,
      currentRevision: 1,
      createdAt: NOW,
      updatedAt: NOW,
      createdBy: 'alice',
    };
    await store.insertDeployment(deployment);
    if (input.withRevision !== false) await store.insertRevision(revisionOf(deployment, 1));
    return deployment;
  }

  function revisionOf(deployment: DeploymentRecord, revision: number): DeploymentRevisionRecord {
    return {
      deploymentId: deployment.deploymentId,
      revision,
      routes: [
        {
          ref: 'churn@champion',
          model: 'churn',
          version: revision,
          versionId: `mv-${revision}`,
          digest: DIGEST,
          format: 'onnx',
          weight: 100,
        },
      ],
      shadows:
        revision % 2 === 0
          ? [
              {
                ref: 'churn/9',
                model: 'churn',
                version: 9,
                versionId: 'mv-9',
                digest: DIGEST,
                format: 'onnx',
                percent: 25,
              },
            ]
          : [],
      settings: { maxBatchSize: 32, maxBatchWaitMs: 2, maxQueue: 1000, sampleRate: 0.5 },
      follow: revision === 1 ? null : { model: 'churn', alias: 'champion' },
      reason: revision === 1 ? 'created' : `rolled to ${revision}`,
      createdAt: NOW + revision,
      createdBy: 'alice',
    };
  }

  function prediction(
    deployment: DeploymentRecord,
    fields: Partial<PredictionRecord> & { requestId: string },
  ): PredictionRecord {
    return {
      kind: 'live',
      deploymentId: deployment.deploymentId,
      revision: 1,
      model: 'churn',
      version: 1,
      protocol: 'v2',
      createdAt: NOW,
      latencyMs: 1.25,
      status: 'ok',
      error: null,
      inputs: { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [0.5, 1, -2] }] },
      outputs: { outputs: [{ name: 'p', shape: [1], datatype: 'FP32', data: [0.75] }] },
      agreed: null,
      meanAbsDiff: null,
      ...fields,
    };
  }

  /** Request ids that sort the same in byte order and in a linguistic collation. */
  const requestIds = (count: number): string[] => {
    const stem = unique('r').replace('-', '');
    return Array.from({ length: count }, (_, i) => `${stem}x${String(i).padStart(6, '0')}`);
  };

  describe('deployments', () => {
    it('stores and reads a deployment, and refuses a second one of the same name', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      expect(await store.getDeploymentByName(deployment.name)).toEqual(deployment);
      expect(await store.getDeployment(deployment.deploymentId)).toEqual(deployment);
      expect(await store.getDeploymentByName('missing')).toBeUndefined();
      expect(await store.getDeployment('missing')).toBeUndefined();

      // Straight from the store, and through a transaction as a service would.
      await expect(
        store.insertDeployment({ ...deployment, deploymentId: unique('dep') }),
      ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      const transactor = createSqlTransactor(database());
      await expect(
        transactor.run((stores) =>
          createDeployment(stores.deployments, { projectId, name: deployment.name }),
        ),
      ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      await expect(
        store.insertDeployment({
          ...deployment,
          deploymentId: unique('dep'),
          name: unique('n'),
          projectId: 'nope',
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('lists by project in byte order of names, a page at a time', async () => {
      const { store, projectId } = await setUp();
      const other = await setUp();
      const stem = unique('list');
      const names = [`${stem}-b`, `${stem}-B`, `${stem}-a_x`, `${stem}-ab`];
      for (const name of names) await createDeployment(store, { projectId, name });
      await createDeployment(store, { projectId: other.projectId, name: `${stem}-other` });

      const all = await store.listDeployments({ projectIds: [projectId], offset: 0, limit: 100 });
      expect(all.map((d) => d.name)).toEqual([...names].sort());
      const page1 = await store.listDeployments({ projectIds: [projectId], offset: 0, limit: 2 });
      expect(page1.map((d) => d.name)).toEqual([`${stem}-B`, `${stem}-a_x`, `${stem}-ab`]);
      const page2 = await store.listDeployments({ projectIds: [projectId], offset: 2, limit: 2 });
      expect(page2.map((d) => d.name)).toEqual([`${stem}-ab`, `${stem}-b`]);
      const both = await store.listDeployments({
        projectIds: [projectId, other.projectId],
        offset: 0,
        limit: 100,
      });
      expect(both).toHaveLength(5);
      expect(await store.listDeployments({ projectIds: [], offset: 0, limit: 10 })).toEqual([]);
      const everywhere = await store.listDeployments({ offset: 0, limit: 10_000 });
      expect(everywhere.map((d) => d.name)).toEqual(expect.arrayContaining([...names, `${stem}-other`]));
    });

    it('sets and clears the port', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      await store.setPort(deployment.deploymentId, 8081);
      expect((await store.getDeployment(deployment.deploymentId))?.port).toBe(8081);
      await store.setPort(deployment.deploymentId, null);
      expect(await store.getDeployment(deployment.deploymentId)).toEqual(deployment);
    });
  });

  describe('revisions', () => {
    it('round-trips specs, lists newest first, and refuses a revision number twice', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const r2 = revisionOf(deployment, 2);
      const r3 = revisionOf(deployment, 3);
      await store.insertRevision(r2);
      await store.insertRevision(r3);

      expect(await store.getRevision(deployment.deploymentId, 1)).toEqual(revisionOf(deployment, 1));
      expect(await store.getRevision(deployment.deploymentId, 2)).toEqual(r2);
      expect(await store.getRevision(deployment.deploymentId, 4)).toBeUndefined();
      expect(await store.listRevisions(deployment.deploymentId, 2)).toEqual([r3, r2]);
      expect(await store.listRevisions(deployment.deploymentId, 10)).toHaveLength(3);
      expect(await store.listRevisions('missing', 10)).toEqual([]);

      await expect(store.insertRevision({ ...r2, reason: 'again' })).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
      });
      await expect(store.insertRevision({ ...r2, deploymentId: 'missing' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('refuses to read a revision whose spec is not what was written', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const corrupt = (routes: string) =>
        database()
          .db.updateTable('deployment_revisions')
          .set({ routes })
          .where('deployment_id', '=', deployment.deploymentId)
          .execute();
      await corrupt('{"not": "a list"}');
      await expect(store.getRevision(deployment.deploymentId, 1)).rejects.toMatchObject({ code: 'INTERNAL' });
      await corrupt('[{');
      await expect(store.getRevision(deployment.deploymentId, 1)).rejects.toMatchObject({ code: 'INTERNAL' });
      // listActive reads every deployment: one unreadable spec fails it whole.
      await expect(store.listActive()).rejects.toMatchObject({ code: 'INTERNAL' });
      await store.deleteDeployment(deployment.deploymentId);
    });

    it('moves the current revision by compare-and-set, and lists what serving loads', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      await store.insertRevision(revisionOf(deployment, 2));
      const pending = await createDeployment(store, { projectId, withRevision: false });

      let active = await store.listActive();
      const mine = (rows: typeof active): typeof active =>
        rows.filter((a) => a.deployment.projectId === projectId);
      // A deployment whose current revision row is not written yet is not served.
      expect(mine(active)).toEqual([{ deployment, revision: revisionOf(deployment, 1) }]);

      const move = { deploymentId: deployment.deploymentId, expectedRevision: 1, revision: 2, at: NOW + 10 };
      expect(await store.setCurrentRevision(move)).toBe(true);
      expect(await store.setCurrentRevision(move)).toBe(false);
      expect(await store.setCurrentRevision({ ...move, deploymentId: 'missing' })).toBe(false);
      const moved = { ...deployment, currentRevision: 2, updatedAt: NOW + 10 };
      expect(await store.getDeployment(deployment.deploymentId)).toEqual(moved);

      active = await store.listActive();
      expect(mine(active)).toEqual([{ deployment: moved, revision: revisionOf(deployment, 2) }]);
      expect(mine(active).some((a) => a.deployment.deploymentId === pending.deploymentId)).toBe(false);
    });

    it('lets exactly one of several concurrent writers move the revision', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const transactor = createSqlTransactor(database());
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          transactor.run(async (stores) => {
            const moved = await stores.deployments.setCurrentRevision({
              deploymentId: deployment.deploymentId,
              expectedRevision: 1,
              revision: 10 + i,
              at: NOW + i,
            });
            // Hold the row a moment so the others really queue behind it.
            await new Promise((resolve) => setTimeout(resolve, 5));
            return moved ? 10 + i : undefined;
          }),
        ),
      );
      const winners = outcomes.filter((o) => o !== undefined);
      expect(winners).toHaveLength(1);
      expect((await store.getDeployment(deployment.deploymentId))?.currentRevision).toBe(winners[0]);
    });
  });

  describe('the prediction log', () => {
    it('inserts 5,000 rows quickly, ignores duplicates, drops rows of deleted deployments', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const ids = requestIds(5_000);
      const records = ids.map((requestId, i) => prediction(deployment, { requestId, createdAt: NOW + i }));

      const started = performance.now();
      await store.insertPredictions(records.slice(0, 2_500));
      await store.insertPredictions(records.slice(2_500));
      // ~0.1 s on an idle machine; the bound only catches a statement per row.
      expect(performance.now() - started).toBeLessThan(10_000);

      // A retried batch, and a batch with a duplicate inside it, change nothing.
      const first = records[0]!;
      await store.insertPredictions([
        { ...first, latencyMs: 99 },
        { ...first, latencyMs: 98 },
        ...records.slice(4_000, 4_010),
      ]);
      await store.insertPredictions([]);
      // Rows of a deployment that is gone are dropped; the rest of the batch is written.
      const extra = prediction(deployment, { requestId: unique('extra'), createdAt: NOW - 1 });
      await store.insertPredictions([
        prediction({ ...deployment, deploymentId: 'gone' }, { requestId: 'x' }),
        extra,
      ]);
      expect(await store.getPrediction('x', 'live')).toBeUndefined();
      expect(await store.getPrediction(extra.requestId, 'live')).toEqual({
        ...extra,
        truth: null,
        truthAt: null,
      });

      const page = await store.queryPredictions({ deploymentId: deployment.deploymentId, limit: 10_000 });
      expect(page).toHaveLength(5_001);
      expect(page[page.length - 2]).toEqual({ ...first, truth: null, truthAt: null });
    });

    it('round-trips every field, a shadow beside its live row, and refuses non-JSON payloads', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const [requestId] = requestIds(1);
      const live = prediction(deployment, { requestId: requestId!, latencyMs: 3.141592653589793 });
      const agreed = prediction(deployment, {
        requestId: requestId!,
        kind: 'shadow',
        version: 9,
        agreed: true,
        meanAbsDiff: 0.000125,
      });
      const failed = prediction(deployment, {
        requestId: `${requestId!}-failed`,
        kind: 'shadow',
        version: 9,
        status: 'error',
        error: 'model failed: shape [1, 4] expected',
        inputs: undefined,
        outputs: null,
        agreed: false,
        meanAbsDiff: null,
      });
      const large = prediction(deployment, {
        requestId: `${requestId!}-large`,
        protocol: 'predict',
        inputs: { instances: Array.from({ length: 20_000 }, (_, i) => [i / 7, `ü${i}`]) },
      });
      await store.insertPredictions([live, agreed, failed, large]);

      expect(await store.getPrediction(requestId!, 'live')).toEqual({ ...live, truth: null, truthAt: null });
      expect(await store.getPrediction(requestId!, 'shadow')).toEqual({
        ...agreed,
        truth: null,
        truthAt: null,
      });
      expect(await store.getPrediction(failed.requestId, 'shadow')).toEqual({
        ...failed,
        inputs: null,
        truth: null,
        truthAt: null,
      });
      expect(await store.getPrediction(large.requestId, 'live')).toEqual({
        ...large,
        truth: null,
        truthAt: null,
      });
      expect(await store.getPrediction(failed.requestId, 'live')).toBeUndefined();

      const int64 = prediction(deployment, { requestId: unique('big'), outputs: { data: [1n] } });
      await expect(store.insertPredictions([int64])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('pages newest first by (time, request id), filtered by kind and time', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const neighbour = await createDeployment(store, { projectId });
      const ids = requestIds(60);
      // Three requests a millisecond, so the request id breaks ties; every third has a shadow, half of
      // them answered within the same millisecond as the live row (a tie on time and request id).
      const records = ids.flatMap((requestId, i) => {
        const live = prediction(deployment, { requestId, createdAt: NOW + Math.floor(i / 3) });
        return i % 3 === 0
          ? [
              live,
              prediction(deployment, {
                requestId,
                kind: 'shadow',
                createdAt: NOW + Math.floor(i / 3) + (i % 2),
              }),
            ]
          : [live];
      });
      await store.insertPredictions([...records].reverse());
      await store.insertPredictions([prediction(neighbour, { requestId: unique('n'), createdAt: NOW + 5 })]);

      const newestFirst = (kind?: 'live' | 'shadow'): PredictionRecord[] =>
        records
          .filter((r) => kind === undefined || r.kind === kind)
          .sort(
            (a, b) =>
              b.createdAt - a.createdAt ||
              (a.requestId < b.requestId ? 1 : a.requestId > b.requestId ? -1 : 0) ||
              (a.kind < b.kind ? -1 : 1),
          );
      const strip = (rows: readonly PredictionRecord[]): string[] =>
        rows.map((r) => `${r.requestId}/${r.kind}`);

      const all = await store.queryPredictions({ deploymentId: deployment.deploymentId, limit: 1000 });
      expect(strip(all)).toEqual(strip(newestFirst()));

      for (const kind of ['live', 'shadow'] as const) {
        const paged: PredictionRecord[] = [];
        let before: { createdAt: number; requestId: string } | undefined;
        for (;;) {
          const page = await store.queryPredictions({
            deploymentId: deployment.deploymentId,
            kind,
            limit: 7,
            ...(before === undefined ? {} : { before }),
          });
          paged.push(...page);
          const last = page.at(-1);
          if (page.length < 7 || last === undefined) break;
          before = { createdAt: last.createdAt, requestId: last.requestId };
        }
        expect(strip(paged)).toEqual(strip(newestFirst(kind)));
      }

      // Without a kind, a page may end between a live row and its shadow's (same time, same request).
      const mixed: PredictionRecord[] = [];
      let cursor: { createdAt: number; requestId: string; kind: 'live' | 'shadow' } | undefined;
      for (;;) {
        const page = await store.queryPredictions({
          deploymentId: deployment.deploymentId,
          limit: 3,
          ...(cursor === undefined ? {} : { before: cursor }),
        });
        mixed.push(...page);
        const last = page.at(-1);
        if (page.length < 3 || last === undefined) break;
        cursor = { createdAt: last.createdAt, requestId: last.requestId, kind: last.kind };
      }
      expect(strip(mixed)).toEqual(strip(newestFirst()));

      const window = await store.queryPredictions({
        deploymentId: deployment.deploymentId,
        kind: 'live',
        since: NOW + 5,
        until: NOW + 8,
        limit: 100,
      });
      expect(strip(window)).toEqual(
        strip(newestFirst('live').filter((r) => r.createdAt >= NOW + 5 && r.createdAt < NOW + 8)),
      );
      const tail = await store.queryPredictions({
        deploymentId: deployment.deploymentId,
        before: { createdAt: NOW + 2, requestId: ids[7]! },
        since: NOW + 1,
        limit: 100,
      });
      expect(strip(tail)).toEqual(
        strip(
          newestFirst().filter(
            (r) =>
              r.createdAt >= NOW + 1 &&
              (r.createdAt < NOW + 2 || (r.createdAt === NOW + 2 && r.requestId < ids[7]!)),
          ),
        ),
      );
      expect(await store.queryPredictions({ deploymentId: 'missing', limit: 10 })).toEqual([]);
    });

    it('joins ground truth by request id, replacing an earlier one, whichever arrives first', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const other = await createDeployment(store, { projectId });
      const [a, b, c] = requestIds(3);
      await store.insertPredictions([
        prediction(deployment, { requestId: a!, createdAt: NOW + 3 }),
        prediction(deployment, { requestId: a!, kind: 'shadow', createdAt: NOW + 3 }),
        prediction(deployment, { requestId: b!, createdAt: NOW + 2 }),
      ]);
      const feedback = (
        requestId: string,
        truth: unknown,
        at: number,
      ): Parameters<DeploymentStore['upsertFeedback']>[0][number] => ({
        requestId,
        deploymentId: deployment.deploymentId,
        truth,
        createdAt: at,
        createdBy: 'labeller',
      });
      // Two truths for `a` in one batch: the later one stands. Truth for `c` arrives before its row.
      await store.upsertFeedback([
        feedback(a!, { label: 0 }, NOW + 10),
        feedback(a!, { label: 1 }, NOW + 11),
      ]);
      await store.upsertFeedback([feedback(c!, 'yes', NOW + 12)]);
      await store.upsertFeedback([]);

      let rows = await store.queryPredictions({ deploymentId: deployment.deploymentId, limit: 10 });
      expect(rows.map((r) => [r.requestId, r.kind, r.truth, r.truthAt])).toEqual([
        [a, 'live', { label: 1 }, NOW + 11],
        [a, 'shadow', { label: 1 }, NOW + 11],
        [b, 'live', null, null],
      ]);

      await store.upsertFeedback([feedback(a!, [0.5, null], NOW + 20)]);
      expect(await store.getPrediction(a!, 'shadow')).toMatchObject({
        truth: [0.5, null],
        truthAt: NOW + 20,
      });

      await store.insertPredictions([prediction(deployment, { requestId: c!, createdAt: NOW + 1 })]);
      expect(await store.getPrediction(c!, 'live')).toMatchObject({ truth: 'yes', truthAt: NOW + 12 });
      // Truth filed under another deployment does not attach to this one's rows.
      await store.upsertFeedback([{ ...feedback(b!, 'elsewhere', NOW), deploymentId: other.deploymentId }]);
      rows = await store.queryPredictions({ deploymentId: deployment.deploymentId, kind: 'live', limit: 10 });
      expect(rows.find((r) => r.requestId === b)).toMatchObject({ truth: null, truthAt: null });

      await expect(
        store.upsertFeedback([{ ...feedback(unique('r'), 1, NOW), deploymentId: 'missing' }]),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('sums shadow rows per version since a time', async () => {
      const { store, projectId } = await setUp();
      const deployment = await createDeployment(store, { projectId });
      const neighbour = await createDeployment(store, { projectId });
      const ids = requestIds(6);
      const shadow = (i: number, fields: Partial<PredictionRecord>): PredictionRecord =>
        prediction(deployment, { requestId: ids[i]!, kind: 'shadow', createdAt: NOW + 10, ...fields });
      await store.insertPredictions([
        ...ids.map((requestId) =>
          prediction(deployment, { requestId, createdAt: NOW + 10, latencyMs: 1000 }),
        ),
        shadow(0, { version: 4, agreed: true, meanAbsDiff: 0.25, latencyMs: 1.5 }),
        shadow(1, { version: 4, agreed: false, meanAbsDiff: 0.5, latencyMs: 2 }),
        shadow(2, { version: 4, status: 'error', error: 'boom', agreed: null, latencyMs: 0.5 }),
        // Compared by equality (no numeric difference).
        shadow(3, { version: 4, agreed: true, meanAbsDiff: null, latencyMs: 1 }),
        shadow(4, { model: 'churn-b', version: 1, agreed: true, meanAbsDiff: 0, latencyMs: 3 }),
        // Too old for the window.
        shadow(5, { version: 4, agreed: false, meanAbsDiff: 7, latencyMs: 50, createdAt: NOW }),
        prediction(neighbour, {
          requestId: unique('n'),
          kind: 'shadow',
          version: 4,
          agreed: true,
          createdAt: NOW + 10,
        }),
      ]);

      expect(await store.shadowSummary(deployment.deploymentId, NOW + 1)).toEqual([
        {
          model: 'churn',
          version: 4,
          requests: 4,
          errors: 1,
          compared: 3,
          agreed: 2,
          sumMeanAbsDiff: 0.75,
          sumLatencyMs: 5,
        },
        {
          model: 'churn-b',
          version: 1,
          requests: 1,
          errors: 0,
          compared: 1,
          agreed: 1,
          sumMeanAbsDiff: 0,
          sumLatencyMs: 3,
        },
      ]);
      expect(await store.shadowSummary(deployment.deploymentId, NOW)).toContainEqual(
        expect.objectContaining({
          model: 'churn',
          version: 4,
          requests: 5,
          compared: 4,
          sumMeanAbsDiff: 7.75,
        }),
      );
      expect(await store.shadowSummary(deployment.deploymentId, NOW + 11)).toEqual([]);
    });
  });

  it('deletes a deployment with its revisions, prediction log and feedback, and nothing else', async () => {
    const { store, projectId } = await setUp();
    const doomed = await createDeployment(store, { projectId });
    const kept = await createDeployment(store, { projectId });
    const [a, b] = requestIds(2);
    await store.insertRevision(revisionOf(doomed, 2));
    await store.insertPredictions([
      prediction(doomed, { requestId: a! }),
      prediction(doomed, { requestId: a!, kind: 'shadow' }),
      prediction(kept, { requestId: b! }),
    ]);
    await store.upsertFeedback([
      { requestId: a!, deploymentId: doomed.deploymentId, truth: 1, createdAt: NOW, createdBy: 'x' },
      { requestId: b!, deploymentId: kept.deploymentId, truth: 2, createdAt: NOW, createdBy: 'x' },
    ]);

    await store.deleteDeployment(doomed.deploymentId);
    expect(await store.getDeployment(doomed.deploymentId)).toBeUndefined();
    expect(await store.listRevisions(doomed.deploymentId, 10)).toEqual([]);
    expect(await store.getPrediction(a!, 'live')).toBeUndefined();
    expect(await store.getPrediction(a!, 'shadow')).toBeUndefined();
    const left = await sql<{
      n: number;
    }>`select count(*) as n from prediction_feedback where request_id = ${a!}`.execute(database().db);
    expect(Number(left.rows[0]?.n)).toBe(0);

    expect(await store.getRevision(kept.deploymentId, 1)).toEqual(revisionOf(kept, 1));
    expect(await store.getPrediction(b!, 'live')).toMatchObject({ truth: 2 });
    // The name is free again.
    await createDeployment(store, { projectId, name: doomed.name });
    await store.deleteDeployment('missing');
  });
});
