import { readdir, rm } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import type { StepExecutor, StepListener, StepResult, StepTask } from '../../modules/pipelines/index.js';
import { CommandStepRun, stopAbandonedGroup, type StepRunnerDeps } from './command-step-runner.js';

export interface LocalStepExecutorOptions {
  runner: StepRunnerDeps;
  listener: StepListener;
  /** Steps (counted in cores: a task takes its `resources.cpu`, rounded up) run at once; the machine's cores by default. */
  slots?: number;
  /** Named in `started`; `local:<hostname>:<pid>` by default. */
  workerName?: string;
  /** Told when the listener throws (it is never allowed to break the executor); ignored by default. */
  onListenerError?: (error: unknown) => void;
}

interface Held {
  task: StepTask;
  weight: number;
  run: CommandStepRun | null;
  /** Settles once `finished` has been told. */
  done: Promise<void> | null;
}

/**
 * Runs steps as child processes of this server, as many at once as its slots
 * allow; the rest wait in submission order. The listener hears `finished`
 * exactly once per submitted task, also for one cancelled before it started.
 */
export class LocalStepExecutor implements StepExecutor {
  readonly name = 'local' as const;
  readonly slots: number;
  readonly worker: string;
  readonly #options: LocalStepExecutorOptions;
  readonly #queue: Held[] = [];
  readonly #running = new Map<string, Held>();
  readonly #settled = new Set<Promise<void>>();
  #used = 0;
  #closed = false;

  constructor(options: LocalStepExecutorOptions) {
    this.#options = options;
    this.slots = Math.max(1, Math.floor(options.slots ?? availableParallelism()));
    this.worker = options.workerName ?? `local:${hostname()}:${process.pid}`;
  }

  submit(task: StepTask): void {
    if (this.#holds(task.stepRunId)) {
      throw new Error(`step run ${task.stepRunId} is already held by this executor`);
    }
    if (this.#closed) {
      const now = this.#now();
      queueMicrotask(() =>
        this.#finished(unrun(task, { outcome: 'failed', error: 'the local executor is closed', at: now })),
      );
      return;
    }
    const cpu = Number.isFinite(task.resources.cpu) ? task.resources.cpu : 1;
    this.#queue.push({
      task,
      weight: Math.min(Math.max(1, Math.ceil(cpu)), this.slots),
      run: null,
      done: null,
    });
    this.#startWaiting();
  }

  cancel(stepRunId: string): boolean {
    const running = this.#running.get(stepRunId);
    if (running !== undefined) {
      running.run?.cancel();
      return true;
    }
    const queued = this.#queue.findIndex((held) => held.task.stepRunId === stepRunId);
    if (queued < 0) return false;
    const [held] = this.#queue.splice(queued, 1) as [Held];
    const now = this.#now();
    queueMicrotask(() =>
      this.#finished(unrun(held.task, { outcome: 'cancelled', error: 'cancelled', at: now })),
    );
    this.#startWaiting();
    return true;
  }

  /**
   * Stops what is left of an attempt another server started here and will never hear back from:
   * its process group (only when its processes carry that attempt's environment, so a reused pid is
   * left alone) and its workspaces. An attempt of this executor's own is cancelled.
   */
  async abandon(attempt: { stepRunId: string; pid: number | null; worker: string | null }): Promise<void> {
    const held = this.#running.get(attempt.stepRunId);
    if (held !== undefined || this.#queue.some((h) => h.task.stepRunId === attempt.stepRunId)) {
      this.cancel(attempt.stepRunId);
      await held?.done;
      return;
    }
    const elsewhere =
      attempt.worker?.startsWith('local:') === true && !attempt.worker.startsWith(`local:${hostname()}:`);
    if (elsewhere) return; // Another machine's process: nothing here to stop.
    const { workRoot, killGraceMs, keepWorkspace } = this.#options.runner;
    if (attempt.pid !== null) {
      await stopAbandonedGroup({
        pgid: attempt.pid,
        workRoot,
        stepRunId: attempt.stepRunId,
        graceMs: killGraceMs,
      });
    }
    if (keepWorkspace === true || this.#holds(attempt.stepRunId)) return;
    const prefix = `${attempt.stepRunId}-`;
    for (const name of await readdir(workRoot).catch(() => [] as string[])) {
      if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))) {
        await rm(join(workRoot, name), { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  /** Cancels everything held; resolves once every child process is gone and every result told. */
  async close(): Promise<void> {
    this.#closed = true;
    const now = this.#now();
    for (const held of this.#queue.splice(0)) {
      queueMicrotask(() =>
        this.#finished(unrun(held.task, { outcome: 'cancelled', error: 'cancelled', at: now })),
      );
    }
    for (const stepRunId of [...this.#running.keys()]) this.cancel(stepRunId);
    while (this.#settled.size > 0) await Promise.all([...this.#settled]);
    await new Promise<void>((resolve) => queueMicrotask(resolve));
  }

  #holds(stepRunId: string): boolean {
    return this.#running.has(stepRunId) || this.#queue.some((held) => held.task.stepRunId === stepRunId);
  }

  /** Starts waiting tasks in order while the first one fits (no overtaking, so a wide task is never starved). */
  #startWaiting(): void {
    if (this.#closed) return;
    for (let next = this.#queue[0]; next !== undefined; next = this.#queue[0]) {
      if (this.#used + next.weight > this.slots) return;
      this.#queue.shift();
      this.#start(next);
    }
  }

  #start(held: Held): void {
    this.#used += held.weight;
    this.#running.set(held.task.stepRunId, held);
    held.run = new CommandStepRun(held.task, this.#options.runner, {
      onStarted: ({ pid }) =>
        this.#tell(() => this.#options.listener.started(held.task, { pid, worker: this.worker })),
    });
    const settled = held.run.result.then((result) => {
      this.#used -= held.weight;
      this.#running.delete(held.task.stepRunId);
      this.#settled.delete(settled);
      this.#finished(result);
      this.#startWaiting();
    });
    held.done = settled;
    this.#settled.add(settled);
  }

  #finished(result: StepResult): void {
    this.#tell(() => this.#options.listener.finished(result));
  }

  #tell(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#options.onListenerError?.(error);
    }
  }

  #now(): number {
    return (this.#options.runner.clock ?? Date.now)();
  }
}

/** The result of a task that never ran. */
function unrun(
  task: StepTask,
  how: { outcome: 'cancelled' | 'failed'; error: string; at: number },
): StepResult {
  return {
    stepRunId: task.stepRunId,
    attempt: task.attempt,
    outcome: how.outcome,
    exitCode: null,
    signal: null,
    outputs: {},
    stdout: null,
    stderr: null,
    stderrTail: '',
    metrics: [],
    error: how.error,
    userFault: false,
    startedAt: how.at,
    endedAt: how.at,
  };
}
