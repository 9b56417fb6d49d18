import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { StepResult, StepTask } from '../../modules/pipelines/index.js';
import { CommandStepRun, type StepRunnerDeps } from './command-step-runner.js';
import { cancelChannel, redisConnection, STEP_QUEUE, type TakenBy } from './step-queue.js';

export interface QueueStepWorkerOptions {
  url: string;
  prefix: string;
  runner: StepRunnerDeps;
  /** Steps at once. */
  concurrency: number;
  /** A claim on a step lasts this long unrenewed; renewed every half of it while the step runs. */
  lockMs: number;
  name?: string;
  onError: (error: unknown, message: string) => void;
  /** Told as each step's process starts and as it ends (for the worker's own log). */
  onStep?: (event: { kind: 'started' | 'finished'; task: StepTask; result?: StepResult }) => void;
}

/**
 * What `cairn worker` runs: takes step jobs from the queue and runs each as a
 * child process, returning the result as the job's value. It listens for
 * cancel requests naming a step it runs; closing it lets running steps finish
 * unless asked to stop them.
 */
export class QueueStepWorker {
  readonly name: string;
  private readonly worker: Worker<StepTask, StepResult>;
  private readonly subscriber: Redis;
  private readonly running = new Map<string, CommandStepRun>();

  constructor(private readonly options: QueueStepWorkerOptions) {
    this.name = options.name ?? `worker:${hostname()}:${process.pid}`;
    const connection = redisConnection(options.url);
    this.worker = new Worker<StepTask, StepResult>(STEP_QUEUE, (job) => this.process(job), {
      connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      // A stalled job (its worker died) is found within half a lock period of the lock lapsing.
      stalledInterval: Math.max(1000, Math.floor(options.lockMs / 2)),
      // A job whose worker died twice is given up (reported to the scheduler as our failure).
      maxStalledCount: 2,
      autorun: true,
    });
    this.worker.on('error', (error) => options.onError(error, 'job queue worker error'));
    this.subscriber = new Redis(connection);
    this.subscriber.on('error', (error) => options.onError(error, 'job queue connection error'));
    const channel = cancelChannel(options.prefix);
    void this.subscriber
      .subscribe(channel)
      .catch((error: unknown) => options.onError(error, 'subscribing to cancels failed'));
    this.subscriber.on('message', (from, stepRunId) => {
      if (from === channel) this.running.get(stepRunId)?.cancel();
    });
  }

  /** Resolves once the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /**
   * Stops taking jobs. With `stopSteps`, running steps are stopped (their jobs end as cancelled and
   * the scheduler runs them again); without it, they are let finish first.
   */
  async close(options: { stopSteps?: boolean } = {}): Promise<void> {
    if (options.stopSteps === true) for (const run of this.running.values()) run.cancel();
    await this.worker.close();
    await this.subscriber.quit().catch(() => undefined);
  }

  private async process(job: Job<StepTask, StepResult>): Promise<StepResult> {
    const task = job.data;
    const run = new CommandStepRun(task, this.options.runner, {
      onStarted: ({ pid }) => {
        const by: TakenBy = { worker: this.name, pid };
        job.updateProgress(by as unknown as object).catch(() => undefined);
        this.options.onStep?.({ kind: 'started', task });
      },
    });
    this.running.set(task.stepRunId, run);
    try {
      const result = await run.result;
      this.options.onStep?.({ kind: 'finished', task, result });
      return result;
    } finally {
      this.running.delete(task.stepRunId);
    }
  }
}
