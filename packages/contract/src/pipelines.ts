import { Type, type Static } from '@sinclair/typebox';

/**
 * Pipeline runs as the native API (/api/v1/pipeline-runs…) sends them. Times
 * are epoch milliseconds; digests are `sha256:<hex>`.
 */
const strict = { additionalProperties: false } as const;
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

export const PIPELINE_RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelling', 'cancelled'] as const;
export type PipelineRunStatus = (typeof PIPELINE_RUN_STATUSES)[number];

/**
 * pending: waiting for its inputs or a slot; queued: handed to an executor;
 * running: a process has it; skipped: an upstream step failed or the run was cancelled first.
 */
export const STEP_RUN_STATUSES = [
  'pending',
  'queued',
  'running',
  'succeeded',
  'cached',
  'failed',
  'skipped',
  'cancelled',
] as const;
export type StepRunStatus = (typeof STEP_RUN_STATUSES)[number];

export const PIPELINE_EXECUTORS = ['local', 'queue'] as const;
export type PipelineExecutorName = (typeof PIPELINE_EXECUTORS)[number];

export const StepOutputJson = Type.Object(
  {
    digest: Type.String(),
    sizeBytes: Type.Integer({ minimum: 0 }),
    /** A file, or a directory (the digest names its manifest). */
    type: Type.Union([Type.Literal('file'), Type.Literal('dir')]),
  },
  strict,
);
export type StepOutputJson = Static<typeof StepOutputJson>;

export const StepRunJson = Type.Object(
  {
    id: Type.String(),
    /** The step's name; `name[i]` for item i of a `foreach` step. */
    name: Type.String(),
    step: Type.String(),
    index: NullableInt,
    item: Type.Unknown(),
    status: Type.Union(STEP_RUN_STATUSES.map((s) => Type.Literal(s))),
    cached: Type.Boolean(),
    /** Why it ran, was reused or was skipped, in a sentence. */
    reason: Nullable(Type.String()),
    attempt: Type.Integer({ minimum: 0 }),
    cacheKey: Nullable(Type.String()),
    /** For a cached step: the step run whose outputs it reused, and that run's tracking run. */
    cachedFrom: Nullable(Type.String()),
    /** The tracking run of the latest attempt (the reused one for a cached step). */
    runId: Nullable(Type.String()),
    outputs: Type.Record(Type.String(), StepOutputJson),
    exitCode: NullableInt,
    error: Nullable(Type.String()),
    /** The last lines of stderr when it failed. */
    stderrTail: Nullable(Type.String()),
    startedAt: NullableInt,
    endedAt: NullableInt,
  },
  strict,
);
export type StepRunJson = Static<typeof StepRunJson>;

export const PipelineRunJson = Type.Object(
  {
    id: Type.String(),
    pipeline: Type.String(),
    project: Type.String(),
    status: Type.Union(PIPELINE_RUN_STATUSES.map((s) => Type.Literal(s))),
    executor: Type.Union(PIPELINE_EXECUTORS.map((s) => Type.Literal(s))),
    useCache: Type.Boolean(),
    params: Type.Record(Type.String(), Type.Unknown()),
    trigger: Type.Record(Type.String(), Type.Unknown()),
    error: Nullable(Type.String()),
    experimentId: Type.String(),
    definitionDigest: Type.String(),
    codeDigest: Nullable(Type.String()),
    /** Step counts by status. */
    counts: Type.Record(Type.String(), Type.Integer()),
    createdAt: Type.Integer(),
    startedAt: NullableInt,
    endedAt: NullableInt,
    createdBy: Type.String(),
  },
  strict,
);
export type PipelineRunJson = Static<typeof PipelineRunJson>;

export const PipelineRunDetailJson = Type.Composite([
  PipelineRunJson,
  Type.Object({ steps: Type.Array(StepRunJson) }),
]);
export type PipelineRunDetailJson = Static<typeof PipelineRunDetailJson>;

/** What `cairn pipeline run --json` prints once the run has ended. */
export interface PipelineRunSummaryJson {
  run: string;
  status: PipelineRunStatus;
  steps: Array<{ name: string; status: StepRunStatus; cached: boolean }>;
}

export const PIPELINE_RUN_ID_PATTERN = '^pr_[0-9a-z]{8,64}$';

export const PipelineTriggerJson = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    project: Type.String(),
    /** `schedule`: fires on its cron; `dataset`: fires when the dataset gets a new version (or its alias moves). */
    kind: Type.Union([Type.Literal('schedule'), Type.Literal('dataset')]),
    cron: Nullable(Type.String()),
    timezone: Nullable(Type.String()),
    dataset: Nullable(Type.String()),
    alias: Nullable(Type.String()),
    pipeline: Type.String(),
    params: Type.Record(Type.String(), Type.Unknown()),
    executor: Type.Union(PIPELINE_EXECUTORS.map((s) => Type.Literal(s))),
    enabled: Type.Boolean(),
    /** Schedule: when it fires next. */
    nextAt: NullableInt,
    /** Dataset: the version id it last started a run for (or found when created). */
    lastSeen: Nullable(Type.String()),
    createdAt: Type.Integer(),
    createdBy: Type.String(),
  },
  strict,
);
export type PipelineTriggerJson = Static<typeof PipelineTriggerJson>;
