import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { encodeFileTree } from '@cairn/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore, Digest } from '../../modules/artifacts/blob.store.js';
import type { StepOutput, StepResult, StepTask } from '../../modules/pipelines/index.js';
import { FsBlobStore } from '../blob/fs-blob-store.js';
import {
  CommandStepRun,
  formatDuration,
  runCommandStep,
  type StepRunnerDeps,
} from './command-step-runner.js';
import type { DatasetFiles } from './step-workspace.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';
let root: string;
let blobs: FsBlobStore;
let deps: StepRunnerDeps;
let counter = 0;

const datasets: DatasetFiles = {
  async materialize({ targetDir, dataset }) {
    await writeFile(join(targetDir, 'a.csv'), `${dataset}\n`);
  },
};

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cairn-step-runner-'));
  blobs = await FsBlobStore.open({ root: join(root, 'blobs') });
  deps = { blobs, datasets, workRoot: join(root, 'work'), env: { PATH, HOME: root }, killGraceMs: 300 };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const task = (over: Partial<StepTask> = {}): StepTask => ({
  stepRunId: `sr_${++counter}`,
  pipelineRunId: 'pr_1',
  label: 'step',
  attempt: 1,
  run: 'true',
  inputs: {},
  outputs: [],
  params: {},
  item: null,
  env: {},
  codeDigest: null,
  timeoutMs: null,
  resources: { cpu: 1, memoryMb: null, gpu: 0 },
  runId: 'run_1',
  ...over,
});

const readBlob = async (digest: string): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.get(digest as Digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
const text = async (output: StepOutput | { digest: string } | null | undefined): Promise<string> =>
  (await readBlob((output as { digest: string }).digest)).toString('utf8');

/** Running, not merely a zombie waiting for its reaper. */
const running = async (pid: number): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && !/^\S+ \(.*\) [ZX]/.test(stat);
};

const succeeded = (result: StepResult): StepResult => {
  expect(result, `${result.error}\n${result.stderrTail}`).toMatchObject({
    outcome: 'succeeded',
    error: null,
  });
  return result;
};

