import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FsBlobStore } from '../packages/server/dist/adapters/blob/fs-blob-store.js';
import { LocalStepExecutor } from '../packages/server/dist/adapters/pipeline-executors/local-step-executor.js';
import { QueueStepExecutor } from '../packages/server/dist/adapters/pipeline-executors/queue-step-executor.js';
import { QueueStepWorker } from '../packages/server/dist/adapters/pipeline-executors/queue-step-worker.js';
import type {
  StepExecutor,
  StepListener,
  StepTask,
} from '../packages/server/dist/modules/pipelines/index.js';
import { saveFigures } from './harness.js';

// Issue 7: "queue executor to a warm worker: < 25 ms dispatch". Dispatch is the
// time from the scheduler handing a step to the executor until the step's
// process is started on a worker that is already connected and idle (BullMQ
// add → Redis → the worker's blocking fetch → workspace → spawn). The local
// executor's same interval is measured in the same run as the baseline.
// `npm run build` first; Redis at CAIRN_TEST_REDIS_URL (default 127.0.0.1:6379).

const REDIS = process.env['CAIRN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SAMPLES = Number(process.env['SAMPLES'] ?? 300);

function task(i: number): StepTask {
  return {
    stepRunId: `pr_bench-s0-${i}`,
    pipelineRunId: 'pr_bench',
    label: `noop[${i}]`,
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
    runId: `run${i}`,
  };
}

/** Submits one no-op step at a time and times submit → process started. */
async function measure(
  make: (
    listener: StepListener,
    onStarted: (stepRunId: string) => void,
  ) => Promise<{ executor: StepExecutor; close(): Promise<void> }>,
): Promise<{ median: number; p95: number; min: number }> {
  const started = new Map<string, () => void>();
  const finished = new Map<string, () => void>();
  const listener: StepListener = {
    started: () => undefined,
    finished: (result) => finished.get(result.stepRunId)?.(),
  };
  const parts = await make(listener, (id) => started.get(id)?.());
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES + 20; i++) {
    const t = task(i);
    const startedAt = new Promise<number>((resolve) =>
      started.set(t.stepRunId, () => resolve(performance.now())),
    );
    const done = new Promise<void>((resolve) => finished.set(t.stepRunId, resolve));
    const t0 = performance.now();
    parts.executor.submit(t);
    const t1 = await startedAt;
    await done;
    if (i >= 20) samples.push(t1 - t0); // the first ones warm the connections and the JIT
  }
  await parts.close();
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number;
  return { median: at(0.5), p95: at(0.95), min: samples[0] as number };
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-queue-'));
  const blobs = new FsBlobStore({ root: path.join(root, 'blobs') });
  const runner = (dir: string) => ({
    blobs,
    datasets: { materialize: async () => undefined },
    workRoot: path.join(root, dir),
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  });

  const local = await measure(async (listener, onStarted) => {
    const executor = new LocalStepExecutor({
      runner: runner('local'),
      listener: { ...listener, started: (t) => onStarted(t.stepRunId) },
      slots: 2,
    });
    return { executor, close: () => executor.close() };
  });

  const prefix = `cairn-bench-${randomUUID().slice(0, 8)}`;
  const queue = await measure(async (listener, onStarted) => {
    const executor = new QueueStepExecutor({ url: REDIS, prefix, listener, onError: () => undefined });
    const worker = new QueueStepWorker({
      url: REDIS,
      prefix,
      concurrency: 2,
      lockMs: 30_000,
      runner: runner('worker'),
      onError: () => undefined,
      onStep: (event) => {
        if (event.kind === 'started') onStarted(event.task.stepRunId);
      },
    });
    await worker.ready();
    return {
      executor,
      close: async () => {
        await worker.close();
        await executor.close();
      },
    };
  });
  rmSync(root, { recursive: true, force: true });

  console.log(`\ndispatch of a no-op step, submit → started (${SAMPLES} samples, one at a time)`);
  console.log(
    `  local executor (baseline)   median ${local.median.toFixed(2)} ms   p95 ${local.p95.toFixed(2)} ms`,
  );
  console.log(
    `  queue → warm worker         median ${queue.median.toFixed(2)} ms   p95 ${queue.p95.toFixed(2)} ms   (target < 25 ms: ${queue.median < 25 ? 'PASS' : 'SHORT'})`,
  );
  saveFigures('pipeline-queue', {
    local: { medianMs: local.median, p95Ms: local.p95 },
    queue: { medianMs: queue.median, p95Ms: queue.p95 },
  });
}

await main();
