/**
 * Tracking figures of issue #2, through real HTTP on 127.0.0.1 against a
 * `cairn server` child process, with the raw store insert rate measured in the
 * same run as the ceiling.
 *
 *   node --import tsx bench/tracking.bench.ts [--dialect sqlite|postgres|both] [--seconds 10]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase } from '../packages/server/src/adapters/sql/database.js';
import { createSqlStores } from '../packages/server/src/adapters/sql/sql-stores.js';
import {
  dialectsFrom,
  loadFor,
  logBatchBody,
  pgSchemaUrl,
  postJson,
  saveFigures,
  startCairn,
  timeMany,
} from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '10000' },
    'history-points': { type: 'string', default: '100000' },
  },
});
const SECONDS = Number(values.seconds);
const SEARCH_RUNS = Number(values.runs);
const HISTORY_POINTS = Number(values['history-points']);
const NOW = Date.now();

const batchBody = (runId: string, offset: number): string => logBatchBody(runId, offset, NOW);

/** The ceiling: 1000-metric batches straight into the store, no HTTP, one writer. */
async function rawStoreRate(dbUrl: string): Promise<number> {
  const database = openDatabase(dbUrl);
  await database.migrate();
  const { tracking } = createSqlStores(database.db, database.helpers);
  await tracking.ensureProject('default', 'default', NOW);
  await tracking.insertExperiment({
    experimentId: 'raw',
    projectId: 'default',
    name: 'raw',
    artifactLocation: 'x',
    lifecycleStage: 'active',
    creationTime: NOW,
    lastUpdateTime: NOW,
    tags: {},
  });
  const runId = 'f'.repeat(32);
  await tracking.insertRun(
    {
      runId,
      experimentId: 'raw',
      runName: 'raw',
      userId: 'bench',
      status: 'RUNNING',
      startTime: NOW,
      endTime: null,
      lifecycleStage: 'active',
      artifactUri: 'x',
      deletedTime: null,
    },
    [],
  );
  let batch = 0;
  const result = await loadFor({
    workers: 1,
    seconds: Math.min(SECONDS, 5),
    op: async () => {
      const b = batch++;
      const metrics = Array.from({ length: 1000 }, (_, i) => ({
        key: `m${i % 10}`,
        value: Math.random(),
        timestamp: NOW,
        step: b * 100 + Math.floor(i / 10),
      }));
      await database.db.transaction().execute((trx) =>
        createSqlStores(trx, database.helpers).tracking.writeBatch(runId, {
          metrics,
          params: [],
          tags: [],
        }),
      );
    },
  });
  await database.close();
  return result.perSecond * 1000;
}

