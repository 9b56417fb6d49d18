import {
  CairnError,
  encodeMetricValue,
  TRACKING_LIMITS,
  trackingKeyProblem,
  type DatasetVersionJson,
  type Run,
  type RunInfo,
} from '@cairn/contract';
import { asCairnError } from './errors.js';
import { trackOpenRun, untrackRun, type ClosableRun } from './exit-hooks.js';
import { nextBatchSize, toBatchRequest, type QueuedItem } from './log-queue.js';
import type { DatasetVersionRef, RunsResource } from './runs.js';

export type ParamValue = string | number | boolean;
export type EndStatus = 'FINISHED' | 'FAILED' | 'KILLED';

/** Queued items that trigger a send at once rather than at the next tick of the timer. */
const FLUSH_AT_ITEMS = 1000;
const FLUSH_EVERY_MS = 1000;
const DEFAULT_END_TIMEOUT_MS = 30_000;

const invalid = (message: string, field: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

function checkKey(key: unknown, what: string): string {
  const problem = trackingKeyProblem(key);
  if (problem !== undefined) throw invalid(`${what} key ${problem}`, 'key');
  return key as string;
}

function checkInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value)) throw invalid(`${field} must be an integer, got ${value}`, field);
  return value;
}

function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A run this process is writing to. Metrics, params and tags are queued in
 * memory and sent in batches by a background flusher (every second, or at
 * once when 1000 items wait), so logging in a training loop never waits for
 * the network. Values are checked when logged, so one bad key cannot sink a
 * batch; a batch the server refuses surfaces as the rejection of the next
 * `flush()` or `end()`.
 */
export class ActiveRun implements ClosableRun {
  readonly runId: string;
  readonly experimentId: string;
  private currentInfo: RunInfo;
  private readonly queue: QueuedItem[] = [];
  private enqueued = 0;
  private settled = 0;
  private draining: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** A refused batch since the last flush: reported once. */
  private lost: CairnError | undefined;
  /** Why the last send failed for now (the items were kept); cleared by a good send. */
  private stalled: CairnError | undefined;
  private readonly params = new Map<string, string>();
  private ending: Promise<void> | undefined;

  constructor(
    private readonly runs: RunsResource,
    run: Run,
  ) {
    this.runId = run.info.runId;
    this.experimentId = run.info.experimentId;
    this.currentInfo = run.info;
    for (const [key, value] of Object.entries(run.data.params)) this.params.set(key, value);
    trackOpenRun(this);
  }

  /** The run's info as last seen (status and end time are updated by `end()`). */
  get info(): RunInfo {
    return this.currentInfo;
  }

  /** Items logged but not yet accepted by the server. */
  get pendingCount(): number {
    return this.enqueued - this.settled;
  }