describe('runCommandStep', () => {
  it('runs the demo pipeline: seq into a file output, awk over it as an input', async () => {
    const first = succeeded(
      await runCommandStep(task({ run: 'seq 1 100 > {{outputs.numbers}}', outputs: ['numbers'] }), deps),
    );
    const numbers = first.outputs.numbers as StepOutput;
    expect(numbers).toMatchObject({ type: 'file', sizeBytes: 292 });

    const second = succeeded(
      await runCommandStep(
        task({
          run: "awk '{s += $1 * {{params.factor}}} END {print s}' {{inputs.numbers}} > {{outputs.sum}}",
          inputs: { numbers: { kind: 'blob', output: numbers } },
          outputs: ['sum'],
          params: { factor: 3 },
        }),
        deps,
      ),
    );
    expect(await text(second.outputs.sum)).toBe('15150\n');
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toEqual({ digest: expect.stringMatching(/^sha256:/), sizeBytes: 0 });
  });

  it('stores a directory output and lays it out again as an input', async () => {
    const made = succeeded(
      await runCommandStep(
        task({
          run: 'mkdir -p {{outputs.model}}/sub && echo w > {{outputs.model}}/sub/w.txt && printf a > {{outputs.model}}/a',
          outputs: ['model'],
        }),
        deps,
      ),
    );
    const model = made.outputs.model as StepOutput;
    expect(model).toMatchObject({ type: 'dir', sizeBytes: 3 });

    const used = succeeded(
      await runCommandStep(
        task({
          run: 'cat {{inputs.model}}/a {{inputs.model}}/sub/w.txt > {{outputs.copy}}',
          inputs: { model: { kind: 'blob', output: model } },
          outputs: ['copy'],
        }),
        deps,
      ),
    );
    expect(await text(used.outputs.copy)).toBe('aw\n');
  });

  it('lays out joined, dataset and value inputs, and runs code from the package', async () => {
    const file = await blobs.put(Readable.from([Buffer.from('part zero')]));
    const script = await blobs.put(Readable.from([Buffer.from('#!/bin/sh\nls "$1" > "$2"\n')]));
    const code = await blobs.put(
      Readable.from([
        Buffer.from(
          encodeFileTree([
            { path: 'bin/list.sh', digest: script.digest, sizeBytes: script.sizeBytes, executable: true },
          ]),
        ),
      ]),
    );
    const result = succeeded(
      await runCommandStep(
        task({
          run: './bin/list.sh {{inputs.parts}} {{outputs.listing}} && cat {{inputs.rows}}/a.csv > {{outputs.rows}} && printf "%s|%s" {{inputs.k}} "$CAIRN_INPUT_K" > {{outputs.k}}',
          inputs: {
            parts: { kind: 'joined', items: [{ ...file, type: 'file' }, null, { ...file, type: 'file' }] },
            rows: { kind: 'dataset', dataset: 'churn', versionId: 'v1' },
            k: { kind: 'value', value: 'a b' },
          },
          outputs: ['listing', 'rows', 'k'],
          codeDigest: code.digest,
        }),
        deps,
      ),
    );
    expect(await text(result.outputs.listing)).toBe('00000\n00002\n');
    expect(await text(result.outputs.rows)).toBe('churn\n');
    expect(await text(result.outputs.k)).toBe('a b|a b');
  });

  it('gives the command its environment and nothing else', async () => {
    const result = succeeded(
      await runCommandStep(
        task({
          run: 'env > {{outputs.env}}',
          label: 'scale[2]',
          attempt: 3,
          runId: 'run_42',
          inputs: {
            'my-data': { kind: 'dataset', dataset: 'd', versionId: 'v' },
            k: { kind: 'value', value: 7 },
          },
          outputs: ['env'],
          params: { lr: 0.1, tags: ['a'] },
          item: { index: 2, value: { x: 1 } },
          env: { MY_SETTING: 'on', PATH: '/bin' },
        }),
        { ...deps, trackingUri: 'http://127.0.0.1:5000' },
      ),
    );
    const lines = (await text(result.outputs.env)).trim().split('\n');
    const env = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const ws = join(deps.workRoot, `${result.stepRunId}-3`);
    expect(env).toMatchObject({
      PATH: '/bin',
      HOME: root,
      MY_SETTING: 'on',
      CAIRN_INPUT_MY_DATA: join(ws, 'inputs', 'my-data'),
      CAIRN_INPUT_K: '7',
      CAIRN_OUTPUT_ENV: join(ws, 'outputs', 'env'),
      CAIRN_PARAM_LR: '0.1',
      CAIRN_PARAM_TAGS: '["a"]',
      CAIRN_ITEM: '{"x":1}',
      CAIRN_INDEX: '2',
      CAIRN_RUN_ID: 'run_42',
      MLFLOW_RUN_ID: 'run_42',
      MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000',
      CAIRN_URL: 'http://127.0.0.1:5000',
      CAIRN_METRICS_FILE: join(ws, 'logs', 'metrics.jsonl'),
      CAIRN_STEP: 'scale[2]',
      CAIRN_ATTEMPT: '3',
    });
    // Nothing of the test runner's own environment reaches the command.
    expect(Object.keys(env).filter((key) => key.startsWith('VITEST'))).toEqual([]);
    expect(env.NODE_ENV).toBeUndefined();
  });

  it('reports a non-zero exit with the tail of stderr, and stores the logs', async () => {
    const result = await runCommandStep(
      task({ run: 'echo out; for i in $(seq 1 50); do echo "line $i" >&2; done; exit 3' }),
      deps,
    );
    expect(result).toMatchObject({
      outcome: 'failed',
      exitCode: 3,
      signal: null,
      error: 'exited with code 3',
      userFault: true,
    });
    const tail = result.stderrTail.split('\n');
    expect(tail).toHaveLength(20);
    expect(tail[0]).toBe('line 31');
    expect(tail[19]).toBe('line 50');
    expect(await text(result.stdout)).toBe('out\n');
    expect((await text(result.stderr)).split('\n')).toHaveLength(51);
  });

  it('keeps the stderr tail within 4 KiB however long the lines', async () => {
    const xs = "head -c 20000 /dev/zero | tr '\\0' x >&2";
    const cut = await runCommandStep(task({ run: `${xs}; echo >&2; echo last >&2; exit 1` }), deps);
    expect(cut.stderr?.sizeBytes).toBe(20006);
    expect(cut.stderrTail).toBe('last'); // the long line is cut off at the start, so it is left out
    const long = await runCommandStep(task({ run: `${xs}; exit 1` }), deps);
    expect(long.stderrTail).toBe('x'.repeat(4096));
  });

  it('reports a command killed by a signal', async () => {
    const result = await runCommandStep(task({ run: 'kill -9 $$' }), deps);
    expect(result).toMatchObject({
      outcome: 'failed',
      exitCode: null,
      signal: 'SIGKILL',
      error: 'was killed by signal SIGKILL',
    });
  });

  it('fails, as the step’s fault, when a declared output is missing or is a symbolic link', async () => {
    const missing = await runCommandStep(task({ run: 'echo done', outputs: ['model'] }), deps);
    expect(missing).toMatchObject({
      outcome: 'failed',
      userFault: true,
      exitCode: 0,
      error: 'step wrote no output "model" (expected at $CAIRN_OUTPUT_MODEL)',
    });
    const linked = await runCommandStep(
      task({ run: 'ln -s /etc/passwd {{outputs.model}}', outputs: ['model'] }),
      deps,
    );
    expect(linked).toMatchObject({ outcome: 'failed', userFault: true });
    expect(linked.error).toMatch(/output "model": it is a symbolic link/);
  });

  it('fails, as the step’s fault, on a template naming something undefined', async () => {
    const result = await runCommandStep(task({ run: 'cat {{inputs.nothing}}' }), deps);
    expect(result).toMatchObject({ outcome: 'failed', userFault: true, stdout: null });
    expect(result.error).toMatch(/cannot be rendered: .*no input "nothing"/);
  });

  it('fails, as our fault, when the workspace cannot be set up or the blob store breaks', async () => {
    const gone: StepOutput = { digest: `sha256:${'a'.repeat(64)}`, sizeBytes: 1, type: 'file' };
    const setUp = await runCommandStep(
      task({ run: 'true', inputs: { x: { kind: 'blob', output: gone } } }),
      deps,
    );
    expect(setUp).toMatchObject({ outcome: 'failed', userFault: false });
    expect(setUp.error).toMatch(/could not set up the workspace: input "x"/);

    let puts = 0;
    const flaky: BlobStore = {
      location: blobs.location,
      put: (source, options) => {
        puts += 1;
        return puts === 3 ? Promise.reject(new Error('disk on fire')) : blobs.put(source, options);
      },
      get: (digest) => blobs.get(digest),
      getRange: (digest, range) => blobs.getRange(digest, range),
      has: (digest) => blobs.has(digest),
      stat: (digest) => blobs.stat(digest),
      delete: (digest) => blobs.delete(digest),
      list: () => blobs.list(),
    };
    const storing = await runCommandStep(task({ run: 'echo 1 > {{outputs.o}}', outputs: ['o'] }), {
      ...deps,
      blobs: flaky,
    });
    expect(storing).toMatchObject({
      outcome: 'failed',
      userFault: false,
      error: 'could not store output "o": disk on fire',
    });
  });

  it('times out, killing the whole process group well before the sleep ends', async () => {
    const pidFile = join(root, 'grandchild.pid');
    const began = Date.now();
    const result = await runCommandStep(
      task({ run: `sh -c 'sleep 30 & echo $! > ${pidFile}; wait'`, timeoutMs: 300 }),
      deps,
    );
    expect(Date.now() - began).toBeLessThan(5000);
    expect(result).toMatchObject({ outcome: 'timed_out', error: 'timed out after 300 ms', userFault: true });
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(await running(grandchild)).toBe(false);
  });

  it('kills with SIGKILL what ignores SIGTERM, after the grace', async () => {
    const pidFile = join(root, 'stubborn.pid');
    const result = await runCommandStep(
      task({ run: `trap '' TERM; sleep 30 & echo $! > ${pidFile}; wait`, timeoutMs: 200 }),
      deps,
    );
    expect(result.outcome).toBe('timed_out');
    expect(await running(Number(await readFile(pidFile, 'utf8')))).toBe(false);
  });

  it('leaves nothing running that the command put in the background', async () => {
    const pidFile = join(root, 'daemon.pid');
    const result = await runCommandStep(task({ run: `sleep 30 & echo $! > ${pidFile}` }), deps);
    succeeded(result);
    expect(await running(Number(await readFile(pidFile, 'utf8')))).toBe(false);
  });

  it('is cancelled while running, and before it started', async () => {
    let startedPid = 0;
    const run = new CommandStepRun(task({ run: 'sleep 30' }), deps, {
      onStarted: ({ pid }) => {
        startedPid = pid;
        run.cancel();
      },
    });
    const result = await run.result;
    expect(result).toMatchObject({ outcome: 'cancelled', error: 'cancelled' });
    expect(result.endedAt - result.startedAt).toBeLessThan(5000);
    expect(await running(startedPid)).toBe(false);

    let started = false;
    const early = new CommandStepRun(task({ run: 'echo never > {{outputs.o}}', outputs: ['o'] }), deps, {
      onStarted: () => (started = true),
    });
    early.cancel();
    expect(await early.result).toMatchObject({ outcome: 'cancelled', stdout: null });
    expect(started).toBe(false);
  });

  it('reads metrics from the metrics file, skipping bad lines', async () => {
    const lines = [
      '{"key": "loss", "value": 0.5, "step": 1, "timestamp": 1000}',
      '{"key": "loss", "value": 0.25, "step": 2}',
      'not json',
      '{"key": "bad key!", "value": 1}',
      '{"key": "acc", "value": "0.9"}',
      '{"key": "acc", "value": 1, "step": 1.5}',
      '[1, 2]',
      '',
      '{"key": "val/acc top-1", "value": 0.9}',
    ];
    await mkdir(join(root, 'src'));
    await writeFile(join(root, 'src', 'metrics.jsonl'), `${lines.join('\n')}`);
    const result = succeeded(
      await runCommandStep(
        task({ run: `cat ${join(root, 'src', 'metrics.jsonl')} > "$CAIRN_METRICS_FILE"` }),
        {
          ...deps,
          clock: () => 7777,
        },
      ),
    );
    expect(result.metrics).toEqual([
      { key: 'loss', value: 0.5, step: 1, timestamp: 1000 },
      { key: 'loss', value: 0.25, step: 2, timestamp: 7777 },
      { key: 'val/acc top-1', value: 0.9, step: 0, timestamp: 7777 },
    ]);
  });

  it('keeps at most 10,000 metrics', async () => {
    const result = succeeded(
      await runCommandStep(
        task({
          run: `seq 1 12000 | awk '{print "{\\"key\\":\\"m\\",\\"value\\":" $1 "}"}' > "$CAIRN_METRICS_FILE"`,
        }),
        deps,
      ),
    );
    expect(result.metrics).toHaveLength(10_000);
    expect(result.metrics[9999]?.value).toBe(10_000);
  });

  it('reads back only what it wrote, whatever the command puts in place of its files', async () => {
    const result = succeeded(
      await runCommandStep(
        task({
          run: [
            'echo hi',
            'ln -s /dev/zero "$CAIRN_METRICS_FILE"',
            'rm ../logs/stdout.log && ln -s /dev/zero ../logs/stdout.log',
            'rm ../logs/stderr.log && mkfifo ../logs/stderr.log',
          ].join(' && '),
        }),
        deps,
      ),
    );
    expect(result.metrics).toEqual([]);
    expect(await text(result.stdout)).toBe('hi\n');
    expect(result.stderr?.sizeBytes).toBe(0);
    const piped = succeeded(await runCommandStep(task({ run: 'mkfifo "$CAIRN_METRICS_FILE"' }), deps));
    expect(piped.metrics).toEqual([]);
  });

  it('stores a huge stdout by streaming it', async () => {
    const size = 50 * 1024 * 1024;
    const result = succeeded(await runCommandStep(task({ run: `head -c ${size} /dev/zero` }), deps));
    expect(result.stdout?.sizeBytes).toBe(size);
    expect((await blobs.stat(result.stdout?.digest as Digest))?.sizeBytes).toBe(size);
  });

  it('keeps a hostile parameter value one argument', async () => {
    const canary = join(root, 'pwned');
    const hostile = `x; touch ${canary}; $(touch ${canary}) \`touch ${canary}\` ' "`;
    const result = succeeded(
      await runCommandStep(
        task({ run: 'printf %s {{params.v}} > {{outputs.o}}', params: { v: hostile }, outputs: ['o'] }),
        deps,
      ),
    );
    expect(await text(result.outputs.o)).toBe(hostile);
    expect(existsSync(canary)).toBe(false);
  });

  it('removes the workspace after the attempt unless asked to keep it', async () => {
    succeeded(await runCommandStep(task({ run: 'echo hi > {{outputs.o}}', outputs: ['o'] }), deps));
    expect(await readdir(deps.workRoot)).toEqual([]);
    const kept = succeeded(
      await runCommandStep(task({ run: 'echo hi > {{outputs.o}}', outputs: ['o'] }), {
        ...deps,
        keepWorkspace: true,
      }),
    );
    expect(await readdir(deps.workRoot)).toEqual([`${kept.stepRunId}-1`]);
  });

  it('formats durations for people', () => {
    expect(formatDuration(30_000)).toBe('30 s');
    expect(formatDuration(1500)).toBe('1.5 s');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(600_000)).toBe('10 min');
    expect(formatDuration(7_200_000)).toBe('2 h');
  });
});
