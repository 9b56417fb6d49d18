import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ErrorResponse, LineageGraph, OpenLineageEvents } from '@cairn/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const MLFLOW = '/api/2.0/mlflow';
const NOW = 1_700_000_000_000;
const COMMIT = '9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B';

function expectSchema(schema: TSchema, body: unknown): void {
  const first = Value.Errors(schema, body).First();
  expect(first === undefined ? 'ok' : `${first.path}: ${first.message}`).toBe('ok');
}

/** `kind:id -relation-> kind:id @depth`, sorted, for compact assertions. */
const edgesOf = (graph: {
  edges: Array<{
    from: { kind: string; id: string };
    to: { kind: string; id: string };
    relation: string;
    depth: number;
  }>;
}) =>
  graph.edges
    .map((e) => `${e.from.kind}:${e.from.id} -${e.relation}-> ${e.to.kind}:${e.to.id} @${e.depth}`)
    .sort();

describeEachDatabase('lineage API /api/v1/lineage', ({ database }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => NOW + 5 } });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (path: string, body: unknown) => call(t.app, 'POST', `${MLFLOW}/${path}`, body);
  const lineage = (path: string) => call(t.app, 'GET', `/api/v1/lineage/${path}`);

  async function newRun(
    experimentId: string,
    runName: string,
    tags: Array<{ key: string; value: string }> = [],
  ) {
    const created = await post('runs/create', {
      experiment_id: experimentId,
      start_time: NOW,
      run_name: runName,
      tags: [{ key: 'mlflow.user', value: 'alice' }, ...tags],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return created.body.run.info.run_id as string;
  }

  /** An experiment with a sweep run, a child run of it at a commit, and the child's dataset input. */
  async function trainingSetup(name: string) {
    const experimentId = (await post('experiments/create', { name })).body.experiment_id as string;
    const sweep = await newRun(experimentId, 'sweep');
    const child = await newRun(experimentId, 'trial-1', [
      { key: 'mlflow.parentRunId', value: sweep },
      { key: 'mlflow.source.git.commit', value: COMMIT },
    ]);
    const logged = await post('runs/log-inputs', {
      run_id: child,
      datasets: [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: {
            name: 'iris',
            digest: 'a1b2c3',
            source_type: 's3',
            source: '{"uri": "s3://data/iris.parquet"}',
          },
        },
      ],
    });
    expect(logged.status).toBe(200);
    const graph = (await lineage(`run/${child}/upstream`)).body;
    const datasetId = graph.nodes.find((n: { kind: string }) => n.kind === 'dataset').id as string;
    return { experimentId, sweep, child, datasetId };
  }

  describe('edges recorded as a by-product of tracking', () => {
    it('records dataset inputs, the parent run and the git commit of a run', async () => {
      const { experimentId, sweep, child, datasetId } = await trainingSetup('lineage-basics');
      const res = await lineage(`run/${child}/upstream?depth=3`);
      expect(res.status).toBe(200);
      expectSchema(LineageGraph, res.body);
      const commit = COMMIT.toLowerCase();
      expect(edgesOf(res.body)).toEqual([
        `code_version:${commit} -source_code-> run:${child} @1`,
        `dataset:${datasetId} -input-> run:${child} @1`,
        `run:${sweep} -parent-> run:${child} @1`,
      ]);
      expect(res.body.truncated).toBe(false);
      expect(res.body.root).toEqual({ kind: 'run', id: child });
      expect(res.body.edges[0].createdAt).toBe(NOW + 5);
      const byKind = Object.fromEntries(
        res.body.nodes.map((n: { kind: string; id: string }) => [`${n.kind}:${n.id}`, n]),
      );
      expect(byKind[`run:${child}`]).toEqual({
        kind: 'run',
        id: child,
        label: 'trial-1',
        attributes: {
          experimentId,
          experimentName: 'lineage-basics',
          status: 'RUNNING',
          startTime: NOW,
          endTime: null,
          user: 'alice',
          lifecycleStage: 'active',
        },
      });
      expect(byKind[`dataset:${datasetId}`]).toMatchObject({
        label: 'iris',
        attributes: {
          name: 'iris',
          digest: 'a1b2c3',
          source: '{"uri": "s3://data/iris.parquet"}',
          sourceType: 's3',
        },
      });
      expect(byKind[`code_version:${commit}`]).toEqual({
        kind: 'code_version',
        id: commit,
        label: commit.slice(0, 12),
        attributes: { commit },
      });
      expect(res.body.nodes[0]).toMatchObject({ kind: 'run', id: child });
    });

    it('logging the same input twice keeps one edge', async () => {
      const { child } = await trainingSetup('lineage-twice');
      await post('runs/log-inputs', {
        run_id: child,
        datasets: [
          {
            dataset: {
              name: 'iris',
              digest: 'a1b2c3',
              source_type: 's3',
              source: '{"uri": "s3://data/iris.parquet"}',
            },
          },
        ],
      });
      const graph = (await lineage(`run/${child}/upstream?depth=1`)).body;
      expect(graph.edges.filter((e: { relation: string }) => e.relation === 'input')).toHaveLength(1);
    });

    it('follows the parent tag through set-tag, log-batch and delete-tag', async () => {
      const experimentId = (await post('experiments/create', { name: 'lineage-tags' })).body
        .experiment_id as string;
      const first = await newRun(experimentId, 'first');
      const second = await newRun(experimentId, 'second');
      const child = await newRun(experimentId, 'child');
      const parents = async () =>
        (await lineage(`run/${child}/upstream?depth=1`)).body.edges
          .filter((e: { relation: string }) => e.relation === 'parent')
          .map((e: { from: { id: string } }) => e.from.id);

      expect(
        (await post('runs/set-tag', { run_id: child, key: 'mlflow.parentRunId', value: first })).status,
      ).toBe(200);
      expect(await parents()).toEqual([first]);

      // A new parent replaces the old edge: the graph says what the run says now.
      await post('runs/log-batch', { run_id: child, tags: [{ key: 'mlflow.parentRunId', value: second }] });
      expect(await parents()).toEqual([second]);
      const down = (await lineage(`run/${first}/downstream`)).body;
      expect(down.edges).toEqual([]);

      await post('runs/log-batch', {
        run_id: child,
        tags: [{ key: 'mlflow.source.git.commit', value: 'abcdef1' }],
      });
      expect(edgesOf((await lineage(`code_version/abcdef1/downstream`)).body)).toEqual([
        `code_version:abcdef1 -source_code-> run:${child} @1`,
      ]);

      expect((await post('runs/delete-tag', { run_id: child, key: 'mlflow.parentRunId' })).status).toBe(200);
      expect(await parents()).toEqual([]);
    });

    it('ignores lineage tags whose values name nothing', async () => {
      const experimentId = (await post('experiments/create', { name: 'lineage-junk' })).body
        .experiment_id as string;
      const run = await newRun(experimentId, 'r');
      await post('runs/log-batch', {
        run_id: run,
        tags: [
          { key: 'mlflow.source.git.commit', value: 'not a commit' },
          { key: 'mlflow.parentRunId', value: '../../etc' },
        ],
      });
      expect((await lineage(`run/${run}/upstream`)).body.edges).toEqual([]);
    });
  });

  describe('walks', () => {
    it('answers downstream of a dataset and provenance of a run', async () => {
      const { sweep, child, datasetId } = await trainingSetup('lineage-walks');
      const down = await lineage(`dataset/${datasetId}/downstream`);
      expect(down.status).toBe(200);
      expectSchema(LineageGraph, down.body);
      expect(edgesOf(down.body)).toEqual([`dataset:${datasetId} -input-> run:${child} @1`]);

      const sweepDown = await lineage(`run/${sweep}/downstream?depth=64`);
      expect(edgesOf(sweepDown.body)).toEqual([`run:${sweep} -parent-> run:${child} @1`]);

      const provenance = await lineage(`run/${child}/provenance`);
      expect(provenance.status).toBe(200);
      expectSchema(LineageGraph, provenance.body);
      expect(provenance.body.nodes).toHaveLength(4);
    });

    it('answers an unknown node with that node alone', async () => {
      const res = await lineage('model_version/nothing-here/provenance');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        root: { kind: 'model_version', id: 'nothing-here' },
        nodes: [{ kind: 'model_version', id: 'nothing-here', label: 'nothing-here', attributes: {} }],
        edges: [],
        truncated: false,
      });
    });
  });

  describe('OpenLineage export', () => {
    it('exports the runs around a node as RunEvents', async () => {
      const { sweep, child } = await trainingSetup('lineage-openlineage');
      await post('runs/update', { run_id: child, status: 'FINISHED', end_time: NOW + 60_000 });
      const res = await lineage(`run/${child}/openlineage?direction=upstream&depth=2`);
      expect(res.status).toBe(200);
      expectSchema(OpenLineageEvents, res.body);
      const dashed = (id: string) => id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
      const [event, parent] = res.body.events;
      expect(event).toMatchObject({
        eventType: 'COMPLETE',
        eventTime: new Date(NOW + 60_000).toISOString(),
        run: {
          runId: dashed(child),
          facets: {
            parent: {
              run: { runId: dashed(sweep) },
              job: { namespace: 'cairn', name: 'lineage-openlineage' },
            },
          },
        },
        job: { namespace: 'cairn', name: 'lineage-openlineage' },
        inputs: [
          { namespace: 's3://data', name: 'iris.parquet', facets: { version: { datasetVersion: 'a1b2c3' } } },
        ],
        outputs: [],
        producer: 'urn:cairn:server',
        schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
      });
      expect(parent).toMatchObject({ eventType: 'RUNNING', run: { runId: dashed(sweep) } });

      const fromDataset = await lineage(`run/${sweep}/openlineage?direction=downstream`);
      expect(fromDataset.body.events.map((e: { run: { runId: string } }) => e.run.runId)).toEqual([
        dashed(sweep),
        dashed(child),
      ]);
    });
  });

  describe('bad input', () => {
    it.each([
      ['model/abc/upstream', 'kind'],
      ['run/abc/upstream?depth=0', 'depth'],
      ['run/abc/upstream?depth=1000', 'depth'],
      ['run/abc/downstream?depth=abc', 'depth'],
      ['run/abc/downstream?depth=1.5', 'depth'],
      ['run/abc/upstream?hops=2', 'hops'],
      ['run/abc/openlineage?direction=sideways', 'direction'],
      ['run/abc/openlineage?depth=65', 'depth'],
    ])('GET /api/v1/lineage/%s → 400 naming %s', async (path, field) => {
      const res = await lineage(path);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expectSchema(ErrorResponse, res.body);
      expect(res.body.error).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    });

    it('refuses an over-long id', async () => {
      // Fastify's router caps a path parameter at 100 characters, before our own 256-character check.
      const res = await lineage(`run/${'x'.repeat(300)}/provenance`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    });
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await call(t.app, 'GET', '/api/v1/openapi.json')).body;
    for (const path of ['upstream', 'downstream', 'provenance', 'openlineage']) {
      expect(doc.paths[`/api/v1/lineage/{kind}/{id}/${path}`]?.get?.tags).toEqual(['lineage']);
    }
  });
});
