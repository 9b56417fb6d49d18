import { Type, type Static } from '@sinclair/typebox';

/**
 * Tracking entities as the native API (/api/v1) sends them. Times are epoch
 * milliseconds. A metric value that JSON cannot carry (NaN, ±Infinity) is sent
 * as the string "NaN", "Infinity" or "-Infinity", as protobuf JSON does.
 */
export const LIFECYCLE_STAGES = ['active', 'deleted'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

/** MLflow's limits, kept so that anything MLflow accepts we accept, and the reverse. */
export const TRACKING_LIMITS = {
  maxEntityKeyLength: 250,
  maxParamValueLength: 6000,
  maxTagValueLength: 8000,
  maxExperimentTagValueLength: 5000,
  maxExperimentNameLength: 500,
  maxRunNameLength: 250,
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchTotal: 1000,
  maxResultsRuns: 50_000,
  maxResultsExperiments: 50_000,
  defaultMaxResults: 1000,
  maxDatasetsPerCall: 1000,
} as const;

export const MetricValue = Type.Union([
  Type.Number(),
  Type.Literal('NaN'),
  Type.Literal('Infinity'),
  Type.Literal('-Infinity'),
]);
export type MetricValue = Static<typeof MetricValue>;

export const Metric = Type.Object({
  key: Type.String(),
  value: MetricValue,
  timestamp: Type.Integer(),
  step: Type.Integer(),
});
export type Metric = Static<typeof Metric>;

export const KeyValue = Type.Object({ key: Type.String(), value: Type.String() });
export type KeyValue = Static<typeof KeyValue>;

export const Experiment = Type.Object({
  experimentId: Type.String(),
  name: Type.String(),
  artifactLocation: Type.String(),
  lifecycleStage: Type.Union(LIFECYCLE_STAGES.map((s) => Type.Literal(s))),
  creationTime: Type.Integer(),
  lastUpdateTime: Type.Integer(),
  tags: Type.Record(Type.String(), Type.String()),
});
export type Experiment = Static<typeof Experiment>;

export const Dataset = Type.Object({
  name: Type.String(),
  digest: Type.String(),
  sourceType: Type.String(),
  source: Type.String(),
  schema: Type.Optional(Type.String()),
  profile: Type.Optional(Type.String()),
});
export type Dataset = Static<typeof Dataset>;

export const DatasetInput = Type.Object({
  dataset: Dataset,
  tags: Type.Array(KeyValue),
});
export type DatasetInput = Static<typeof DatasetInput>;

export const RunInfo = Type.Object({
  runId: Type.String(),
  runName: Type.String(),
  experimentId: Type.String(),
  userId: Type.String(),
  status: Type.Union(RUN_STATUSES.map((s) => Type.Literal(s))),
  startTime: Type.Integer(),
  endTime: Type.Union([Type.Integer(), Type.Null()]),
  artifactUri: Type.String(),
  lifecycleStage: Type.Union(LIFECYCLE_STAGES.map((s) => Type.Literal(s))),
});
export type RunInfo = Static<typeof RunInfo>;

export const Run = Type.Object({
  info: RunInfo,
  data: Type.Object({
    metrics: Type.Array(Metric),
    params: Type.Record(Type.String(), Type.String()),
    tags: Type.Record(Type.String(), Type.String()),
  }),
  inputs: Type.Object({ datasetInputs: Type.Array(DatasetInput) }),
});
export type Run = Static<typeof Run>;

export const ArtifactEntry = Type.Object({
  path: Type.String(),
  isDir: Type.Boolean(),
  sizeBytes: Type.Optional(Type.Integer()),
  digest: Type.Optional(Type.String()),
});
export type ArtifactEntry = Static<typeof ArtifactEntry>;

export const Page = <T extends ReturnType<typeof Type.Object>>(item: T, field: string) =>
  Type.Object({ [field]: Type.Array(item), nextPageToken: Type.Optional(Type.String()) });

export const RUN_TAGS = {
  runName: 'mlflow.runName',
  parentRunId: 'mlflow.parentRunId',
  user: 'mlflow.user',
  sourceName: 'mlflow.source.name',
  gitCommit: 'mlflow.source.git.commit',
  datasetContext: 'mlflow.data.context',
} as const;

/** Decodes the wire form of a metric value into a JS number (NaN/±Infinity included). */
export function decodeMetricValue(value: MetricValue): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  return value === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** Encodes a JS number for JSON: NaN and ±Infinity become strings. */
export function encodeMetricValue(value: number): MetricValue {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}
