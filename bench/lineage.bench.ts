/**
 * Lineage figure of issue #3: the provenance of a model version in a graph of
 * 100,000 nodes, depth 10, through LineageService (one recursive walk + the
 * batched describers), on SQLite and on PostgreSQL.
 *
 *   npx tsx bench/lineage.bench.ts [--dialect sqlite|postgres|both] [--nodes 100000] [--calls 200]
 *
 * The graph is shaped like use: per experiment, a feature pipeline of four
 * layers of runs, each run reading 4 of 32 datasets of the layer before and
 * writing one dataset of the next; 300 training runs each reading 4 of the
 * last datasets and producing one model version; sweep and pipeline parent
 * runs; 10 commits. A model version's provenance is then 10 edges deep with
 * ~200 nodes, full of diamonds (datasets shared by many runs).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDatabase, type MetadataDatabase } from '../packages/server/src/adapters/sql/database.js';
import { createSqlStores } from '../packages/server/src/adapters/sql/sql-stores.js';
import {
  LineageService,
  type LineageEdge,
  type NodeDescriber,
  type NodeDescription,
  type NodeKind,
  type NodeRef,
} from '../packages/server/src/modules/lineage/index.js';
import { AccessControl } from '../packages/server/src/modules/governance/index.js';
import { TRACKING_NODE_KINDS, TrackingNodeDescriber } from '../packages/server/src/modules/tracking/index.js';
import { dialectsFrom, PG_URL, pgSchemaUrl, saveFigures, timeMany } from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'both' },
    nodes: { type: 'string', default: '100000' },
    calls: { type: 'string', default: '200' },
  },
});
const TARGET_NODES = Number(values.nodes);
const CALLS = Number(values.calls);
const NOW = Date.now();

// One experiment's shape.
const DATASETS_PER_LAYER = 32;
const FEATURE_LAYERS = 4;
const INPUTS_PER_RUN = 4;
const TRAINING_RUNS = 300;
const SWEEPS = 10;
const PIPELINES_PER_LAYER = 2;
const COMMITS = 10;
const MODELS = 3;
const NODES_PER_EXPERIMENT =
  (FEATURE_LAYERS + 1) * DATASETS_PER_LAYER + // datasets
  FEATURE_LAYERS * DATASETS_PER_LAYER + // feature runs
  TRAINING_RUNS * 2 + // training runs + model versions
  SWEEPS +
  1 + // the sweeps' root run
  FEATURE_LAYERS * PIPELINES_PER_LAYER +
  COMMITS;

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
function pickDistinct<T>(items: readonly T[], n: number): T[] {
  const chosen = new Set<T>();
  while (chosen.size < n) chosen.add(pick(items));
  return [...chosen];
}
const runId = (): string => randomUUID().replaceAll('-', '');
function chunk<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size));
  return parts;
}

interface Rows {
  experiments: Array<{ id: string; name: string }>;
  runs: Array<{ id: string; experimentId: string; name: string }>;
  datasets: Array<{ id: string; experimentId: string; name: string }>;
  models: Array<{ id: string; name: string }>;
  versions: Array<{ id: string; modelId: string; version: number; runId: string }>;
  edges: LineageEdge[];
  modelVersionIds: string[];
  nodes: number;
}

function generate(experimentCount: number): Rows {
  const rows: Rows = {
    experiments: [],
    runs: [],
    datasets: [],
    models: [],
    versions: [],
    edges: [],
    modelVersionIds: [],
    nodes: 0,
  };
  const edge = (from: NodeRef, relation: LineageEdge['relation'], to: NodeRef): void => {
    rows.edges.push({ from, to, relation, createdAt: NOW });
  };
  for (let e = 0; e < experimentCount; e++) {
    const experimentId = String(e + 1);
    rows.experiments.push({ id: experimentId, name: `bench-${e}` });
    const newRun = (name: string): NodeRef => {
      const id = runId();
      rows.runs.push({ id, experimentId, name });
      return { kind: 'run', id };
    };
    const commits: NodeRef[] = Array.from({ length: COMMITS }, () => ({
      kind: 'code_version',
      id: randomBytes(20).toString('hex'),
    }));
    // Dataset layers: 0 feeds training, FEATURE_LAYERS is raw data nobody produced.
    const layers: NodeRef[][] = Array.from({ length: FEATURE_LAYERS + 1 }, (_, layer) =>
      Array.from({ length: DATASETS_PER_LAYER }, (_, j) => {
        const id = randomUUID();
        rows.datasets.push({ id, experimentId, name: `l${layer}-d${j}` });
        return { kind: 'dataset', id };
      }),
    );
    for (let layer = 1; layer <= FEATURE_LAYERS; layer++) {
      const pipelines = Array.from({ length: PIPELINES_PER_LAYER }, (_, i) =>
        newRun(`pipeline-${layer}-${i}`),
      );
      layers[layer - 1]!.forEach((output, j) => {
        const run = newRun(`feature-${layer}-${j}`);
        for (const input of pickDistinct(layers[layer]!, INPUTS_PER_RUN)) edge(input, 'input', run);
        edge(run, 'produced', output);
        edge(pick(pipelines), 'parent', run);
        edge(pick(commits), 'source_code', run);
      });
    }
    const root = newRun('sweeps');
    const sweeps = Array.from({ length: SWEEPS }, (_, i) => newRun(`sweep-${i}`));
    for (const sweep of sweeps) edge(root, 'parent', sweep);
    const models = Array.from({ length: MODELS }, (_, i) => {
      const model = { id: randomUUID(), name: `bench-${e}-model-${i}`, versions: 0 };
      rows.models.push(model);
      return model;
    });
    for (let t = 0; t < TRAINING_RUNS; t++) {
      const run = newRun(`train-${t}`);
      for (const input of pickDistinct(layers[0]!, INPUTS_PER_RUN)) edge(input, 'input', run);
      edge(pick(sweeps), 'parent', run);
      edge(pick(commits), 'source_code', run);
      const model = models[t % MODELS]!;
      const versionId = randomUUID();
      rows.versions.push({ id: versionId, modelId: model.id, version: ++model.versions, runId: run.id });
      rows.modelVersionIds.push(versionId);
      edge(run, 'produced', { kind: 'model_version', id: versionId });
    }
    rows.nodes += NODES_PER_EXPERIMENT;
  }
  return rows;
}

/** Writes the tracking and registry rows the describers read, and the edges, in one transaction. */
async function load(database: MetadataDatabase, rows: Rows): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    const { tracking, lineage } = createSqlStores(trx, database.helpers);
    await tracking.ensureProject('default', 'default', NOW);
    for (const part of chunk(rows.experiments, 1000)) {
      await trx
        .insertInto('experiments')
        .values(
          part.map((x) => ({
            experiment_id: x.id,
            project_id: 'default',
            name: x.name,
            artifact_location: `mlflow-artifacts:/${x.id}`,
            lifecycle_stage: 'active',
            creation_ms: NOW,
            last_update_ms: NOW,
          })),
        )
        .execute();
    }
    for (const part of chunk(rows.runs, 1000)) {
      await trx
        .insertInto('runs')
        .values(
          part.map((r) => ({
            run_uuid: r.id,
            experiment_id: r.experimentId,
            run_name: r.name,
            user_id: 'bench',
            status: 'FINISHED',
            start_ms: NOW - 60_000,
            end_ms: NOW,
            lifecycle_stage: 'active',
            artifact_uri: `mlflow-artifacts:/${r.experimentId}/${r.id}/artifacts`,
            deleted_ms: null,
          })),
        )
        .execute();
    }
    for (const part of chunk(rows.datasets, 1000)) {
      await trx
        .insertInto('datasets')
        .values(
          part.map((d) => ({
            dataset_uuid: d.id,
            experiment_id: d.experimentId,
            name: d.name,
            digest: d.id.slice(0, 8),
            source_type: 's3',
            source: `{"uri": "s3://bench/${d.name}.parquet"}`,
            schema: null,
            profile: null,
          })),
        )
        .execute();
    }
    for (const part of chunk(rows.models, 1000)) {
      await trx
        .insertInto('registered_models')
        .values(
          part.map((m) => ({
            model_id: m.id,
            project_id: 'default',
            name: m.name,
            description: '',
            last_version: TRAINING_RUNS / MODELS,
            creation_ms: NOW,
            last_update_ms: NOW,
          })),
        )
        .execute();
    }
    for (const part of chunk(rows.versions, 1000)) {
      await trx
        .insertInto('model_versions')
        .values(
          part.map((v) => ({
            version_id: v.id,
            model_id: v.modelId,
            version: v.version,
            description: '',
            user_id: 'bench',
            status: 'READY',
            status_message: '',
            stage: 'None',
            source: `runs:/${v.runId}/model`,
            run_id: v.runId,
            run_link: '',
            format: 'onnx',
            digest: `sha256:${v.id}`,
            file_count: 1,
            size_bytes: 1,
            signature: null,
            format_details: null,
            creation_ms: NOW,
            last_update_ms: NOW,
          })),
        )
        .execute();
    }
    await lineage.addEdges(rows.edges);
  });
}

