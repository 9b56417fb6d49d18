import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabaseUrl,
  isPostgresReachable,
  type TestDatabaseUrl,
  type TestDialect,
} from '../packages/server/src/testing/test-databases.js';
import {
  REPO,
  envWithout,
  runCairn,
  startCairnServer,
  until,
  explain,
  type CairnResult,
  type CairnServer,
} from './helpers.js';

// `cairn pipeline …` as a user types it: the built CLI against `cairn server`
// on SQLite (its default data dir) and on PostgreSQL, with pipeline files in
// temp folders. Steps are real processes: shell, awk, python3. Needs
// `npm run build`.

const FIXTURES = path.join(REPO, 'e2e/fixtures/pipelines');
const DIALECTS: TestDialect[] = ['sqlite', 'postgres'];
/** Throws when CAIRN_REQUIRE_PG is set and PostgreSQL is unreachable; false (skip) otherwise. */
const PG = await isPostgresReachable();
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
const execFileAsync = promisify(execFile);

let tokens = 0;
/** Digits no other process's command line holds: a marker for `pgrep -f`, and a valid `sleep` fraction. */
const token = (): string => `${process.pid}${Date.now() % 1_000_000}${tokens++}`;

/** Pids of live processes whose command line holds `pattern`. */
async function processesMatching(pattern: string): Promise<number[]> {
  try {
    const { stdout } = await execFileAsync('pgrep', ['-f', pattern]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch (error) {
    if ((error as { code?: unknown }).code === 1) return [];
    throw error;
  }
}

/** Ends what a failed test may have left behind, by pid. */
async function killMatching(pattern: string): Promise<void> {
  for (const pid of await processesMatching(pattern)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** `{ name: cached }` of a `--json` summary or a run's steps. */
const cachedByName = (steps: ReadonlyArray<{ name: string; cached: boolean }>) =>
  Object.fromEntries(steps.map((s) => [s.name, s.cached]));
const stepOf = (run: { steps: any[] }, name: string): any => run.steps.find((s) => s.name === name);

/** The CLI as a user runs it: CAIRN_URL set, in a folder of their own. */
function cliFor(url: () => string) {
  const cairn = (args: readonly string[], cwd: string): Promise<CairnResult> =>
    runCairn(args, {
      cwd,
      env: envWithout(['CAIRN_URL', 'CAIRN_TOKEN'], { CAIRN_URL: url() }),
      timeoutMs: 60_000,
    });
  const ok = async (args: readonly string[], cwd: string): Promise<string> => {
    const result = await cairn(args, cwd);
    expect(result.code, explain(args, result)).toBe(0);
    return result.stdout;
  };
  const json = async (args: readonly string[], cwd: string): Promise<any> => {
    const stdout = await ok(args, cwd);
    try {
      return JSON.parse(stdout);
    } catch {
      throw new Error(`cairn ${args.join(' ')} printed no JSON:\n${stdout}`);
    }
  };
  /** The run as the API has it now (cheaper than a CLI process per poll). */
  const get = async (run: string): Promise<any> => {
    const response = await fetch(`${url()}/api/v1/pipeline-runs/${run}`);
    return ((await response.json()) as { run: any }).run;
  };
  /** A file output's text, straight from the API. */
  const output = async (run: string, step: string, name: string): Promise<string> => {
    const response = await fetch(`${url()}/api/v1/pipeline-runs/${run}/outputs/${step}/${name}`);
    expect(response.status, `output ${step}.${name} of ${run}`).toBe(200);
    return response.text();
  };
  const ended = (run: string, timeoutMs = 30_000) =>
    until(
      `run ${run} ends`,
      async () => {
        const detail = await get(run);
        return ENDED.has(detail.status) ? detail : undefined;
      },
      timeoutMs,
    );
  return { cairn, ok, json, get, output, ended };
}

async function startServer(dialect: TestDialect, dataDir: string, database?: TestDatabaseUrl) {
  return startCairnServer({
    dataDir,
    env: envWithout(['CAIRN_URL', 'CAIRN_TOKEN', 'CAIRN_DB_URL', 'CAIRN_BLOB_URL', 'CAIRN_QUEUE_URL']),
    args: dialect === 'postgres' && database !== undefined ? ['--db-url', database.url] : [],
  });
}

// Every suite runs beside the others (each has its own server and database); a suite's tests run in order.
for (const dialect of DIALECTS) {
  const suite = `cairn pipeline against cairn server [${dialect}]`;
  describe.skipIf(dialect === 'postgres' && !PG)(suite, { concurrent: true, timeout: 90_000 }, () => {
    let server: CairnServer | undefined;
    let database: TestDatabaseUrl | undefined;
    const folders: string[] = [];
    const markers: string[] = [];
    const { cairn, ok, json, get, output, ended } = cliFor(() => server!.url);
    const folder = (name: string): string => {
      const dir = mkdtempSync(path.join(os.tmpdir(), `cairn-e2e-pipe-${name}-`));
      folders.push(dir);
      return dir;
    };
    const runIds = async (cwd: string): Promise<string[]> =>
      (await json(['pipeline', 'runs', 'ls', '--limit', '1000', '--json'], cwd)).runs.map((r: any) => r.id);

    beforeAll(async () => {
      // SQLite: the server's default database in its data dir; PostgreSQL: a fresh schema.
      database = dialect === 'postgres' ? await createTestDatabaseUrl('postgres') : undefined;
      server = await startServer(dialect, folder('data'), database);
    });
    afterAll(async () => {
      await server?.stop();
      await database?.drop();
      for (const marker of markers) await killMatching(marker);
      for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    });

    it.sequential(
      'runs the demo: a summary as JSON, its output, every step cached on a re-run, a changed param re-runs what it reaches',
      async ({ expect }) => {
        const dir = folder('demo');
        const out = folder('demo-out');
        cpSync(path.join(FIXTURES, 'demo/demo.yaml'), path.join(dir, 'demo.yaml'));

        const first = await json(['pipeline', 'run', 'demo.yaml', '--json'], dir);
        expect(Object.keys(first).sort()).toEqual(['run', 'status', 'steps']);
        expect(first.run).toMatch(/^pr_[0-9a-z]{8,64}$/);
        expect(first.status, JSON.stringify(first)).toBe('succeeded');
        expect(first.steps.map((s: any) => Object.keys(s).sort())).toEqual(
          Array.from({ length: 3 }, () => ['cached', 'name', 'status']),
        );
        expect(first.steps.map((s: any) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
        expect(cachedByName(first.steps)).toEqual({ make: false, scale: false, total: false });

        // Written outside the pipeline's folder: that folder is the steps' code, and a new file in it is a code change.
        const sumFile = path.join(out, 'sum.txt');
        expect(await ok(['pipeline', 'output', first.run, 'total.sum', '-o', sumFile], dir)).toMatch(/Wrote/);
        expect(readFileSync(sumFile, 'utf8').trim()).toBe('15150');

        const again = await json(['pipeline', 'run', 'demo.yaml', '--json'], dir);
        expect(again.status).toBe('succeeded');
        expect(again.run).not.toBe(first.run);
        expect(cachedByName(again.steps)).toEqual({ make: true, scale: true, total: true });
        expect(await output(again.run, 'total', 'sum')).toBe('15150\n');

        const five = await json(['pipeline', 'run', 'demo.yaml', '--param', 'factor=5', '--json'], dir);
        expect(five.status).toBe('succeeded');
        expect(cachedByName(five.steps)).toEqual({ make: true, scale: false, total: false });
        expect(await ok(['pipeline', 'output', five.run, 'total.sum'], dir)).toBe('25250\n');

        const fresh = await json(['pipeline', 'run', 'demo.yaml', '--no-cache', '--json'], dir);
        expect(fresh.status).toBe('succeeded');
        expect(cachedByName(fresh.steps)).toEqual({ make: false, scale: false, total: false });

        const shown = await json(['pipeline', 'runs', 'show', first.run, '--json'], dir);
        expect(shown).toMatchObject({
          id: first.run,
          pipeline: 'demo',
          status: 'succeeded',
          params: { factor: 3 },
        });
        expect(shown.counts).toEqual({ succeeded: 3 });
        const listed = (await json(['pipeline', 'runs', 'ls', '--json'], dir)).runs;
        expect(listed.map((r: any) => r.id).slice(0, 4)).toEqual([fresh.run, five.run, again.run, first.run]);
        // What `runs ls` shows in its STEPS and CACHED columns.
        const countsOf = (id: string) => listed.find((r: any) => r.id === id).counts;
        expect(countsOf(first.run), 'runs ls --json: counts of the first run').toEqual({ succeeded: 3 });
        expect(countsOf(again.run), 'runs ls --json: counts of the second run').toEqual({ cached: 3 });
        expect(countsOf(five.run)).toEqual({ cached: 1, succeeded: 2 });
      },
    );

    it.sequential(
      'fails on a failing step, naming it with its stderr, and resumes it once fixed, keeping the finished step',
      async ({ expect }) => {
        const dir = folder('failing');
        const marker = path.join(folder('marker'), 'ready');
        const tok = token();
        writeFileSync(
          path.join(dir, 'bad.yaml'),
          [
            `name: flaky-${tok}`,
            'steps:',
            '  first:',
            `    run: echo ${tok} > {{outputs.out}}`,
            '    outputs: [out]',
            '  check:',
            `    run: 'test -f ${marker} || { echo "loading rows" >&2; echo "no marker file, giving up" >&2; exit 4; }; cp {{inputs.x}} {{outputs.y}}'`,
            '    inputs: { x: steps.first.outputs.out }',
            '    outputs: [y]',
            '  last:',
            '    run: cat {{inputs.y}} > {{outputs.z}}',
            '    inputs: { y: steps.check.outputs.y }',
            '    outputs: [z]',
            '',
          ].join('\n'),
        );

        const plain = await cairn(['pipeline', 'run', 'bad.yaml'], dir);
        expect(plain.code, explain(['pipeline', 'run', 'bad.yaml'], plain)).toBe(1);
        expect(plain.stdout).toMatch(/Run pr_\w+ of flaky-\d+ failed/);
        expect(plain.stderr).toMatch(/Step check failed \(exit code 4\)/);
        expect(plain.stderr).toMatch(/loading rows\n\s*no marker file, giving up/);
        const run = /Run (pr_[0-9a-z]+)/.exec(plain.stdout)?.[1] as string;

        const asJson = await cairn(['pipeline', 'run', 'bad.yaml', '--json'], dir);
        expect(asJson.code, explain(['pipeline', 'run', 'bad.yaml', '--json'], asJson)).toBe(1);
        const summary = JSON.parse(asJson.stdout);
        expect(summary.status).toBe('failed');
        expect(Object.fromEntries(summary.steps.map((s: any) => [s.name, s.status]))).toEqual({
          first: 'cached',
          check: 'failed',
          last: 'skipped',
        });

        const failed = await json(['pipeline', 'runs', 'show', run, '--json'], dir);
        expect(failed.status).toBe('failed');
        expect(stepOf(failed, 'check')).toMatchObject({ status: 'failed', exitCode: 4 });
        expect(stepOf(failed, 'check').stderrTail).toMatch(/loading rows\nno marker file, giving up/);
        expect(stepOf(failed, 'last').status).toBe('skipped');
        const firstBefore = stepOf(failed, 'first');
        expect(firstBefore).toMatchObject({ status: 'succeeded', cached: false, attempt: 1 });
        expect(await ok(['pipeline', 'runs', 'logs', run, 'check', '--stderr'], dir)).toBe(
          'loading rows\nno marker file, giving up\n',
        );

        writeFileSync(marker, 'go');
        const resumed = await json(['pipeline', 'runs', 'resume', run, '--json'], dir);
        expect(resumed.run).toBe(run);
        expect(resumed.status, JSON.stringify(resumed)).toBe('succeeded');
        const done = await json(['pipeline', 'runs', 'show', run, '--json'], dir);
        expect(Object.fromEntries(done.steps.map((s: any) => [s.name, s.status]))).toEqual({
          first: 'succeeded',
          check: 'succeeded',
          last: 'succeeded',
        });
        expect(stepOf(done, 'first')).toMatchObject({ runId: firstBefore.runId, attempt: 1 });
        expect(await output(run, 'last', 'z')).toBe(`${tok}\n`);
      },
    );

    // What does not depend on the database is checked once, on SQLite: the scheduler's pace, the CLI's validation.
    if (dialect === 'sqlite') {
      it.sequential(
        'ends a run whose every step is cached at once, not one scheduler poll (1 s) per step',
        async ({ expect }) => {
          const dir = folder('chain');
          const tok = token();
          const steps = ['s1', 's2', 's3', 's4', 's5'];
          writeFileSync(
            path.join(dir, 'chain.yaml'),
            [
              `name: chain-${tok}`,
              'steps:',
              ...steps.flatMap((name, i) => [
                `  ${name}:`,
                i === 0
                  ? `    run: echo ${tok} > {{outputs.out}}`
                  : `    run: cat {{inputs.prev}} > {{outputs.out}}; echo ${name} >> {{outputs.out}}`,
                ...(i === 0 ? [] : [`    inputs: { prev: steps.${steps[i - 1]}.outputs.out }`]),
                '    outputs: [out]',
              ]),
              '',
            ].join('\n'),
          );
          const took = async (run: string): Promise<number> => {
            const detail = await get(run);
            return detail.endedAt - detail.createdAt;
          };
          const first = await json(['pipeline', 'run', 'chain.yaml', '--json'], dir);
          expect(first.status, JSON.stringify(first)).toBe('succeeded');
          const ran = await took(first.run);
          const again = await json(['pipeline', 'run', 'chain.yaml', '--json'], dir);
          expect(
            again.steps.every((s: any) => s.cached),
            JSON.stringify(again),
          ).toBe(true);
          const reused = await took(again.run);
          expect(reused, `all 5 steps cached: ${reused} ms; all 5 run: ${ran} ms`).toBeLessThan(1_500);
        },
      );

      // The CLI validates before it talks to the server.
      it.sequential(
        'refuses a bad pipeline file before anything runs, naming the step and field (or line:column)',
        async ({ expect }) => {
          const dir = folder('invalid');
          cpSync(path.join(FIXTURES, 'invalid'), dir, { recursive: true });
          const syntax = ['name: broken', 'steps:', '  a:', '    run: echo hi', '   outputs: [o', ''];
          writeFileSync(path.join(dir, 'syntax.yaml'), syntax.join('\n'));
          cpSync(path.join(FIXTURES, 'demo/demo.yaml'), path.join(dir, 'demo.yaml'));
          const before = await runIds(dir);

          const cases: Array<[string[], RegExp]> = [
            [['cycle.yaml'], /cycle\.yaml is not a valid pipeline[\s\S]*steps: cycle: a → b → a/],
            [['unknown-input.yaml', '--json'], /step "b" › inputs\.i: unknown step "nosuch"/],
            [['missing-output.yaml'], /step "b" › inputs\.i: steps\.a has no output "p"/],
            [['syntax.yaml', '--json'], /syntax\.yaml:5:\d+: YAML syntax error/],
          ];
          for (const [given, message] of cases) {
            const args = ['pipeline', 'run', ...given];
            const result = await cairn(args, dir);
            expect(result.code, explain(args, result)).toBe(3);
            expect(result.stderr, explain(args, result)).toMatch(message);
            expect(result.stdout, explain(args, result)).toBe('');
          }

          const unknownParam = ['pipeline', 'run', 'demo.yaml', '--param', 'speed=2', '--json'];
          const refused = await cairn(unknownParam, dir);
          expect(refused.code, explain(unknownParam, refused)).toBe(3);
          expect(refused.stderr).toMatch(/--param speed: the pipeline demo declares no parameter "speed"/);
          const noValue = ['pipeline', 'run', 'demo.yaml', '--param', 'factor'];
          const usage = await cairn(noValue, dir);
          expect(usage.code, explain(noValue, usage)).toBe(2);
          expect(usage.stderr).toMatch(/expected NAME=VALUE/);
          expect(await runIds(dir)).toEqual(before);

          expect(await ok(['pipeline', 'validate', 'demo.yaml'], dir)).toMatch(
            /^ok: 3 steps \(order: make → scale → total\)/,
          );
          expect(await json(['pipeline', 'validate', 'demo.yaml', '--json'], dir)).toEqual({
            valid: true,
            problems: [],
            steps: ['make', 'scale', 'total'],
          });
          const bad = await cairn(['pipeline', 'validate', 'unknown-input.yaml'], dir);
          expect(bad.code, explain(['pipeline', 'validate', 'unknown-input.yaml'], bad)).toBe(3);
          expect(bad.stdout).toMatch(
            /unknown-input\.yaml: 1 problem\n\s+step "b" › inputs\.i: unknown step "nosuch"/,
          );
          const badJson = await cairn(['pipeline', 'validate', 'unknown-input.yaml', '--json'], dir);
          expect(badJson.code).toBe(3);
          expect(JSON.parse(badJson.stdout)).toEqual({
            valid: false,
            problems: [
              { step: 'b', field: 'inputs.i', message: expect.stringMatching(/unknown step "nosuch"/) },
            ],
            steps: [],
          });
          const badYaml = await cairn(['pipeline', 'validate', 'syntax.yaml', '--json'], dir);
          expect(badYaml.code).toBe(3);
          expect(JSON.parse(badYaml.stdout).problems[0].message).toMatch(
            /^syntax\.yaml:5:\d+: YAML syntax error/,
          );
        },
      );
    }

    it.sequential(
      'runs a Python step in its uploaded code folder: metrics and logs land on its tracking run; only its own code re-runs it',
      async ({ expect }) => {
        const dir = folder('train');
        cpSync(path.join(FIXTURES, 'train'), dir, { recursive: true });

        const first = await json(['pipeline', 'run', 'pipeline.yaml', '--json'], dir);
        expect(first.status, JSON.stringify(first)).toBe('succeeded');
        expect(cachedByName(first.steps)).toEqual({ rows: false, fit: false });
        const shown = await json(['pipeline', 'runs', 'show', first.run, '--json'], dir);
        expect(shown.codeDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
        const fit = stepOf(shown, 'fit');
        expect(fit.runId).toEqual(expect.any(String));

        // The step ran `python3 train.py` from the uploaded folder (the pipeline file itself is not part of it).
        const stdout = await ok(['pipeline', 'runs', 'logs', first.run, 'fit'], dir);
        expect(stdout).toBe('code folder: NOTES.md train.py\ntraining on 10 rows\n');
        expect(await output(first.run, 'fit', 'model')).toBe('model of 10 rows\n');

        const tracked = await json(['runs', 'show', fit.runId, '--json'], dir);
        expect(tracked.info.status).toBe('FINISHED');
        expect(tracked.data.metrics).toEqual([expect.objectContaining({ key: 'loss', value: 0.25 })]);
        expect(tracked.data.tags).toMatchObject({
          'cairn.pipeline.run': first.run,
          'cairn.pipeline.step': 'fit',
        });
        const api = `${server!.url}/api/v1/runs/${fit.runId}`;
        const logs = (await (await fetch(`${api}/artifacts?path=logs`)).json()) as { files: any[] };
        expect(logs.files.map((f) => f.path).sort()).toEqual(['logs/stderr.txt', 'logs/stdout.txt']);
        expect(await (await fetch(`${api}/artifacts/logs/stdout.txt`)).text()).toBe(stdout);
        expect(await (await fetch(`${api}/artifacts/logs/stderr.txt`)).text()).toBe(
          'train.py: a warning for stderr\n',
        );

        // `code: [train.py]`: a file the step does not list is not its code.
        appendFileSync(path.join(dir, 'NOTES.md'), 'More notes.\n');
        const notes = await json(['pipeline', 'run', 'pipeline.yaml', '--json'], dir);
        expect(cachedByName(notes.steps).fit, JSON.stringify(notes)).toBe(true);
        appendFileSync(path.join(dir, 'train.py'), '# tuned\n');
        const edited = await json(['pipeline', 'run', 'pipeline.yaml', '--json'], dir);
        expect(cachedByName(edited.steps).fit, JSON.stringify(edited)).toBe(false);
        expect(stepOf(await get(edited.run), 'fit').runId).not.toBe(fit.runId);
      },
    );

    it.sequential(
      'fans out with foreach over a list param and joins the items; --json lists every item',
      async ({ expect }) => {
        const dir = folder('foreach');
        const out = folder('foreach-out');
        const tok = token();
        writeFileSync(
          path.join(dir, 'fan.yaml'),
          [
            `name: fan-${tok}`,
            'params: { items: [2, 3, 4] }',
            'steps:',
            '  square:',
            '    foreach: params.items',
            `    run: echo $(({{item}} * {{item}})) > {{outputs.sq}} # ${tok}`,
            '    outputs: [sq]',
            '  join:',
            '    run: cat {{inputs.parts}}/* > {{outputs.all}}',
            '    inputs: { parts: steps.square.outputs.sq }',
            '    outputs: [all]',
            '',
          ].join('\n'),
        );
        const run = await json(['pipeline', 'run', 'fan.yaml', '--json'], dir);
        expect(run.status, JSON.stringify(run)).toBe('succeeded');
        expect(run.steps.map((s: any) => s.name).sort()).toEqual([
          'join',
          'square[0]',
          'square[1]',
          'square[2]',
        ]);
        expect((await ok(['pipeline', 'output', run.run, 'join.all'], dir)).split('\n')).toEqual([
          '4',
          '9',
          '16',
          '',
        ]);
        expect(await ok(['pipeline', 'output', run.run, 'square[1].sq'], dir)).toBe('9\n');
        const items = path.join(out, 'squares');
        expect(await ok(['pipeline', 'output', run.run, 'square.sq', '-o', items], dir)).toMatch(
          /Wrote 3 files/,
        );
        expect(readFileSync(path.join(items, '00002'), 'utf8')).toBe('16\n');
        // A path ending in / names a folder, made if missing, as cp does.
        const fresh = path.join(out, 'fresh');
        await ok(['pipeline', 'output', run.run, 'square[1].sq', '-o', `${fresh}/`], dir);
        expect(readFileSync(path.join(fresh, 'sq'), 'utf8')).toBe('9\n');

        const more = await json(['pipeline', 'run', 'fan.yaml', '--param', 'items=[2,3,4,5]', '--json'], dir);
        expect(more.status).toBe('succeeded');
        expect(cachedByName(more.steps)).toEqual({
          join: false,
          'square[0]': true,
          'square[1]': true,
          'square[2]': true,
          'square[3]': false,
        });
        expect(await output(more.run, 'join', 'all')).toBe('4\n9\n16\n25\n');
      },
    );

    it.sequential(
      'cancels a detached run: it ends cancelled within seconds and its sleeping step is gone',
      async ({ expect }) => {
        const dir = folder('cancel');
        const tok = token();
        markers.push(tok);
        writeFileSync(
          path.join(dir, 'sleepy.yaml'),
          [
            `name: sleepy-${tok}`,
            'steps:',
            '  nap:',
            `    run: sleep 60.${tok}; echo woke > {{outputs.x}}`,
            '    outputs: [x]',
            '  after:',
            '    run: cat {{inputs.x}}',
            '    inputs: { x: steps.nap.outputs.x }',
            '',
          ].join('\n'),
        );
        const run = (await ok(['pipeline', 'run', 'sleepy.yaml', '--detach'], dir)).trim();
        expect(run).toMatch(/^pr_[0-9a-z]+$/);
        await until('the nap step runs', async () =>
          stepOf(await get(run), 'nap').status === 'running' && (await processesMatching(tok)).length > 0
            ? true
            : undefined,
        );

        const asked = Date.now();
        const cancelling = await json(['pipeline', 'runs', 'cancel', run, '--json'], dir);
        expect(cancelling).toMatchObject({ id: run, status: expect.stringMatching(/^cancell(ing|ed)$/) });
        // PipelineRunJson.counts: "step counts by status", as `runs ls` and `runs show` give them.
        const counted = Object.values(cancelling.counts as Record<string, number>).reduce((a, b) => a + b, 0);
        expect.soft(counted, `runs cancel --json counts: ${JSON.stringify(cancelling.counts)}`).toBe(2);
        const final = await ended(run, 15_000);
        const took = Date.now() - asked;
        expect(final.status).toBe('cancelled');
        expect(took, `cancelled after ${took} ms`).toBeLessThan(5_000);
        const shown = await json(['pipeline', 'runs', 'show', run, '--json'], dir);
        expect(shown.status).toBe('cancelled');
        expect(stepOf(shown, 'nap').status).toBe('cancelled');
        expect(['cancelled', 'skipped']).toContain(stepOf(shown, 'after').status);
        expect(await processesMatching(tok), 'processes of the cancelled step').toEqual([]);
        const again = await cairn(['pipeline', 'runs', 'cancel', run], dir);
        expect(again.code, explain(['pipeline', 'runs', 'cancel', run], again)).not.toBe(0);
        expect(again.stderr).toMatch(/already ended \(cancelled\)/);
      },
    );
  });
}

// The lease a killed server held runs out (30 s) before another takes its runs over: both dialects wait at once.
describe('a run survives its server being killed with SIGKILL', { concurrent: true }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it.for(DIALECTS)(
    '[%s] a new server on the same data finishes the run, keeps the finished step and stops the orphaned one',
    { timeout: 120_000 },
    async (dialect, context) => {
      if (dialect === 'postgres' && !PG) context.skip();
      const expect = context.expect;
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-pipe-restart-'));
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-pipe-restart-work-'));
      const database = dialect === 'postgres' ? await createTestDatabaseUrl('postgres') : undefined;
      const tok = token();
      const servers: CairnServer[] = [];
      cleanups.push(async () => {
        for (const s of servers) await s.stop();
        await killMatching(tok);
        await database?.drop();
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(dir, { recursive: true, force: true });
      });
      let server = await startServer(dialect, dataDir, database);
      servers.push(server);
      const { ok, json, get, output, ended } = cliFor(() => server.url);

      // The first attempt of `slow` outlives the lease, so only the new server can stop it; a later one takes 2 s.
      const attempted = path.join(dir, 'attempted');
      writeFileSync(
        path.join(dir, 'restart.yaml'),
        [
          `name: restart-${tok}`,
          'steps:',
          '  quick:',
          `    run: echo ${tok} > {{outputs.a}}`,
          '    outputs: [a]',
          '  slow:',
          `    run: 'if [ -f ${attempted} ]; then sleep 2; else touch ${attempted}; sleep 90.${tok}; fi; cat {{inputs.a}} > {{outputs.b}}'`,
          '    inputs: { a: steps.quick.outputs.a }',
          '    outputs: [b]',
          '  after:',
          '    run: cat {{inputs.b}} {{inputs.b}} > {{outputs.c}}',
          '    inputs: { b: steps.slow.outputs.b }',
          '    outputs: [c]',
          '',
        ].join('\n'),
      );
      const run = (await ok(['pipeline', 'run', 'restart.yaml', '--detach'], dir)).trim();
      const before = await until('the slow step runs', async () => {
        const detail = await get(run);
        return stepOf(detail, 'slow').status === 'running' && (await processesMatching(tok)).length > 0
          ? detail
          : undefined;
      });
      const quickBefore = stepOf(before, 'quick');
      const slowBefore = stepOf(before, 'slow');
      expect(quickBefore.status).toBe('succeeded');

      server.child.kill('SIGKILL');
      await server.stop();
      expect(await processesMatching(tok), 'the killed server leaves its step running').not.toEqual([]);

      server = await startServer(dialect, dataDir, database);
      servers.push(server);
      const final = await ended(run, 75_000);
      expect(final.status, JSON.stringify(final.steps)).toBe('succeeded');
      const shown = await json(['pipeline', 'runs', 'show', run, '--json'], dir);
      expect(shown.status).toBe('succeeded');
      expect(stepOf(shown, 'quick')).toMatchObject({ status: 'succeeded', runId: quickBefore.runId });
      expect(stepOf(shown, 'slow').runId).not.toBe(slowBefore.runId);
      expect(stepOf(shown, 'after').status).toBe('succeeded');
      expect(await output(run, 'after', 'c')).toBe(`${tok}\n${tok}\n`);
      expect(await processesMatching(tok), 'processes left of the cut step').toEqual([]);
      const cut = (await (await fetch(`${server.url}/api/v1/runs/${slowBefore.runId}`)).json()) as any;
      expect(cut.info?.status, JSON.stringify(cut)).toBe('KILLED');
    },
  );
});
