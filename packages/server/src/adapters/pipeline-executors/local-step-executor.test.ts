import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StepListener, StepResult, StepTask } from '../../modules/pipelines/index.js';
import { FsBlobStore } from '../blob/fs-blob-store.js';
import type { StepRunnerDeps } from './command-step-runner.js';
import { LocalStepExecutor } from './local-step-executor.js';

let root: string;
let runner: StepRunnerDeps;
let counter = 0;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cairn-local-executor-'));
  const blobs = await FsBlobStore.open({ root: join(root, 'blobs') });
  runner = {
    blobs,
    datasets: { materialize: async () => {} },
    workRoot: join(root, 'work'),
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    killGraceMs: 300,
  };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const task = (run: string, cpu = 1): StepTask => ({
  stepRunId: `sr_${++counter}`,
  pipelineRunId: 'pr_1',
  label: `step${counter}`,
  attempt: 1,
  run,
  inputs: {},
  outputs: [],
  params: {},
  item: null,
  env: {},
  codeDigest: null,
  timeoutMs: null,
  resources: { cpu, memoryMb: null, gpu: 0 },
  runId: `run_${counter}`,
});

interface Event {
  kind: 'started' | 'finished';
  id: string;
  at: number;
}

/** A listener that records what it hears, in order, with the time it heard it. */
function recorder() {
  const events: Event[] = [];
  const results = new Map<string, StepResult[]>();
  const started = new Map<string, { pid: number | null; worker: string }>();
  const waiters: Array<() => void> = [];
  const listener: StepListener = {
    started(t, info) {
      started.set(t.stepRunId, info);
      events.push({ kind: 'started', id: t.stepRunId, at: performance.now() });
    },
    finished(result) {
      results.set(result.stepRunId, [...(results.get(result.stepRunId) ?? []), result]);
      events.push({ kind: 'finished', id: result.stepRunId, at: performance.now() });
      for (const wake of waiters.splice(0)) wake();
    },
  };
  const finishedCount = (): number => [...results.values()].reduce((n, list) => n + list.length, 0);
  const untilFinished = async (n: number): Promise<void> => {
    while (finishedCount() < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const untilStarted = async (id: string): Promise<{ pid: number | null; worker: string }> => {
    while (!started.has(id)) await new Promise((resolve) => setTimeout(resolve, 10));
    return started.get(id) as { pid: number | null; worker: string };
  };
  const result = (id: string): StepResult => {
    const list = results.get(id) ?? [];
    expect(list).toHaveLength(1);
    return list[0] as StepResult;
  };
  return { listener, events, started, result, untilFinished, untilStarted };
}

/** The most tasks running at once, from the listener's start and finish times. */
const mostAtOnce = (events: Event[]): number => {
  let now = 0;
  let most = 0;
  // A finish heard at the same instant as a start freed its slot first.
  const ordered = [...events].sort((a, b) => a.at - b.at || (a.kind === 'finished' ? -1 : 1));
  for (const event of ordered) {
    now += event.kind === 'started' ? 1 : -1;
    most = Math.max(most, now);
  }
  return most;
};

const alive = async (pid: number): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && !/^\S+ \(.*\) [ZX]/.test(stat);
};

describe('LocalStepExecutor', () => {
  it('never runs more tasks than its slots, and runs them side by side up to that', async () => {
    const heard = recorder();
    const executor = new LocalStepExecutor({ runner, listener: heard.listener, slots: 2 });
    expect(executor).toMatchObject({ name: 'local', slots: 2 });
    const tasks = [task('sleep 0.3'), task('sleep 0.3'), task('sleep 0.3')];
    for (const t of tasks) executor.submit(t);
    await heard.untilFinished(3);
    for (const t of tasks) expect(heard.result(t.stepRunId).outcome).toBe('succeeded');
    expect(mostAtOnce(heard.events)).toBe(2);
    // The third started only after one of the first two had finished.
    const third = heard.events.find((e) => e.kind === 'started' && e.id === tasks[2]?.stepRunId) as Event;
    const firstEnd = heard.events.find((e) => e.kind === 'finished') as Event;
    expect(third.at).toBeGreaterThanOrEqual(firstEnd.at);
    await executor.close();
  });

  it('counts cores against the slots and keeps submission order', async () => {
    const heard = recorder();
    const executor = new LocalStepExecutor({ runner, listener: heard.listener, slots: 2 });
    const [a, wide, c, huge] = [
      task('sleep 0.2'),
      task('sleep 0.2', 1.5),
      task('true', 0.5),
      task('true', 64),
    ] as [StepTask, StepTask, StepTask, StepTask];
    for (const t of [a, wide, c, huge]) executor.submit(t);
    await heard.untilFinished(4);
    const at = (kind: Event['kind'], id: string): number =>
      (heard.events.find((e) => e.kind === kind && e.id === id) as Event).at;
    // `wide` needs both slots: it waits for `a`, and `c` does not overtake it though one slot is free.
    expect(at('started', wide.stepRunId)).toBeGreaterThanOrEqual(at('finished', a.stepRunId));
    expect(at('started', c.stepRunId)).toBeGreaterThanOrEqual(at('finished', wide.stepRunId));
    // More cores than slots: it takes all of them, and still runs.
    expect(heard.result(huge.stepRunId).outcome).toBe('succeeded');
    expect(mostAtOnce(heard.events)).toBeLessThanOrEqual(2);
    await executor.close();
  });

  it('tells where a task runs', async () => {
    const heard = recorder();
    const executor = new LocalStepExecutor({ runner, listener: heard.listener, slots: 1 });
    const named = new LocalStepExecutor({ runner, listener: heard.listener, slots: 1, workerName: 'box-7' });
    const [one, two] = [task('true'), task('true')];
    executor.submit(one as StepTask);
    named.submit(two as StepTask);
    await heard.untilFinished(2);
    expect(heard.started.get((one as StepTask).stepRunId)).toEqual({
      pid: expect.any(Number),
      worker: `local:${hostname()}:${process.pid}`,
    });
    expect(heard.started.get((two as StepTask).stepRunId)?.worker).toBe('box-7');
    await Promise.all([executor.close(), named.close()]);
  });

  it('cancels running and queued tasks, each finishing exactly once', async () => {
    const heard = recorder();
    const executor = new LocalStepExecutor({ runner, listener: heard.listener, slots: 1 });
    const [running, queued] = [task('sleep 30'), task('echo never')] as [StepTask, StepTask];
    executor.submit(running);
    executor.submit(queued);
    const { pid } = await heard.untilStarted(running.stepRunId);
    expect(executor.cancel(queued.stepRunId)).toBe(true);
    expect(executor.cancel(running.stepRunId)).toBe(true);
    expect(executor.cancel('sr_unknown')).toBe(false);
    await heard.untilFinished(2);
    expect(heard.result(running.stepRunId)).toMatchObject({ outcome: 'cancelled' });
    expect(heard.result(queued.stepRunId)).toMatchObject({ outcome: 'cancelled', stdout: null });
    expect(heard.started.has(queued.stepRunId)).toBe(false);
    expect(await alive(pid as number)).toBe(false);
    expect(executor.cancel(running.stepRunId)).toBe(false);
    await executor.close();
    expect(heard.events.filter((e) => e.kind === 'finished')).toHaveLength(2);
  });

  it('closes by cancelling everything, once every child is gone', async () => {
    const heard = recorder();
    const executor = new LocalStepExecutor({ runner, listener: heard.listener, slots: 2 });
    const tasks = [task('sleep 30'), task("trap '' TERM; sleep 30 & wait"), task('sleep 30')];
    for (const t of tasks) executor.submit(t);
    const pids = [
      await heard.untilStarted(tasks[0]!.stepRunId),
      await heard.untilStarted(tasks[1]!.stepRunId),
    ];
    await executor.close();
    for (const t of tasks) expect(heard.result(t.stepRunId).outcome).toBe('cancelled');
    for (const { pid } of pids) expect(await alive(pid as number)).toBe(false);

    executor.submit(task('true'));
    await heard.untilFinished(4);
    const late = heard.events.at(-1) as Event;
    expect(heard.result(late.id)).toMatchObject({
      outcome: 'failed',
      userFault: false,
      error: 'the local executor is closed',
    });
  });

  it('refuses a task it already holds, and survives a listener that throws', async () => {
    const errors: unknown[] = [];
    const heard = recorder();
    const listener: StepListener = {
      started: () => {
        throw new Error('listener broke');
      },
      finished: (result) => heard.listener.finished(result),
    };
    const executor = new LocalStepExecutor({
      runner,
      listener,
      slots: 1,
      onListenerError: (e) => errors.push(e),
    });
    const t = task('sleep 0.1');
    executor.submit(t);
    expect(() => executor.submit(t)).toThrow(/already held/);
    await heard.untilFinished(1);
    expect(heard.result(t.stepRunId).outcome).toBe('succeeded');
    expect(errors).toHaveLength(1);
    await executor.close();
  });

  it('abandons what another server left: its process group, if it is that attempt’s, and its workspaces', async () => {
    const heard = recorder();
    const executor = new LocalStepExecutor({ runner, listener: heard.listener, slots: 1 });
    expect(executor.worker).toBe(`local:${hostname()}:${process.pid}`);
    const leftOver = (env: Record<string, string>) => {
      const child = spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore', env });
      return child.pid as number;
    };
    const workspace = join(runner.workRoot, 'sr_orphan-2');
    await mkdir(join(workspace, 'logs'), { recursive: true });
    const orphan = leftOver({
      PATH: '/usr/bin:/bin',
      CAIRN_METRICS_FILE: join(workspace, 'logs', 'metrics.jsonl'),
    });
    const stranger = leftOver({ PATH: '/usr/bin:/bin' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Another machine's worker: nothing here is touched.
      await executor.abandon({ stepRunId: 'sr_orphan', pid: orphan, worker: 'local:elsewhere:1' });
      expect(await alive(orphan)).toBe(true);
      // A pid that now belongs to something else is left alone.
      await executor.abandon({ stepRunId: 'sr_orphan', pid: stranger, worker: `local:${hostname()}:1` });
      expect(await alive(stranger)).toBe(true);

      await executor.abandon({ stepRunId: 'sr_orphan', pid: orphan, worker: `local:${hostname()}:1` });
      expect(await alive(orphan)).toBe(false);
      expect(await readdir(runner.workRoot)).toEqual([]);
    } finally {
      for (const pid of [orphan, stranger]) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await executor.close();
  });

  it('abandoning an attempt of its own cancels it', async () => {
    const heard = recorder();
    const executor = new LocalStepExecutor({ runner, listener: heard.listener, slots: 1 });
    const t = task('sleep 30');
    executor.submit(t);
    const { pid } = await heard.untilStarted(t.stepRunId);
    await executor.abandon({ stepRunId: t.stepRunId, pid, worker: executor.worker });
    expect(heard.result(t.stepRunId).outcome).toBe('cancelled');
    await executor.close();
  });
});