  logParam(key: string, value: ParamValue): void {
    checkKey(key, 'param');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw invalid(`param "${key}" must be a string, number or boolean`, 'value');
    }
    const text = String(value);
    if (text.length > TRACKING_LIMITS.maxParamValueLength) {
      throw invalid(
        `param "${key}" is ${text.length} characters long; the limit is ${TRACKING_LIMITS.maxParamValueLength}`,
        'value',
      );
    }
    const previous = this.params.get(key);
    if (previous === text) return;
    if (previous !== undefined) {
      throw invalid(
        `param "${key}" was already logged as "${previous}"; a param never changes (attempted "${text}")`,
        'key',
      );
    }
    this.params.set(key, text);
    this.enqueue({ kind: 'param', param: { key, value: text } });
  }

  logParams(params: Record<string, ParamValue>): void {
    for (const [key, value] of Object.entries(params)) this.logParam(key, value);
  }

  logMetric(key: string, value: number, options: { step?: number; timestamp?: number } = {}): void {
    checkKey(key, 'metric');
    if (typeof value !== 'number')
      throw invalid(`metric "${key}" must be a number, got ${typeof value}`, 'value');
    this.enqueue({
      kind: 'metric',
      metric: {
        key,
        value: encodeMetricValue(value),
        timestamp: checkInteger(options.timestamp ?? Date.now(), 'timestamp'),
        step: checkInteger(options.step ?? 0, 'step'),
      },
    });
  }

  logMetrics(metrics: Record<string, number>, options: { step?: number } = {}): void {
    const timestamp = Date.now();
    for (const [key, value] of Object.entries(metrics)) this.logMetric(key, value, { ...options, timestamp });
  }

  setTag(key: string, value: string): void {
    checkKey(key, 'tag');
    if (typeof value !== 'string') throw invalid(`tag "${key}" must be a string`, 'value');
    if (value.length > TRACKING_LIMITS.maxTagValueLength) {
      throw invalid(
        `tag "${key}" is ${value.length} characters long; the limit is ${TRACKING_LIMITS.maxTagValueLength}`,
        'value',
      );
    }
    this.enqueue({ kind: 'tag', tag: { key, value } });
  }

  /**
   * Records a Cairn dataset version as an input of this run (`'churn@3'`,
   * `'churn@gold'`, `{ dataset: 'churn', version: 3 }`), linking the two in
   * lineage; `context` is MLflow's `mlflow.data.context` (`training`, `eval`…).
   * Resolves with the version it logged.
   */
  async logDatasetInput(
    ref: DatasetVersionRef,
    options: { context?: string } = {},
  ): Promise<DatasetVersionJson> {
    return this.runs.logDatasetInput(this.runId, ref, options);
  }

  /** Uploads one file to `<artifactPath>/<file name>` (the run root when no path is given). */
  async logArtifact(localFile: string, artifactPath?: string): Promise<void> {
    const files = await import('./local-files.js');
    await files.uploadFile({ runs: this.runs, runId: this.runId }, localFile, artifactPath);
  }

  /** Uploads everything below a local folder, recursively, to `artifactPath` (the run root by default). */
  async logArtifacts(localDir: string, artifactPath?: string): Promise<void> {
    const files = await import('./local-files.js');
    await files.uploadFolder({ runs: this.runs, runId: this.runId }, localDir, artifactPath);
  }

  /**
   * Sends everything queued so far. Rejects if a batch was refused since the
   * last flush (its items are lost, and the error says how many), or if the
   * server cannot be reached now (the items stay queued for the next try).
   */
  async flush(): Promise<void> {
    const target = this.enqueued;
    this.cancelTimer();
    while (this.settled < target) {
      this.stalled = undefined;
      await this.pump();
      if (this.stalled !== undefined) break;
    }
    const error = this.lost ?? (this.settled < target ? this.stalled : undefined);
    this.lost = undefined;
    if (error !== undefined) throw error;
  }

  /**
   * Flushes (within `timeoutMs`, 30 s by default), then records the status and
   * end time. Later logging calls throw. Calling it again returns the same promise.
   */
  end(status: EndStatus = 'FINISHED', options: { timeoutMs?: number } = {}): Promise<void> {
    this.ending ??= this.finish(status, options.timeoutMs ?? DEFAULT_END_TIMEOUT_MS);
    return this.ending;
  }

  private async finish(status: EndStatus, timeoutMs: number): Promise<void> {
    untrackRun(this);
    const deadline = Date.now() + timeoutMs;
    let flushError: unknown;
    try {
      await withDeadline(
        this.flush(),
        timeoutMs,
        () =>
          new CairnError(
            'UNAVAILABLE',
            `Run ${this.runId}: ${this.pendingCount} metrics/params/tags were still unsent after ${timeoutMs} ms.`,
            { retryable: true },
          ),
      );
    } catch (error) {
      flushError = error;
    }
    this.cancelTimer();
    try {
      this.currentInfo = await withDeadline(
        this.runs.update(this.runId, { status, endTime: Date.now() }),
        Math.max(deadline - Date.now(), Math.min(timeoutMs, 5000)),
        () =>
          new CairnError(
            'UNAVAILABLE',
            `Run ${this.runId}: no answer while setting its status to ${status}.`,
          ),
      );
    } catch (error) {
      if (flushError === undefined) throw error;
    }
    if (flushError !== undefined) throw flushError;
  }

  // ── the queue ──

  private enqueue(item: QueuedItem): void {
    if (this.ending !== undefined) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `Run ${this.runId} has ended; nothing more can be logged to it.`,
      );
    }
    this.queue.push(item);
    this.enqueued++;
    if (this.queue.length >= FLUSH_AT_ITEMS) {
      this.cancelTimer();
      void this.pump();
    } else if (this.timer === undefined && this.draining === undefined) {
      this.schedule();
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, FLUSH_EVERY_MS);
    // Never the reason a finished script keeps running; `beforeExit` sends the rest.
    this.timer.unref?.();
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Starts sending unless already sending; resolves when the queue is empty or a send failed. Never rejects. */
  private pump(): Promise<void> {
    this.draining ??= this.drain()
      .catch((error: unknown) => {
        this.lost ??= asCairnError(error);
      })
      .finally(() => {
        this.draining = undefined;
        if (this.queue.length > 0 && this.stalled === undefined && this.ending === undefined) {
          this.schedule();
        }
      });
    return this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const items = this.queue.splice(0, nextBatchSize(this.queue));
      try {
        await this.runs.logBatch(this.runId, toBatchRequest(items));
        this.settled += items.length;
        this.stalled = undefined;
      } catch (raw) {
        const error = asCairnError(raw);
        if (error.retryable) {
          // The server could not take it now; keep the items for the next flush.
          this.queue.unshift(...items);
          this.stalled = error;
          return;
        }
        // Refused as invalid: sending it again cannot help. Say so, with what was lost.
        this.settled += items.length;
        this.lost ??= new CairnError(
          error.code,
          `Run ${this.runId}: a batch of ${items.length} metrics/params/tags was refused and not logged: ${error.message}`,
          {
            cause: error,
            ...(error.field === undefined ? {} : { field: error.field }),
            ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
          },
        );
      }
    }
  }
}
