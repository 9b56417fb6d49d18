import type { ParamValue, ResourceHint } from '@cairn/contract';
import type { StepOutput } from './entities.js';

/** An input as an executor receives it: everything needed to lay it out in a workspace. */
export type ResolvedInput =
  /** A stored file or directory (an upstream output), by digest. */
  | { kind: 'blob'; output: StepOutput }
  /** A `foreach` step's outputs joined: one entry per item, laid out as `<dir>/<index, 5+ digits>`. */
  | { kind: 'joined'; items: ReadonlyArray<StepOutput | null> }
  /** Every file of a dataset version, laid out as a directory. */
  | { kind: 'dataset'; dataset: string; versionId: string }
  /** A parameter's value, rendered in the command as text. */
  | { kind: 'value'; value: ParamValue };

/** One attempt of one step run, as handed to an executor. Plain JSON, so a queue can carry it. */
export interface StepTask {
  stepRunId: string;
  pipelineRunId: string;
  /** The step run's label: `train` or `scale[3]`. */
  label: string;
  attempt: number;
  /** The command template, unrendered: rendering needs the workspace's paths. */
  run: string;
  inputs: Record<string, ResolvedInput>;
  outputs: string[];
  /** The parameters the step uses, with the run's values. */
  params: Record<string, ParamValue>;
  item: { index: number; value: ParamValue } | null;
  env: Record<string, string>;
  /** The code package's manifest digest, laid out as the working directory; null: an empty one. */
  codeDigest: string | null;
  timeoutMs: number | null;
  resources: ResourceHint;
  /** The tracking run this attempt logs to (MLFLOW_RUN_ID / CAIRN_RUN_ID in its environment). */
  runId: string;
}

export interface LoggedMetric {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

export interface StoredLog {
  digest: string;
  sizeBytes: number;
}

/** How an attempt ended, as the executor saw it. Plain JSON, so a queue can carry it back. */
export interface StepResult {
  stepRunId: string;
  attempt: number;
  outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
  exitCode: number | null;
  signal: string | null;
  outputs: Record<string, StepOutput>;
  /** The full logs, stored as blobs. */
  stdout: StoredLog | null;
  stderr: StoredLog | null;
  /** The last lines of stderr, for the error message. */
  stderrTail: string;
  /** Metrics the step wrote to its `CAIRN_METRICS_FILE` (JSON lines). */
  metrics: LoggedMetric[];
  /** Why it failed, in a sentence (a missing output, a timeout, a crash setting it up). */
  error: string | null;
  /**
   * False when the failure was ours (the workspace could not be set up, the blob store was down),
   * not the step's: such an attempt runs again without using up a retry.
   */
  userFault: boolean;
  startedAt: number;
  endedAt: number;
}

/** Told when an attempt starts (with its local process group) and when it ends. */
export interface StepListener {
  started(task: StepTask, info: { pid: number | null; worker: string }): void;
  finished(result: StepResult): void;
}

/**
 * Where steps run: child processes of this server (local) or jobs on a queue
 * taken by `cairn worker`s. The scheduler hands tasks over and hears back
 * through the listener; it never waits on a step.
 */
export interface StepExecutor {
  readonly name: 'local' | 'queue';
  /** Steps it will run at once; the scheduler keeps no more than this many handed over. */
  readonly slots: number;
  submit(task: StepTask): void;
  /** Stops an attempt; the listener still hears `finished` with outcome `cancelled`. False when it holds no such attempt. */
  cancel(stepRunId: string): boolean;
  /**
   * An attempt another scheduler handed over and will never hear back from (that server
   * stopped): stop whatever is left of it. The scheduler then runs the step again.
   */
  abandon(attempt: { stepRunId: string; pid: number | null; worker: string | null }): Promise<void>;
  /**
   * An attempt a previous scheduler handed over that may still be alive elsewhere (a queue job).
   * True when the executor follows it from now on and will report its end; false when it is gone.
   * Executors without it have nothing that outlives their scheduler.
   */
  recover?(attempt: { stepRunId: string; attempt: number }): Promise<boolean>;
  /** This executor's name for the process that runs its attempts (a row's `leaseOwner`). */
  readonly worker: string;
  close(): Promise<void>;
}
