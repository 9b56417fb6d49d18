import type {
  ParamValue,
  PipelineExecutorName,
  PipelineRunStatus,
  PipelineSpec,
  StepRunStatus,
} from '@cairn/contract';

/** What started a pipeline run. */
export type PipelineTrigger =
  | { kind: 'manual' }
  | { kind: 'resume'; previous: string }
  | { kind: 'schedule'; triggerId: string; at: number }
  | { kind: 'dataset'; triggerId: string; dataset: string; versionId: string };

/** A stored output: a file, or a directory whose digest names a manifest blob. */
export interface StepOutput {
  digest: string;
  sizeBytes: number;
  type: 'file' | 'dir';
}

/** One row of `pipeline_runs`: a pipeline definition run once with fixed parameters. */
export interface PipelineRunRecord {
  pipelineRunId: string;
  projectId: string;
  pipelineName: string;
  spec: PipelineSpec;
  definitionDigest: string;
  /** The code package's manifest digest; null when the pipeline has no code files. */
  codeDigest: string | null;
  /** The run's parameter values: the spec's defaults with the caller's overrides applied. */
  params: Record<string, ParamValue>;
  executor: PipelineExecutorName;
  useCache: boolean;
  status: PipelineRunStatus;
  trigger: PipelineTrigger;
  /** Unique when set: two triggers firing for the same dataset version make one run. */
  triggerKey: string | null;
  error: string | null;
  /** The tracking experiment its step runs are logged in. */
  experimentId: string;
  /** The scheduler holding the run, and until when (a scheduler that stops renewing loses it). */
  owner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  createdBy: string;
}

/**
 * One row of `pipeline_steps`: a step of a pipeline run (or one item of a
 * `foreach` step). Its attempts are tracking runs; the row holds the latest.
 */
export interface StepRunRecord {
  stepRunId: string;
  pipelineRunId: string;
  stepName: string;
  /** -1 for a step without `foreach`, else the item's position. */
  itemIndex: number;
  item: ParamValue | null;
  status: StepRunStatus;
  /** Attempts begun so far (0 before the first). */
  attempt: number;
  cacheKey: string | null;
  cachedFrom: string | null;
  reason: string | null;
  /** Tracking run of the latest attempt, or of the reused step run when cached. */
  runId: string | null;
  outputs: Record<string, StepOutput>;
  exitCode: number | null;
  error: string | null;
  stderrTail: string | null;
  /** Not started again before this time (retry backoff). */
  notBefore: number | null;
  /** Which process holds the attempt (a scheduler for local steps, a worker for queued ones), and until when. */
  leaseOwner: string | null;
  leaseUntil: number | null;
  /** The local process group, so a restarted server can stop a step its predecessor left running. */
  pid: number | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

export const FINISHED_STEP_STATUSES: ReadonlySet<StepRunStatus> = new Set([
  'succeeded',
  'cached',
  'failed',
  'skipped',
  'cancelled',
]);
export const DONE_STEP_STATUSES: ReadonlySet<StepRunStatus> = new Set(['succeeded', 'cached']);
export const ENDED_RUN_STATUSES: ReadonlySet<PipelineRunStatus> = new Set([
  'succeeded',
  'failed',
  'cancelled',
]);

/** `name` or `name[3]`, as people and the CLI name a step run. */
export function stepRunLabel(step: Pick<StepRunRecord, 'stepName' | 'itemIndex'>): string {
  return step.itemIndex < 0 ? step.stepName : `${step.stepName}[${step.itemIndex}]`;
}

/** A saved way to start a pipeline: on a cron schedule, or when a dataset gets a new version or an alias moves. */
export interface PipelineTriggerRecord {
  triggerId: string;
  projectId: string;
  /** Unique within the project. */
  name: string;
  kind: 'schedule' | 'dataset';
  /** Schedule: a cron expression (five fields, UTC unless `timezone`). */
  cron: string | null;
  timezone: string | null;
  /** Dataset trigger: the dataset and, optionally, the alias whose moves count (null: any new version). */
  dataset: string | null;
  alias: string | null;
  spec: PipelineSpec;
  definitionDigest: string;
  codeDigest: string | null;
  params: Record<string, ParamValue>;
  executor: PipelineExecutorName;
  enabled: boolean;
  /** Schedule: when it fires next. Dataset: unused. */
  nextAt: number | null;
  /** Dataset: the last version (or alias target) it started a run for. */
  lastSeen: string | null;
  createdAt: number;
  createdBy: string;
}
