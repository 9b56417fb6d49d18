import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { StepExecutor, StepListener, StepResult, StepTask } from '../../modules/pipelines/index.js';
import { cancelChannel, redisConnection, STEP_QUEUE, stepJobId, type TakenBy } from './step-queue.js';

export interface QueueStepExecutorOptions {
  url: string;
  prefix: string;
  listener: StepListener;
  /** Attempts handed to the queue at once; workers bound what actually runs. */
  slots?: number;
  /** How often jobs still followed are checked to exist (Redis may have been restarted empty). */
  reconcileMs?: number;
  onError: (error: unknown, message: string) => void;
  clock?: () => number;
}

interface Followed {
  task: StepTask;
  jobId: string;
  /** The queue has acknowledged the job: only then can its absence mean Redis lost it. */
  added: boolean;
}

/**
 * Hands steps to `cairn worker`s through BullMQ on Redis: one job per
 * attempt, results back as the job's return value. BullMQ keeps a job
 * locked by its worker while the worker lives (long steps are never taken
 * away) and gives a dead worker's job to another once the lock lapses. What
 * Redis forgets (a restart without persistence) is noticed and reported as
 * our failure, so the scheduler runs the step again.
 */
export class QueueStepExecutor implements StepExecutor {
  readonly name = 'queue' as const;
  readonly slots: number;
  /** Names the rows this server queued until a worker takes them (then they name the worker). */
  readonly worker = `queue:${randomUUID()}`;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly publisher: Redis;
  private readonly followed = new Map<string, Followed>();
  private readonly reconciler: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: QueueStepExecutorOptions) {
    this.slots = options.slots ?? 1000;
    const connection = redisConnection(options.url);
    this.queue = new Queue(STEP_QUEUE, { connection, prefix: options.prefix });
    this.events = new QueueEvents(STEP_QUEUE, { connection, prefix: options.prefix });
    this.publisher = new Redis(connection);
    this.queue.on('error', (error) => options.onError(error, 'job queue connection error'));
    this.events.on('error', (error) => options.onError(error, 'job queue connection error'));
    this.publisher.on('error', (error) => options.onError(error, 'job queue connection error'));
    this.events.on('progress', ({ jobId, data }) => this.taken(jobId, data));
    this.events.on('completed', ({ jobId, returnvalue }) => this.completed(jobId, returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) => this.failed(jobId, failedReason));
    this.reconciler = setInterval(() => void this.reconcile(), options.reconcileMs ?? 5000);
    this.reconciler.unref();
  }

  submit(task: StepTask): void {
    const jobId = stepJobId(task.stepRunId, task.attempt);
    const followed: Followed = { task, jobId, added: false };
    this.followed.set(task.stepRunId, followed);
    this.queue
      .add('step', task, {
        jobId,
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      })
      .then(() => {
        followed.added = true;
      })
      .catch((error: unknown) =>
        this.lost(task, `the job queue refused the step: ${(error as Error).message}`),
      );
  }

  cancel(stepRunId: string): boolean {
    const followed = this.followed.get(stepRunId);
    if (followed === undefined) return false;
    void (async () => {
      const job = await Job.fromId(this.queue, followed.jobId);
      const state = job === undefined ? 'missing' : await job.getState();
      if (state === 'active') {
        await this.publisher.publish(cancelChannel(this.options.prefix), stepRunId);
        return;
      }
      // Not taken yet (or gone): removing it is enough, nobody will report.
      if (job !== undefined) await job.remove().catch(() => undefined);
      this.report(ended(followed.task, { outcome: 'cancelled', error: 'cancelled', at: this.now() }));
    })().catch((error: unknown) => this.options.onError(error, `cancelling step ${stepRunId} failed`));
    return true;
  }

  /**
   * Picks up an attempt a previous server handed over. True when the queue still has it (its
   * result is reported when it ends, or now if it already has); false when the queue lost it.
   */
  async recover(attempt: { stepRunId: string; attempt: number }): Promise<boolean> {
    const jobId = stepJobId(attempt.stepRunId, attempt.attempt);
    const job = await Job.fromId<StepTask>(this.queue, jobId);
    if (job === undefined) return false;
    this.followed.set(attempt.stepRunId, { task: job.data, jobId, added: true });
    const state = await job.getState();
    if (state === 'completed') this.completed(jobId, job.returnvalue);
    else if (state === 'failed') this.failed(jobId, job.failedReason);
    return true;
  }

  async abandon(): Promise<void> {
    // Queued attempts are recovered, never abandoned: their workers are elsewhere.
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reconciler);
    await Promise.allSettled([this.events.close(), this.queue.close(), this.publisher.quit()]);
  }

  private taken(jobId: string, data: unknown): void {
    const followed = this.byJob(jobId);
    const by = data as Partial<TakenBy> | null;
    if (followed === undefined || by === null || typeof by !== 'object' || typeof by.worker !== 'string')
      return;
    this.options.listener.started(followed.task, { pid: null, worker: by.worker });
  }

  private completed(jobId: string, returnvalue: unknown): void {
    const followed = this.byJob(jobId);
    if (followed === undefined) return;
    let result: StepResult;
    try {
      result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as StepResult;
    } catch {
      result = ended(followed.task, {
        outcome: 'failed',
        error: 'the worker sent back an unreadable result',
        at: this.now(),
      });
    }
    this.report(result);
  }

  private failed(jobId: string, reason: string): void {
    const followed = this.byJob(jobId);
    if (followed === undefined) return;
    // A job fails in BullMQ only for our reasons (a worker crashed twice on it, a lost lock): never the step's.
    this.report(
      ended(followed.task, {
        outcome: 'failed',
        error: `the job queue gave up on it: ${reason}`,
        at: this.now(),
      }),
    );
  }

  private lost(task: StepTask, error: string): void {
    if (this.followed.get(task.stepRunId)?.task.attempt !== task.attempt) return;
    this.report(ended(task, { outcome: 'failed', error, at: this.now() }));
  }

  private report(result: StepResult): void {
    const followed = this.followed.get(result.stepRunId);
    if (followed === undefined || followed.task.attempt !== result.attempt) return;
    this.followed.delete(result.stepRunId);
    this.options.listener.finished(result);
  }

  /** Jobs Redis no longer has (it restarted empty) will never report: say so, and the scheduler retries. */
  private async reconcile(): Promise<void> {
    if (this.closed) return;
    for (const followed of [...this.followed.values()]) {
      if (!followed.added) continue;
      try {
        const job = await Job.fromId(this.queue, followed.jobId);
        if (job === undefined) this.lost(followed.task, 'the job queue lost the step (was Redis restarted?)');
      } catch {
        // Redis is down right now: nothing can be known; try again next round.
        return;
      }
    }
  }

  private byJob(jobId: string): Followed | undefined {
    const stepRunId = jobId.slice(0, jobId.lastIndexOf('.a'));
    const followed = this.followed.get(stepRunId);
    return followed?.jobId === jobId ? followed : undefined;
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }
}

function ended(
  task: StepTask,
  end: { outcome: StepResult['outcome']; error: string; at: number },
): StepResult {
  return {
    stepRunId: task.stepRunId,
    attempt: task.attempt,
    outcome: end.outcome,
    exitCode: null,
    signal: null,
    outputs: {},
    stdout: null,
    stderr: null,
    stderrTail: '',
    metrics: [],
    error: end.error,
    userFault: false,
    startedAt: end.at,
    endedAt: end.at,
  };
}
