import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO = fileURLToPath(new URL('..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `cairn server` from the built CLI as its own process, like a user would. */
export async function startCairn(options: {
  dbUrl?: string;
  dataDir?: string;
  env?: Record<string, string>;
  /** Extra `cairn server` flags, e.g. `--auth`. */
  flags?: string[];
  /** Another build's CLI entry (a baseline checkout), instead of this repository's. */
  cliEntry?: string;
}): Promise<ServerProcess> {
  const port = await freePort();
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'));
  const args = [
    options.cliEntry ?? path.join(REPO, 'packages/cli/bin/cairn.js'),
    'server',
    ...(options.flags ?? []),
    '--port',
    String(port),
    '--data-dir',
    dataDir,
  ];
  if (options.dbUrl !== undefined) args.push('--db-url', options.dbUrl);
  const child = spawn(process.execPath, args, {
    env: { ...process.env, CAIRN_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('server did not become ready in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function postJson(url: string, body: string, token?: string): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} → ${res.status}: ${text.slice(0, 300)}`);
  return text === '' ? {} : JSON.parse(text);
}

/** Runs `workers` loops for `seconds`; returns completed operations per second. */
export async function loadFor(options: {
  workers: number;
  seconds: number;
  op: (worker: number, iteration: number) => Promise<void>;
}): Promise<{ ops: number; perSecond: number; seconds: number }> {
  const end = performance.now() + options.seconds * 1000;
  const start = performance.now();
  let ops = 0;
  await Promise.all(
    Array.from({ length: options.workers }, async (_, worker) => {
      for (let i = 0; performance.now() < end; i++) {
        await options.op(worker, i);
        ops++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { ops, perSecond: ops / seconds, seconds };
}

export async function timeMany(
  times: number,
  op: () => Promise<void>,
): Promise<{ median: number; p95: number; min: number }> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await op();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return { median: at(0.5), p95: at(0.95), min: samples[0] ?? Number.NaN };
}

export const PG_URL = process.env['CAIRN_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh PostgreSQL schema for one bench, dropped by `drop()`. */
export async function pgSchemaUrl(
  name: string,
): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `bench_${name}_${Date.now().toString(36)}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    },
  };
}

export type BenchDialect = 'sqlite' | 'postgres';

/** `--dialect both|sqlite|postgres` as the list to measure. */
export function dialectsFrom(value: string | undefined): BenchDialect[] {
  return value === undefined || value === 'both' ? ['sqlite', 'postgres'] : [value as BenchDialect];
}

/** Writes the figures to bench/.work/<name>.json (machine-readable) and prints them. */
export function saveFigures(name: string, results: Record<string, Record<string, number>>): void {
  const out = path.join(REPO, 'bench/.work');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, `${name}.json`),
    JSON.stringify(
      { at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results },
      null,
      2,
    ),
  );
  console.log(JSON.stringify(results, null, 2));
}

/**
 * A 1000-metric MLflow `log-batch` body: ten keys, a hundred steps each,
 * steps offset per call so no two calls write the same point.
 */
export function logBatchBody(runId: string, offset: number, timestamp: number): string {
  const metrics: string[] = [];
  for (let i = 0; i < 1000; i++) {
    metrics.push(
      `{"key":"m${i % 10}","value":${Math.random()},"timestamp":${timestamp + offset},"step":${offset * 100 + Math.floor(i / 10)}}`,
    );
  }
  return `{"run_id":"${runId}","metrics":[${metrics.join(',')}],"params":[],"tags":[]}`;
}
