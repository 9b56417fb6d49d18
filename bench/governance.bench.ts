/**
 * Issue #4: what auth + audit cost on the log-batch ingest benchmark.
 *
 * In one run, on the same fresh database per configuration, 8 autocannon
 * connections post 1000-metric MLflow batches to:
 *   - `off`: `cairn server` with auth off (every batch still writes its audit event),
 *   - `on`:  `cairn server --auth`, requests as a non-admin editor with a bearer
 *            token (token lookup, role check and audit on every request),
 *   - `pre`: optionally, the build of a commit from before governance
 *            (`--baseline DIR`, a checkout with `npm ci && npm run build` done),
 *            which has neither, to show the audit trail's own cost.
 * Rounds alternate between configurations so drift on this shared machine
 * hits all of them alike; the median round per configuration is reported.
 *
 *   node --import tsx bench/governance.bench.ts [--dialect sqlite|postgres|both] [--seconds 8] [--rounds 3] [--baseline DIR]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  dialectsFrom,
  logBatchBody,
  pgSchemaUrl,
  postJson,
  saveFigures,
  startCairn,
  type BenchDialect,
  type ServerProcess,
} from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const ADMIN_TOKEN = `bench-admin-${'x'.repeat(40)}`;
const NOW = Date.now();

type Config = 'off' | 'on' | 'pre';

interface Target {
  config: Config;
  server: ServerProcess;
  token: string | undefined;
  runs: string[];
  drop(): Promise<void>;
}

const batchBody = (runId: string, offset: number): string => logBatchBody(runId, offset, NOW);

async function editorToken(url: string): Promise<string> {
  await postJson(`${url}/api/v1/users`, JSON.stringify({ name: 'bench' }), ADMIN_TOKEN);
  await postJson(
    `${url}/api/v1/projects/default/members`,
    JSON.stringify({ user: 'bench', role: 'editor' }),
    ADMIN_TOKEN,
  );
  const created = (await postJson(
    `${url}/api/v1/tokens`,
    JSON.stringify({ user: 'bench', name: 'bench' }),
    ADMIN_TOKEN,
  )) as { token: string };
  return created.token;
}

async function start(config: Config, dialect: BenchDialect): Promise<Target> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `cairn-gov-${config}-`));
  const db =
    dialect === 'sqlite'
      ? { url: `sqlite:${path.join(dataDir, 'cairn.db')}`, drop: async () => undefined }
      : await pgSchemaUrl(`gov_${config}`);
  const server = await startCairn({
    dbUrl: db.url,
    dataDir,
    ...(config === 'on' ? { flags: ['--auth'], env: { CAIRN_ADMIN_TOKEN: ADMIN_TOKEN } } : {}),
    ...(config === 'pre' ? { cliEntry: path.join(values.baseline!, 'packages/cli/bin/cairn.js') } : {}),
  });
  const token = config === 'on' ? await editorToken(server.url) : undefined;
  const api = `${server.url}/api/2.0/mlflow`;
  const experiment = (await postJson(
    `${api}/experiments/create`,
    JSON.stringify({ name: `gov-${config}` }),
    token,
  )) as { experiment_id: string };
  const runs: string[] = [];
  for (let i = 0; i < 8; i++) {
    const created = (await postJson(
      `${api}/runs/create`,
      JSON.stringify({ experiment_id: experiment.experiment_id, start_time: NOW }),
      token,
    )) as { run: { info: { run_id: string } } };
    runs.push(created.run.info.run_id);
  }
  return { config, server, token, runs, drop: db.drop };
}

/** Successful 1000-metric batches per second over SECONDS, 8 connections. */
async function ingest(target: Target, round: number): Promise<number> {
  let clients = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.token !== undefined) headers['authorization'] = `Bearer ${target.token}`;
  const result = await autocannon({
    url: target.server.url,
    connections: 8,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/api/2.0/mlflow/runs/log-batch',
        headers,
        setupRequest: (request, context: { client?: number; iteration?: number }) => {
          context.client ??= clients++ % 8;
          context.iteration = (context.iteration ?? 0) + 1;
          const offset = round * 1_000_000 + context.iteration;
          return { ...request, body: batchBody(target.runs[context.client]!, offset) };
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${target.config}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  }
  return result.requests.total / (result.duration || SECONDS);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function measure(dialect: BenchDialect): Promise<Record<string, number>> {
  const configs: Config[] = values.baseline === undefined ? ['off', 'on'] : ['pre', 'off', 'on'];
  const targets: Target[] = [];
  try {
    for (const config of configs) targets.push(await start(config, dialect));
    const rates = new Map<Config, number[]>(configs.map((c) => [c, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order each round so neither configuration always runs on a warmer machine.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const perSecond = await ingest(target, round);
        rates.get(target.config)!.push(perSecond * 1000);
        console.log(
          `[${dialect}] round ${round + 1} ${target.config}: ${Math.round(perSecond * 1000).toLocaleString()} points/s`,
        );
      }
    }
    const figures: Record<string, number> = {};
    for (const config of configs) figures[`log_batch_points_per_s_${config}`] = median(rates.get(config)!);
    figures['auth_audit_overhead_pct_vs_off'] =
      (1 - figures['log_batch_points_per_s_on']! / figures['log_batch_points_per_s_off']!) * 100;
    if (values.baseline !== undefined) {
      figures['audit_overhead_pct_off_vs_pre'] =
        (1 - figures['log_batch_points_per_s_off']! / figures['log_batch_points_per_s_pre']!) * 100;
      figures['auth_audit_overhead_pct_on_vs_pre'] =
        (1 - figures['log_batch_points_per_s_on']! / figures['log_batch_points_per_s_pre']!) * 100;
    }
    return figures;
  } finally {
    for (const target of targets) {
      await target.server.stop();
      await target.drop();
    }
  }
}

const results: Record<string, Record<string, number>> = {};
for (const dialect of dialectsFrom(values.dialect)) results[dialect] = await measure(dialect);
saveFigures('governance', results);