/** 8 keep-alive connections posting generated JSON bodies for SECONDS; returns successful requests/s. */
async function hammer(
  url: string,
  path: string,
  body: (client: number, iteration: number) => string,
): Promise<number> {
  let clients = 0;
  const result = await autocannon({
    url,
    connections: 8,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request, context: { client?: number; iteration?: number }) => {
          context.client ??= clients++ % 8;
          context.iteration = (context.iteration ?? 0) + 1;
          return { ...request, body: body(context.client, context.iteration) };
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${path}: ${result.non2xx} non-2xx answers and ${result.errors} errors under load`);
  }
  return result.requests.total / (result.duration || SECONDS);
}

async function createRun(url: string, experimentId: string): Promise<string> {
  const created = (await postJson(
    `${url}/api/2.0/mlflow/runs/create`,
    JSON.stringify({ experiment_id: experimentId, start_time: Date.now() }),
  )) as {
    run: { info: { run_id: string } };
  };
  return created.run.info.run_id;
}

async function measure(dialect: 'sqlite' | 'postgres'): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `cairn-bench-${dialect}-`));
  const serverDb =
    dialect === 'sqlite'
      ? { url: `sqlite:${path.join(dataDir, 'cairn.db')}`, drop: async () => undefined }
      : await pgSchemaUrl('srv');
  const rawDb =
    dialect === 'sqlite'
      ? { url: `sqlite:${path.join(dataDir, 'raw.db')}`, drop: async () => undefined }
      : await pgSchemaUrl('raw');
  const figures: Record<string, number> = {};
  try {
    figures['raw_store_points_per_s'] = await rawStoreRate(rawDb.url);
    console.log(
      `[${dialect}] raw store insert: ${Math.round(figures['raw_store_points_per_s']).toLocaleString()} points/s`,
    );

    const server = await startCairn({ dbUrl: serverDb.url, dataDir });
    const api = `${server.url}/api/2.0/mlflow`;
    try {
      const experiment = (await postJson(
        `${api}/experiments/create`,
        JSON.stringify({ name: `bench-${dialect}` }),
      )) as { experiment_id: string };
      const exp = experiment.experiment_id;

      // 1 + 2 use autocannon as the load generator: a fetch() loop in Node costs
      // the client as much CPU as the server, and both share this 2-core machine.
      const runs = await Promise.all(Array.from({ length: 8 }, () => createRun(server.url, exp)));

      // 1. log-batch ingest: 8 clients, 1000-metric batches in MLflow's JSON.
      const ingest = await hammer(server.url, '/api/2.0/mlflow/runs/log-batch', (client, i) =>
        batchBody(runs[client] as string, i),
      );
      figures['log_batch_points_per_s'] = ingest * 1000;
      console.log(
        `[${dialect}] log-batch ingest, 8 clients: ${Math.round(ingest * 1000).toLocaleString()} points/s`,
      );

      // 2. single log-metric calls, 8 clients.
      const single = await hammer(
        server.url,
        '/api/2.0/mlflow/runs/log-metric',
        (client, i) =>
          `{"run_id":"${runs[client]}","key":"single","value":${Math.random()},"timestamp":${Date.now()},"step":${i}}`,
      );
      figures['log_metric_calls_per_s'] = single;
      console.log(
        `[${dialect}] single log-metric, 8 clients: ${Math.round(single).toLocaleString()} calls/s`,
      );

      // 3. read one 100,000-point metric history.
      const historyRun = await createRun(server.url, exp);
      for (let offset = 0; offset < HISTORY_POINTS; offset += 1000) {
        const metrics: string[] = [];
        for (let i = 0; i < 1000; i++)
          metrics.push(
            `{"key":"loss","value":${Math.random()},"timestamp":${NOW + offset + i},"step":${offset + i}}`,
          );
        await postJson(
          `${api}/runs/log-batch`,
          `{"run_id":"${historyRun}","metrics":[${metrics.join(',')}]}`,
        );
      }
      // Time to the last byte of the response, then the same including the client's JSON.parse.
      let body = '';
      const history = await timeMany(20, async () => {
        const res = await fetch(`${api}/metrics/get-history?run_id=${historyRun}&metric_key=loss`);
        body = await res.text();
      });
      const points = (JSON.parse(body) as { metrics: unknown[] }).metrics.length;
      if (points !== HISTORY_POINTS)
        throw new Error(`history returned ${points} points, expected ${HISTORY_POINTS}`);
      const parsed = await timeMany(10, async () => {
        const res = await fetch(`${api}/metrics/get-history?run_id=${historyRun}&metric_key=loss`);
        JSON.parse(await res.text());
      });
      figures['history_100k_median_ms'] = history.median;
      figures['history_100k_p95_ms'] = history.p95;
      figures['history_100k_with_client_parse_median_ms'] = parsed.median;
      console.log(
        `[${dialect}] ${HISTORY_POINTS.toLocaleString()}-point history: median ${history.median.toFixed(1)} ms, p95 ${history.p95.toFixed(1)} ms ` +
          `(${(body.length / 1e6).toFixed(1)} MB; with client JSON.parse: median ${parsed.median.toFixed(1)} ms)`,
      );

      // 4. search 10,000 runs with a metric filter and order_by.
      const searchExp = (
        (await postJson(`${api}/experiments/create`, JSON.stringify({ name: `search-${dialect}` }))) as {
          experiment_id: string;
        }
      ).experiment_id;
      let created = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (created < SEARCH_RUNS) {
            created++;
            const runId = await createRun(server.url, searchExp);
            await postJson(
              `${api}/runs/log-batch`,
              JSON.stringify({
                run_id: runId,
                metrics: [
                  { key: 'acc', value: Math.random(), timestamp: NOW, step: 0 },
                  { key: 'loss', value: Math.random(), timestamp: NOW, step: 0 },
                ],
                params: [
                  { key: 'model', value: Math.random() < 0.5 ? 'tree' : 'linear' },
                  { key: 'lr', value: String(Math.random()) },
                ],
              }),
            );
          }
        }),
      );
      if (dialect === 'postgres') {
        // Steady state: autovacuum would have analysed the fresh rows within a minute;
        // without statistics the planner assumes one row per table and picks nested loops.
        const client = new pg.Client({ connectionString: serverDb.url.replace(/\?schema=.*$/, '') });
        await client.connect();
        const schema = new URL(serverDb.url).searchParams.get('schema');
        await client.query(`set search_path to "${schema}"`);
        await client.query('analyze');
        await client.end();
      }
      for (const maxResults of [100, 1000]) {
        const body = JSON.stringify({
          experiment_ids: [searchExp],
          filter: 'metrics.acc > 0.5',
          order_by: ['metrics.acc DESC'],
          max_results: maxResults,
        });
        let count = 0;
        const search = await timeMany(30, async () => {
          const result = (await postJson(`${api}/runs/search`, body)) as { runs: unknown[] };
          count = result.runs.length;
        });
        if (count !== maxResults) throw new Error(`search returned ${count} runs`);
        figures[`search_${maxResults}_of_10k_median_ms`] = search.median;
        figures[`search_${maxResults}_of_10k_p95_ms`] = search.p95;
        console.log(
          `[${dialect}] search ${SEARCH_RUNS.toLocaleString()} runs (metric filter + order_by, max_results ${maxResults}): median ${search.median.toFixed(1)} ms, p95 ${search.p95.toFixed(1)} ms`,
        );
      }
    } finally {
      await server.stop();
    }
  } finally {
    await serverDb.drop();
    await rawDb.drop();
  }
  return figures;
}

const results: Record<string, Record<string, number>> = {};
for (const dialect of dialectsFrom(values.dialect)) results[dialect] = await measure(dialect);
saveFigures('tracking', results);
