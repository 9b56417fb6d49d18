/**
 * Pipeline figures of issue #7 for the local executor, against a `cairn server`
 * child process (built CLI), each beside its baseline measured in the same run:
 * - overhead per step: a chain of 30 no-op steps (`: > {{outputs.o}}`, each
 *   taking the previous step's output as input), `noCache`, against the bare
 *   cost of the same command spawned 30 times from Node (target < 50 ms);
 *   also 30 independent no-op steps on the 2 slots;
 * - a fully cached re-run of a 20-step pipeline (a chain of 10 and a fan of
 *   10), over HTTP and through `cairn pipeline run FILE --json` (target < 1 s);
 * - `foreach` over 1,000 no-op items on 2 slots: total overhead against
 *   1,000 × the bare command / 2 (target < 30 s);
 * - `foreach` over 10,000 items: it must succeed; peak RSS of the server.
 * The queue executor's dispatch figure (< 25 ms to a warm worker) is measured
 * separately, by `bench/pipeline-queue.bench.ts`; see `queueDispatch` below.
 *
 *   node --import tsx bench/pipelines.bench.ts [--dialect sqlite|postgres|both] [--rounds 3]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dialectsFrom, pgSchemaUrl, REPO, saveFigures, startCairn, type ServerProcess } from './harness.js';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    rounds: { type: 'string', default: '3' },
    chain: { type: 'string', default: '30' },
    items: { type: 'string', default: '1000' },
    bigItems: { type: 'string', default: '10000' },
    pollMs: { type: 'string', default: '5' },
  },
});
const ROUNDS = Number(values.rounds);
const CHAIN = Number(values.chain);
const ITEMS = Number(values.items);
const BIG_ITEMS = Number(values.bigItems);
const POLL_MS = Number(values.pollMs);
const SLOTS = 2;
const CLI = path.join(REPO, 'packages/cli/bin/cairn.js');
const WORK = path.join(REPO, 'bench/.work/pipelines');
mkdirSync(WORK, { recursive: true });

/** A no-op step; the comment makes each pipeline's cache keys its own, so a first run is never a cache hit. */
const noop = (salt: string): string => `: > {{outputs.o}} # ${salt}`;
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

interface StepJson {
  name: string;
  step: string;
  status: string;
  startedAt: number | null;
  endedAt: number | null;
}
interface RunJson {
  id: string;
  status: string;
  error: string | null;
  createdAt: number;
  endedAt: number | null;
  steps: StepJson[];
}
type Definition = { name: string; params?: Record<string, unknown>; steps: Record<string, unknown> };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The floor under a no-op step: `/bin/sh -c ': > FILE'` spawned from Node and waited for, one after another. */
async function bareCommands(n: number): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-bare-'));
  const samples: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', `: > ${path.join(dir, `o${i}`)}`], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sh exited ${code}`))));
      });
      samples.push(performance.now() - t);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return samples;
}

