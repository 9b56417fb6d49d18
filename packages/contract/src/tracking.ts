import { Type, type Static } from '@sinclair/typebox';
import { ERROR_CODES } from './errors.js';

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
  project: Type.Optional(
    Type.String({ description: 'The project the experiment belongs to (its permission boundary).' }),
  ),
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

// ── native API (/api/v1) requests and responses ────────────────────────────
// Request bodies are strict: an unknown field is an error, not silently
// ignored, so a misspelt option never passes unnoticed.

const strict = { additionalProperties: false } as const;
const StringMap = Type.Record(Type.String(), Type.String());
const Id = Type.String({ minLength: 1, maxLength: 256 });

export const ViewType = Type.Union(
  VIEW_TYPES.map((v) => Type.Literal(v)),
  { description: 'Which lifecycle stages to include; ACTIVE_ONLY when omitted.' },
);
export const RunStatus = Type.Union(RUN_STATUSES.map((s) => Type.Literal(s)));

/** Query of a search: filter expression, ordering and paging. */
const searchFields = {
  filter: Type.Optional(Type.String({ description: 'Filter expression, e.g. `metrics.acc > 0.9`.' })),
  orderBy: Type.Optional(Type.Array(Type.String(), { description: 'e.g. `metrics.acc DESC`' })),
  maxResults: Type.Optional(Type.Integer({ minimum: 1 })),
  pageToken: Type.Optional(Type.String()),
  viewType: Type.Optional(ViewType),
};

export const CreateExperimentRequest = Type.Object(
  {
    name: Type.String(),
    artifactLocation: Type.Optional(Type.String()),
    tags: Type.Optional(StringMap),
    project: Type.Optional(
      Type.String({
        description:
          'The project to create the experiment in (default `default`); needs the editor role there. ' +
          'Experiments never move between projects.',
      }),
    ),
  },
  strict,
);
export type CreateExperimentRequest = Static<typeof CreateExperimentRequest>;

export const ListExperimentsQuery = Type.Object(searchFields, strict);
export type ListExperimentsQuery = Static<typeof ListExperimentsQuery>;

export const ExperimentList = Type.Object({
  experiments: Type.Array(Experiment),
  nextPageToken: Type.Optional(Type.String()),
});
export type ExperimentList = Static<typeof ExperimentList>;

export const RenameExperimentRequest = Type.Object({ name: Type.String() }, strict);
export type RenameExperimentRequest = Static<typeof RenameExperimentRequest>;

/** Body of the PUT routes that set one tag or param. */
export const SetValueRequest = Type.Object({ value: Type.String() }, strict);
export type SetValueRequest = Static<typeof SetValueRequest>;

export const CreateRunRequest = Type.Object(
  {
    experimentId: Type.Optional(Id),
    runName: Type.Optional(Type.String()),
    startTime: Type.Optional(Type.Integer({ description: 'Epoch ms; the server time when omitted.' })),
    tags: Type.Optional(StringMap),
    parentRunId: Type.Optional(Id),
  },
  strict,
);
export type CreateRunRequest = Static<typeof CreateRunRequest>;

export const UpdateRunRequest = Type.Object(
  {
    status: Type.Optional(RunStatus),
    endTime: Type.Optional(Type.Integer()),
    runName: Type.Optional(Type.String()),
  },
  strict,
);
export type UpdateRunRequest = Static<typeof UpdateRunRequest>;

export const SearchRunsRequest = Type.Object({ experimentIds: Type.Array(Id), ...searchFields }, strict);
export type SearchRunsRequest = Static<typeof SearchRunsRequest>;

export const RunList = Type.Object({
  runs: Type.Array(Run),
  nextPageToken: Type.Optional(Type.String()),
});
export type RunList = Static<typeof RunList>;

export const MetricInput = Type.Object(
  {
    key: Type.String(),
    value: MetricValue,
    timestamp: Type.Optional(Type.Integer({ description: 'Epoch ms; the server time when omitted.' })),
    step: Type.Optional(Type.Integer({ description: '0 when omitted.' })),
  },
  strict,
);
export type MetricInput = Static<typeof MetricInput>;

const KeyValueInput = Type.Object({ key: Type.String(), value: Type.String() }, strict);

export const LogBatchRequest = Type.Object(
  {
    metrics: Type.Optional(Type.Array(MetricInput, { maxItems: TRACKING_LIMITS.batchMetrics })),
    params: Type.Optional(Type.Array(KeyValueInput, { maxItems: TRACKING_LIMITS.batchParams })),
    tags: Type.Optional(Type.Array(KeyValueInput, { maxItems: TRACKING_LIMITS.batchTags })),
  },
  strict,
);
export type LogBatchRequest = Static<typeof LogBatchRequest>;

export const MetricHistoryQuery = Type.Object(
  { maxResults: Type.Optional(Type.Integer({ minimum: 1 })), pageToken: Type.Optional(Type.String()) },
  strict,
);
export type MetricHistoryQuery = Static<typeof MetricHistoryQuery>;

export const MetricHistory = Type.Object({
  metrics: Type.Array(Metric),
  nextPageToken: Type.Optional(Type.String()),
});
export type MetricHistory = Static<typeof MetricHistory>;

export const LogInputsRequest = Type.Object(
  {
    datasets: Type.Array(
      Type.Object(
        { dataset: Type.Object(Dataset.properties, strict), tags: Type.Optional(Type.Array(KeyValueInput)) },
        strict,
      ),
      { maxItems: TRACKING_LIMITS.maxDatasetsPerCall },
    ),
  },
  strict,
);
export type LogInputsRequest = Static<typeof LogInputsRequest>;

export const ArtifactListQuery = Type.Object(
  { path: Type.Optional(Type.String({ description: 'Folder below the run root; the root when omitted.' })) },
  strict,
);
export type ArtifactListQuery = Static<typeof ArtifactListQuery>;

export const ArtifactListing = Type.Object({
  rootUri: Type.String(),
  files: Type.Array(ArtifactEntry, { description: 'Paths are relative to the run artifact root.' }),
});
export type ArtifactListing = Static<typeof ArtifactListing>;

export const ArtifactUploadResult = Type.Object({
  path: Type.String({ description: 'Relative to the run artifact root.' }),
  sizeBytes: Type.Integer(),
  digest: Type.String(),
});
export type ArtifactUploadResult = Static<typeof ArtifactUploadResult>;

/** The native error body (see docs/errors.md). */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))),
      message: Type.String(),
      field: Type.Optional(Type.String()),
      requestId: Type.Optional(Type.String()),
    }),
  },
  { description: 'The request failed; `code` says why (docs/errors.md).' },
);

// ── keys ───────────────────────────────────────────────────────────────────

/**
 * MLflow's rule for metric, param and tag names: letters, digits, `_ - . / :`
 * and space, and never a path that climbs out of its folder.
 */
export const TRACKING_KEY_PATTERN = /^[\p{L}\p{N}_\-./ :]+$/u;

/** Why a metric/param/tag key would be refused, or undefined when it is fine. */
export function trackingKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'must be a string';
  if (key.length === 0) return 'must not be empty';
  if (key.length > TRACKING_LIMITS.maxEntityKeyLength) {
    return `is ${key.length} characters long; the limit is ${TRACKING_LIMITS.maxEntityKeyLength}`;
  }
  if (!TRACKING_KEY_PATTERN.test(key)) {
    return `"${key.slice(0, 80)}" may only contain letters, digits, underscores, dashes, periods, spaces, colons and slashes`;
  }
  if (key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
    return `"${key}" must be a relative name without "." or ".." segments`;
  }
  return undefined;
}
