import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSqlStores } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import type { Digest } from '../artifacts/index.js';
import type { DatasetVersionRecord } from '../datasets/index.js';

const MLFLOW = '/api/2.0/mlflow';
const API = '/api/v1';
const NOW = 1_700_000_000_000;

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Edge {
  from: { kind: string; id: string };
  to: { kind: string; id: string };
  relation: string;
}

describeEachDatabase('run inputs matched to dataset versions', ({ database }) => {
  let t: TestApp;
  let v1: DatasetVersionRecord;
  let v2: DatasetVersionRecord;
  beforeAll(async () => {
    t = await createTestApp(database(), { clock: { now: () => NOW } });
    // Written through the store: the versions exist without a real upload.
    const { db, helpers } = t.app.cairn.database;
    const stores = createSqlStores(db, helpers);
    const datasetId = 'ds-iris';
    await stores.datasets.insertDataset({
      datasetId,
      projectId: 'default',
      name: 'iris',
      description: '',
      lastVersion: 2,
      createdAt: NOW,
      createdBy: 'alice',
      updatedAt: NOW,
    });
    const version = (n: number): DatasetVersionRecord => ({
      versionId: `dsv-iris-${n}`,
      datasetId,
      version: n,
      parentVersion: n === 1 ? null : n - 1,
      message: `iris v${n}`,
      author: 'alice',
      createdAt: NOW + n,
      digest: `sha256:${sha(`iris manifest ${n}`)}` as Digest,
      fileCount: 3,
      sizeBytes: 1000 * n,
      bytesNew: 1000,
    });
    v1 = version(1);
    v2 = version(2);
    await stores.datasets.insertVersion(v1, []);
    await stores.datasets.insertVersion(v2, []);
    await stores.datasets.setAlias(datasetId, 'gold', 1, NOW);
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (path: string, body: unknown) => call(t.app, 'POST', `${MLFLOW}/${path}`, body);

  async function newRun(): Promise<string> {
    const created = await post('runs/create', { experiment_id: '0', start_time: NOW });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return created.body.run.info.run_id as string;
  }

  async function logInput(runId: string, dataset: { digest: string; source?: string; name?: string }) {
    const logged = await post('runs/log-inputs', {
      run_id: runId,
      datasets: [
        {
          dataset: {
            name: dataset.name ?? 'iris',
            digest: dataset.digest,
            source_type: 'local',
            source: dataset.source ?? '{"uri": "/data/iris"}',
          },
        },
      ],
    });
    expect(logged.status, JSON.stringify(logged.body)).toBe(200);
  }

  async function upstream(runId: string): Promise<{ edges: Edge[]; nodes: any[] }> {
    const graph = await call(t.app, 'GET', `${API}/lineage/run/${runId}/upstream`);
    expect(graph.status).toBe(200);
    return graph.body;
  }

  const versionInputs = (graph: { edges: Edge[] }): string[] =>
    graph.edges
      .filter((e) => e.from.kind === 'dataset_version' && e.relation === 'input')
      .map((e) => e.from.id)
      .sort();

  it('MLflow log-inputs with a version’s digest (bare hex) records the dataset_version → run edge', async () => {
    const runId = await newRun();
    await logInput(runId, { digest: v2.digest.slice('sha256:'.length).toUpperCase() });
    const graph = await upstream(runId);
    expect(versionInputs(graph)).toEqual([v2.versionId]);
    expect(graph.edges.some((e) => e.from.kind === 'dataset')).toBe(true);
    const node = graph.nodes.find((n) => n.kind === 'dataset_version');
    expect(node).toMatchObject({
      id: v2.versionId,
      label: 'iris@v2',
      attributes: { name: 'iris', version: 2, digest: v2.digest, files: 3, bytes: 2000, message: 'iris v2' },
    });
    const downstream = await call(t.app, 'GET', `${API}/lineage/dataset_version/${v2.versionId}/downstream`);
    expect(downstream.status).toBe(200);
    expect(downstream.body.nodes.map((n: { id: string }) => n.id)).toContain(runId);
  });

  it('the native route matches a `sha256:` digest and a `cairn:NAME@VERSION` source', async () => {
    const runId = await newRun();
    const logged = await call(t.app, 'POST', `${API}/runs/${runId}/inputs`, {
      datasets: [
        { dataset: { name: 'iris', digest: v1.digest, sourceType: 'cairn', source: 'cairn:iris@1' } },
        { dataset: { name: 'iris', digest: 'not-a-digest', sourceType: 'cairn', source: 'cairn:iris@2' } },
      ],
    });
    expect(logged.status, JSON.stringify(logged.body)).toBe(204);
    expect(versionInputs(await upstream(runId))).toEqual([v1.versionId, v2.versionId].sort());
  });

  it('resolves aliases and latest in a `cairn:` source', async () => {
    const gold = await newRun();
    await logInput(gold, { digest: 'x', source: 'cairn:iris@gold' });
    expect(versionInputs(await upstream(gold))).toEqual([v1.versionId]);
    const latest = await newRun();
    await logInput(latest, { digest: 'x', source: 'cairn:iris@latest' });
    expect(versionInputs(await upstream(latest))).toEqual([v2.versionId]);
  });

  it('records no dataset_version edge when nothing matches', async () => {
    const runId = await newRun();
    await logInput(runId, { digest: sha('some other manifest') });
    await logInput(runId, { digest: 'a1b2c3', name: 'other', source: 'cairn:iris@9' });
    await logInput(runId, { digest: 'a1b2c4', name: 'other', source: 'cairn:nosuch@1' });
    const graph = await upstream(runId);
    expect(versionInputs(graph)).toEqual([]);
    expect(graph.edges.filter((e) => e.from.kind === 'dataset')).toHaveLength(3);
  });
});