/**
 * Stand-in for the registry's `model_version` describer (issue #3, written
 * beside this module): the same one batched read by id, joined to the model.
 */
function modelVersionDescriber(database: MetadataDatabase): NodeDescriber {
  return {
    async describe(_kind: NodeKind, ids: readonly string[]): Promise<ReadonlyMap<string, NodeDescription>> {
      const found = await database.db
        .selectFrom('model_versions as v')
        .innerJoin('registered_models as m', 'm.model_id', 'v.model_id')
        .select(['v.version_id', 'v.version', 'v.format', 'v.digest', 'v.stage', 'm.name'])
        .where(database.helpers.anyOf('v.version_id', ids))
        .execute();
      return new Map(
        found.map((v) => [
          v.version_id,
          {
            label: `${v.name}/${v.version}`,
            attributes: {
              name: v.name,
              version: v.version,
              format: v.format,
              digest: v.digest,
              stage: v.stage,
            },
          },
        ]),
      );
    },
  };
}

async function measure(dialect: 'sqlite' | 'postgres'): Promise<Record<string, number>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-lineage-'));
  const target =
    dialect === 'sqlite'
      ? { url: `sqlite:${path.join(dir, 'cairn.db')}`, schema: '', drop: async () => undefined }
      : await pgSchemaUrl('lineage');
  const database = openDatabase(target.url);
  const figures: Record<string, number> = {};
  try {
    await database.migrate();
    const rows = generate(Math.ceil(TARGET_NODES / NODES_PER_EXPERIMENT));
    let t0 = performance.now();
    await load(database, rows);
    figures['nodes'] = rows.nodes;
    figures['edges'] = rows.edges.length;
    figures['load_s'] = (performance.now() - t0) / 1000;
    console.log(
      `[${dialect}] graph: ${rows.nodes.toLocaleString()} nodes, ${rows.edges.length.toLocaleString()} edges, ` +
        `loaded in ${figures['load_s'].toFixed(1)} s`,
    );
    if (dialect === 'postgres') {
      // Steady state: autovacuum would have analysed the fresh rows within a minute.
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`set search_path to "${target.schema}"`);
      t0 = performance.now();
      await client.query('analyze');
      await client.end();
      console.log(`[${dialect}] ANALYZE in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }

    const stores = createSqlStores(database.db, database.helpers);
    const lineage = new LineageService({
      store: stores.lineage,
      clock: { now: () => Date.now() },
      access: new AccessControl({ authEnabled: false }),
    });
    const trackingNodes = new TrackingNodeDescriber(stores.tracking);
    for (const kind of TRACKING_NODE_KINDS) lineage.registerDescriber(kind, trackingNodes);
    lineage.registerDescriber('model_version', modelVersionDescriber(database));

    const sample = Array.from({ length: CALLS }, () => pick(rows.modelVersionIds));
    let next = 0;
    const sizes: number[] = [];
    const depths: number[] = [];
    const provenance = async (): Promise<void> => {
      const graph = await lineage.provenance({ kind: 'model_version', id: sample[next++ % sample.length] });
      if (graph.truncated) throw new Error('provenance was truncated');
      sizes.push(graph.nodes.length);
      depths.push(Math.max(...graph.edges.map((e) => e.depth)));
    };
    for (let i = 0; i < 20; i++) await provenance(); // warm caches and statement caches
    next = 0;
    sizes.length = 0;
    depths.length = 0;
    const full = await timeMany(CALLS, provenance);
    next = 0;
    const walkOnly = await timeMany(CALLS, async () => {
      await stores.lineage.walk(
        { kind: 'model_version', id: sample[next++ % sample.length] as string },
        { direction: 'upstream', maxDepth: 64, maxEdges: 10_000 },
      );
    });
    const avgNodes = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    figures['provenance_median_ms'] = full.median;
    figures['provenance_p95_ms'] = full.p95;
    figures['walk_median_ms'] = walkOnly.median;
    figures['walk_p95_ms'] = walkOnly.p95;
    figures['provenance_avg_nodes'] = avgNodes;
    figures['provenance_max_depth'] = Math.max(...depths);
    console.log(
      `[${dialect}] provenance of a model version (${CALLS} calls, ~${Math.round(avgNodes)} nodes, depth ${Math.max(...depths)}): ` +
        `median ${full.median.toFixed(1)} ms, p95 ${full.p95.toFixed(1)} ms; ` +
        `the walk alone: median ${walkOnly.median.toFixed(1)} ms, p95 ${walkOnly.p95.toFixed(1)} ms`,
    );
  } finally {
    await database.close();
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

const results: Record<string, Record<string, number>> = {};
for (const dialect of dialectsFrom(values.dialect)) results[dialect] = await measure(dialect);
saveFigures('lineage', results);