/** GET `route` under /api/v1, or POST `body` to it. */
async function api<T>(url: string, route: string, body?: unknown): Promise<T> {
  const method = body === undefined ? 'GET' : 'POST';
  const res = await fetch(`${url}/api/v1${route}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

interface Timed {
  run: RunJson;
  /** POST sent → the poll that first saw the run ended, ms. */
  polledMs: number;
  /** POST sent → the run's own `endedAt` (same machine clock), ms. */
  stampedMs: number;
}

/**
 * Starts a run and follows it to its end. `pollMs` > 0 polls the detail at that
 * interval; otherwise the cheap list route is polled every 250 ms (a detail of
 * 10,000 step runs costs the server more than the steps it reports on) and the
 * detail is read once at the end.
 */
async function timedRun(
  url: string,
  start: { definition: Definition; params?: Record<string, unknown>; noCache?: boolean },
  pollMs: number,
): Promise<Timed> {
  const postedAt = Date.now();
  const t0 = performance.now();
  const { run: started } = await api<{ run: RunJson }>(url, '/pipeline-runs', start);
  let run = started;
  for (;;) {
    if (pollMs > 0) {
      run = (await api<{ run: RunJson }>(url, `/pipeline-runs/${started.id}`)).run;
      if (ENDED.has(run.status)) break;
      await sleep(pollMs);
    } else {
      const page = await api<{ runs: Array<{ id: string; status: string }> }>(
        url,
        `/pipeline-runs?pipeline=${encodeURIComponent(start.definition.name)}&max_results=5`,
      );
      if (ENDED.has(page.runs.find((r) => r.id === started.id)?.status ?? '')) {
        run = (await api<{ run: RunJson }>(url, `/pipeline-runs/${started.id}`)).run;
        break;
      }
      await sleep(250);
    }
  }
  const polledMs = performance.now() - t0;
  if (run.status !== 'succeeded') throw new Error(`run ${run.id} ${run.status}: ${run.error}`);
  return { run, polledMs, stampedMs: (run.endedAt ?? Number.NaN) - postedAt };
}

function chainDefinition(name: string, n: number): Definition {
  const steps: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const id = `s${String(i).padStart(2, '0')}`;
    const previous = `s${String(i - 1).padStart(2, '0')}`;
    steps[id] = {
      run: noop(`${name}/${id}`),
      outputs: ['o'],
      ...(i === 0 ? {} : { inputs: { i: `steps.${previous}.outputs.o` } }),
    };
  }
  return { name, steps };
}

function fanDefinition(name: string, n: number): Definition {
  const steps: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const id = `f${String(i).padStart(2, '0')}`;
    steps[id] = { run: noop(`${name}/${id}`), outputs: ['o'] };
  }
  return { name, steps };
}

/** Ten chained steps and ten independent ones, each writing its own output. */
function mixedDefinition(name: string): Definition {
  const chain = chainDefinition(name, 10).steps;
  const fan = fanDefinition(name, 10).steps;
  return { name, steps: { ...chain, ...fan } };
}

function foreachDefinition(name: string): Definition {
  return {
    name,
    params: { items: [] },
    steps: {
      each: { run: noop(name), foreach: 'params.items', outputs: ['o'] },
      join: {
        run: 'ls {{inputs.all}} | wc -l > {{outputs.n}}',
        inputs: { all: 'steps.each.outputs.o' },
        outputs: ['n'],
      },
    },
  };
}

/** Just enough YAML for these definitions: maps, lists and scalars (strings double-quoted). */
function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    return value.map((v) => `\n${indent}-${toYaml(v, `${indent}  `)}`).join('');
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return ' {}';
    return entries.map(([k, v]) => `\n${indent}${k}:${toYaml(v, `${indent}  `)}`).join('');
  }
  return ` ${JSON.stringify(value)}`;
}

/** Chain step k+1 started after step k ended: the scheduler's hand-over, and each step's own span. */
function chainTimings(run: RunJson): { gapMs: number; stepMs: number } {
  const rows = [...run.steps].sort((a, b) => a.step.localeCompare(b.step));
  const gaps: number[] = [];
  const spans: number[] = [];
  rows.forEach((row, k) => {
    spans.push((row.endedAt ?? 0) - (row.startedAt ?? 0));
    const next = rows[k + 1];
    if (next !== undefined) gaps.push((next.startedAt ?? 0) - (row.endedAt ?? 0));
  });
  return { gapMs: median(gaps), stepMs: median(spans) };
}

interface CliSummary {
  status: string;
  steps: Array<{ name: string; cached: boolean }>;
}

function cliRun(url: string, file: string): { ms: number; out: CliSummary } {
  const t = performance.now();
  const text = execFileSync(process.execPath, [CLI, 'pipeline', 'run', file, '--json'], {
    env: { ...process.env, CAIRN_URL: url },
    encoding: 'utf8',
  });
  return { ms: performance.now() - t, out: JSON.parse(text) as CliSummary };
}

function cliStartup(): number {
  const t = performance.now();
  execFileSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
  return performance.now() - t;
}

/** VmRSS and VmHWM of a process, in MiB. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

/**
 * The queue executor's figure of issue #7 (< 25 ms from dispatch to a warm
 * `cairn worker`) is measured separately, by `bench/pipeline-queue.bench.ts`
 * (it needs Redis and a worker process); this bench only names it in its table.
 */
function queueDispatch(): { figure: string; measuredBy: string } {
  return {
    figure: 'queue dispatch to a warm worker < 25 ms',
    measuredBy: 'bench/pipeline-queue.bench.ts',
  };
}

let serial = 0;
const unique = (label: string): string => `bench-${label}-${Date.now().toString(36)}-${serial++}`;

async function withServer<T>(dialect: string, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const pg = dialect === 'postgres' ? await pgSchemaUrl('pipelines') : undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-pipelines-'));
  const server = await startCairn({
    dataDir,
    env: { CAIRN_PIPELINE_SLOTS: String(SLOTS) },
    ...(pg ? { dbUrl: pg.url } : {}),
  });
  try {
    return await work(server);
  } finally {
    await server.stop();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The median round (by `key`) of `rounds` runs of `op`. */
async function medianRound<T extends Record<string, number>>(
  rounds: number,
  key: keyof T,
  op: () => Promise<T>,
): Promise<T> {
  const all: T[] = [];
  for (let i = 0; i < rounds; i++) all.push(await op());
  all.sort((a, b) => (a[key] as number) - (b[key] as number));
  return all[Math.floor(all.length / 2)] as T;
}

/**
 * Polls of the run's detail while the chain runs. Not finer: the detail is
 * rebuilt for every poll, and at 5 ms the poller itself costs the server
 * ~10–20 ms per step of a 30-step chain on this machine (printed as a figure
 * of its own); the wall time is taken from the run's own `endedAt` anyway.
 */
const CHAIN_POLL_MS = 250;

async function chainRound(url: string, pollMs: number) {
  const bare = await bareCommands(CHAIN);
  const { run, polledMs, stampedMs } = await timedRun(
    url,
    { definition: chainDefinition(unique('chain'), CHAIN), noCache: true },
    pollMs,
  );
  const timings = chainTimings(run);
  return {
    wallMs: stampedMs,
    polledMs,
    bareSumMs: sum(bare),
    overheadMs: (stampedMs - sum(bare)) / CHAIN,
    gapMs: timings.gapMs,
    stepMs: timings.stepMs,
  };
}

async function stepFigures(url: string, figures: Record<string, number>): Promise<void> {
  // Warm-up: first spawns, JIT, prepared statements.
  await timedRun(url, { definition: chainDefinition(unique('warm'), 5), noCache: true }, CHAIN_POLL_MS);
  const chain = await medianRound(ROUNDS, 'overheadMs', () => chainRound(url, CHAIN_POLL_MS));
  Object.assign(figures, {
    chain_wall_ms: chain.wallMs,
    chain_bare_sum_ms: chain.bareSumMs,
    bare_command_ms: chain.bareSumMs / CHAIN,
    chain_overhead_per_step_ms: chain.overheadMs,
    chain_wall_over_bare: chain.wallMs / chain.bareSumMs,
    chain_median_gap_ms: chain.gapMs,
    chain_median_step_span_ms: chain.stepMs,
  });
  // The same chain while a client polls its detail every POLL_MS (5 ms).
  const polled = await chainRound(url, POLL_MS);
  figures['chain_overhead_per_step_5ms_poller_ms'] = polled.overheadMs;
  const fan = await medianRound(ROUNDS, 'overheadMs', async () => {
    const bare = await bareCommands(CHAIN);
    const { stampedMs } = await timedRun(
      url,
      { definition: fanDefinition(unique('fan'), CHAIN), noCache: true },
      CHAIN_POLL_MS,
    );
    // Per slot: CHAIN / SLOTS steps one after another.
    return { wallMs: stampedMs, overheadMs: (stampedMs * SLOTS - sum(bare)) / CHAIN };
  });
  figures['fan_wall_ms'] = fan.wallMs;
  figures['fan_overhead_per_step_ms'] = fan.overheadMs;
}

/** Re-runs `definition` (already run once) and checks every step was taken from the cache. */
async function cachedRerun(url: string, definition: Definition): Promise<Timed> {
  const timed = await timedRun(url, { definition }, POLL_MS);
  const notCached = timed.run.steps.filter((s) => s.status !== 'cached').map((s) => s.name);
  if (notCached.length > 0) throw new Error(`not cached on the re-run: ${notCached.join(', ')}`);
  return timed;
}

async function cachedFigures(url: string, figures: Record<string, number>): Promise<void> {
  const definition = mixedDefinition(unique('cached20'));
  const cold = await timedRun(url, { definition }, POLL_MS);
  figures['cached20_cold_ms'] = cold.stampedMs;
  const reruns: Timed[] = [];
  for (let i = 0; i < Math.max(ROUNDS, 5); i++) reruns.push(await cachedRerun(url, definition));
  reruns.sort((a, b) => a.polledMs - b.polledMs);
  const middle = reruns[Math.floor(reruns.length / 2)] as Timed;
  figures['cached20_rerun_polled_ms'] = middle.polledMs;
  figures['cached20_rerun_stamped_ms'] = middle.stampedMs;
  // Where the time goes: consecutive steps of the cached chain end this far apart.
  const chainEnds = middle.run.steps
    .filter((s) => s.step.startsWith('s'))
    .map((s) => s.endedAt ?? 0)
    .sort((a, b) => a - b);
  figures['cached20_chain_step_interval_ms'] = median(chainEnds.slice(1).map((t, k) => t - chainEnds[k]!));
  // The same number of cached steps with no dependencies between them.
  const flat = fanDefinition(unique('cached20fan'), 20);
  await timedRun(url, { definition: flat }, POLL_MS);
  const flatTimes: number[] = [];
  for (let i = 0; i < Math.max(ROUNDS, 5); i++) flatTimes.push((await cachedRerun(url, flat)).polledMs);
  figures['cached20_fan_rerun_polled_ms'] = median(flatTimes);

  const dir = path.join(WORK, unique('cli'));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'pipeline.yaml');
  writeFileSync(file, `${toYaml(definition).trimStart()}\n`);
  figures['cli_startup_ms'] = median(Array.from({ length: ROUNDS }, cliStartup));
  const cli: number[] = [];
  for (let i = 0; i < Math.max(ROUNDS, 5); i++) {
    const { ms, out } = cliRun(url, file);
    if (out.status !== 'succeeded' || out.steps.some((step) => !step.cached)) {
      throw new Error(`cairn pipeline run: not all cached: ${JSON.stringify(out)}`);
    }
    cli.push(ms);
  }
  figures['cached20_cli_ms'] = median(cli);
  rmSync(dir, { recursive: true, force: true });
}

async function foreachFigures(url: string, items: number, figures: Record<string, number>): Promise<void> {
  const bare = await bareCommands(CHAIN);
  const bareMean = sum(bare) / bare.length;
  const { run, stampedMs } = await timedRun(
    url,
    {
      definition: foreachDefinition(unique(`foreach${items}`)),
      params: { items: Array.from({ length: items }, (_, i) => i) },
      noCache: true,
    },
    0,
  );
  const joined = await fetch(`${url}/api/v1/pipeline-runs/${run.id}/outputs/join/n`);
  const count = Number((await joined.text()).trim());
  if (count !== items) throw new Error(`the join saw ${count} items, not ${items}`);
  const k = `foreach${items}`;
  figures[`${k}_wall_s`] = stampedMs / 1000;
  figures[`${k}_items_per_s`] = items / (stampedMs / 1000);
  figures[`${k}_bare_s`] = (items * bareMean) / SLOTS / 1000;
  figures[`${k}_overhead_s`] = (stampedMs - (items * bareMean) / SLOTS) / 1000;
  const expanded = run.steps.filter((s) => s.step === 'each' && s.startedAt !== null);
  const firstItem = Math.min(...expanded.map((s) => s.startedAt as number));
  figures[`${k}_to_first_item_ms`] = firstItem - run.createdAt;
}

async function bigForeachFigures(server: ServerProcess, figures: Record<string, number>): Promise<void> {
  const pid = server.child.pid as number;
  figures['idle_rss_mib'] = memoryOf(pid).rss;
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid).rss);
  }, 200);
  try {
    await foreachFigures(server.url, BIG_ITEMS, figures);
  } finally {
    clearInterval(sampler);
  }
  const memory = memoryOf(pid);
  figures[`foreach${BIG_ITEMS}_peak_rss_mib`] = Math.max(peak, memory.rss);
  figures[`foreach${BIG_ITEMS}_vmhwm_mib`] = memory.hwm;
  figures[`foreach${BIG_ITEMS}_succeeded`] = 1;
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function printTable(dialect: string, f: Record<string, number>): void {
  const big = `foreach${BIG_ITEMS}`;
  const small = `foreach${ITEMS}`;
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'SHORT');
  const rows: Array<[string, string, string, string]> = [
    [
      `overhead per no-op step, chain of ${CHAIN}`,
      '< 50 ms',
      `${fmt(f['chain_overhead_per_step_ms'], 1)} ms (wall ${fmt(f['chain_wall_ms'])} ms vs bare Σ ${fmt(f['chain_bare_sum_ms'])} ms = ${fmt(f['chain_wall_over_bare'], 1)}×; median gap ${fmt(f['chain_median_gap_ms'])} ms, step span ${fmt(f['chain_median_step_span_ms'])} ms)`,
      verdict((f['chain_overhead_per_step_ms'] ?? Infinity) < 50),
    ],
    [
      `… ${CHAIN} independent steps on ${SLOTS} slots`,
      '—',
      `${fmt(f['fan_overhead_per_step_ms'], 1)} ms per step per slot (wall ${fmt(f['fan_wall_ms'])} ms)`,
      '',
    ],
    [
      'cached re-run, 20 steps, HTTP (5 ms polls)',
      '< 1 s',
      `${fmt(f['cached20_rerun_polled_ms'])} ms (stamped ${fmt(f['cached20_rerun_stamped_ms'])} ms; cold ${fmt(f['cached20_cold_ms'])} ms)`,
      verdict((f['cached20_rerun_polled_ms'] ?? Infinity) < 1000),
    ],
    [
      '… through `cairn pipeline run FILE --json`',
      '—',
      `${fmt(f['cached20_cli_ms'])} ms (CLI start-up alone ${fmt(f['cli_startup_ms'])} ms)`,
      '',
    ],
    [
      `foreach ${fmt(ITEMS)} no-op items, ${SLOTS} slots: total overhead`,
      '< 30 s',
      `${fmt(f[`${small}_overhead_s`], 1)} s (wall ${fmt(f[`${small}_wall_s`], 1)} s vs bare ${fmt(f[`${small}_bare_s`], 1)} s; ${fmt(f[`${small}_items_per_s`], 1)} items/s)`,
      verdict((f[`${small}_overhead_s`] ?? Infinity) < 30),
    ],
    [
      `foreach ${fmt(BIG_ITEMS)} items: succeeds, peak RSS`,
      'no OOM',
      `succeeded in ${fmt(f[`${big}_wall_s`], 1)} s (${fmt(f[`${big}_items_per_s`], 1)} items/s); peak RSS ${fmt(f[`${big}_peak_rss_mib`])} MiB (idle ${fmt(f['idle_rss_mib'])} MiB)`,
      verdict(f[`${big}_succeeded`] === 1),
    ],
    ['queue executor dispatch to a warm worker', '< 25 ms', `measured by ${queueDispatch().measuredBy}`, ''],
  ];
  console.log(`\n${dialect}`);
  const width = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(width[i] ?? 0)).join(' │ '));
}

const results: Record<string, Record<string, number>> = {};
console.log(`load average at start: ${os.loadavg().join(' ')}`);
console.log(`not measured here: ${queueDispatch().figure} (${queueDispatch().measuredBy})`);
for (const dialect of dialectsFrom(values.dialect)) {
  const figures: Record<string, number> = { load_average_1m_start: os.loadavg()[0] ?? Number.NaN };
  await withServer(dialect, async (server) => {
    await stepFigures(server.url, figures);
    console.log(`${dialect} steps:`, JSON.stringify(figures));
    await cachedFigures(server.url, figures);
    console.log(`${dialect} cached:`, JSON.stringify(figures));
    await foreachFigures(server.url, ITEMS, figures);
    console.log(`${dialect} foreach ${ITEMS}:`, JSON.stringify(figures));
  });
  // A fresh server, so its peak RSS is this run's alone.
  await withServer(dialect, async (server) => bigForeachFigures(server, figures));
  console.log(`${dialect} foreach ${BIG_ITEMS}:`, JSON.stringify(figures));
  figures['load_average_1m_end'] = os.loadavg()[0] ?? Number.NaN;
  results[dialect] = figures;
}
saveFigures('pipelines', results);
for (const [dialect, figures] of Object.entries(results)) printTable(dialect, figures);
