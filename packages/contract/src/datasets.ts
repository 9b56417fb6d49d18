import { Type, type Static } from '@sinclair/typebox';

/**
 * Datasets as the native API (/api/v1/datasets…) sends them. A dataset is a
 * named history of immutable versions; a version is a manifest of files,
 * each a sha256-named file object made of content-defined chunks. Times are
 * epoch milliseconds; sizes are bytes.
 */
export const DATASET_LIMITS = {
  maxNameLength: 256,
  maxMessageLength: 10_000,
  maxDescriptionLength: 100_000,
  maxPathLength: 4_096,
  maxFilesPerVersion: 1_000_000,
  maxVersionResults: 1_000,
  maxFileResults: 10_000,
  maxDatasetResults: 1_000,
  /** Digests in one chunk read, missing-check or export request. */
  maxDigestsPerRequest: 4_096,
  maxAliasLength: 128,
} as const;

/** Dataset and alias names: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export const DATASET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$';
export const DATASET_ALIAS_PATTERN = '^[A-Za-z][A-Za-z0-9._-]{0,127}$';

export const TABLE_FORMATS = ['csv', 'parquet', 'jsonl'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

const strict = { additionalProperties: false } as const;
const Digest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$', description: '`sha256:<64 hex>`.' });

export const DatasetVersionRefJson = Type.Object(
  {
    dataset: Type.String(),
    version: Type.Integer({ minimum: 1 }),
  },
  strict,
);

export const DatasetJson = Type.Object(
  {
    name: Type.String(),
    project: Type.String(),
    description: Type.String(),
    createdAt: Type.Integer(),
    createdBy: Type.String(),
    updatedAt: Type.Integer(),
    /** 0 before the first version. */
    latestVersion: Type.Integer({ minimum: 0 }),
    aliases: Type.Record(Type.String(), Type.Integer()),
  },
  strict,
);
export type DatasetJson = Static<typeof DatasetJson>;

export const DatasetVersionJson = Type.Object(
  {
    dataset: Type.String(),
    version: Type.Integer({ minimum: 1 }),
    parent: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    message: Type.String(),
    author: Type.String(),
    createdAt: Type.Integer(),
    digest: Digest,
    files: Type.Integer({ minimum: 0 }),
    bytesTotal: Type.Integer({ minimum: 0 }),
    bytesNew: Type.Integer({ minimum: 0 }),
    aliases: Type.Array(Type.String()),
  },
  strict,
);
export type DatasetVersionJson = Static<typeof DatasetVersionJson>;

export const VersionFileJson = Type.Object(
  {
    path: Type.String(),
    digest: Digest,
    size: Type.Integer({ minimum: 0 }),
    mode: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type VersionFileJson = Static<typeof VersionFileJson>;

/** A file with the chunks that make it, in order (what checkout needs to fetch and verify). */
export const FileChunksJson = Type.Object(
  {
    path: Type.String(),
    digest: Digest,
    size: Type.Integer({ minimum: 0 }),
    mode: Type.Integer({ minimum: 0 }),
    chunks: Type.Array(Type.Object({ digest: Digest, offset: Type.Integer(), size: Type.Integer() }, strict)),
  },
  strict,
);
export type FileChunksJson = Static<typeof FileChunksJson>;

// ── table profiles ──────────────────────────────────────────────────────────

export const HistogramBinJson = Type.Object(
  { lower: Type.Number(), upper: Type.Number(), count: Type.Integer() },
  strict,
);

export const ColumnProfileJson = Type.Object(
  {
    name: Type.String(),
    /** The DuckDB type name (BIGINT, DOUBLE, VARCHAR, DATE…). */
    type: Type.String(),
    /** `numeric`, `string`, `boolean`, `temporal` or `other`. */
    kind: Type.String(),
    nulls: Type.Integer({ minimum: 0 }),
    distinct: Type.Integer({ minimum: 0, description: 'Approximate (HyperLogLog).' }),
    min: Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]),
    max: Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]),
    mean: Type.Union([Type.Number(), Type.Null()]),
    std: Type.Union([Type.Number(), Type.Null()]),
    /** p01, p05, p25, p50, p75, p95, p99 for numbers. */
    quantiles: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()]),
    histogram: Type.Union([Type.Array(HistogramBinJson), Type.Null()]),
    /** The most frequent values of a string column, most frequent first. */
    topValues: Type.Union([
      Type.Array(Type.Object({ value: Type.String(), count: Type.Integer() }, strict)),
      Type.Null(),
    ]),
  },
  strict,
);
export type ColumnProfileJson = Static<typeof ColumnProfileJson>;

export const TableProfileJson = Type.Object(
  {
    format: Type.Union(TABLE_FORMATS.map((f) => Type.Literal(f))),
    rows: Type.Integer({ minimum: 0 }),
    columns: Type.Array(ColumnProfileJson),
    /** Problems found while reading, e.g. ragged CSV rows (count and first line numbers). */
    warnings: Type.Array(Type.String()),
    /** Rows the reader had to skip or pad (ragged CSV). */
    rejectedRows: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type TableProfileJson = Static<typeof TableProfileJson>;

export const TableJson = Type.Object(
  {
    path: Type.String(),
    digest: Digest,
    format: Type.Union(TABLE_FORMATS.map((f) => Type.Literal(f))),
    /** `pending` while the server computes it in the background. */
    status: Type.Union([Type.Literal('pending'), Type.Literal('done'), Type.Literal('failed')]),
    profile: Type.Union([TableProfileJson, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  strict,
);
export type TableJson = Static<typeof TableJson>;

// ── diffs ───────────────────────────────────────────────────────────────────

export const SchemaChangeJson = Type.Object(
  {
    column: Type.String(),
    change: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('retyped')]),
    from: Type.Union([Type.String(), Type.Null()]),
    to: Type.Union([Type.String(), Type.Null()]),
  },
  strict,
);
export type SchemaChangeJson = Static<typeof SchemaChangeJson>;

export const StatShiftJson = Type.Object(
  {
    column: Type.String(),
    /** `mean`, `std`, `nullRate`, `distinct`, `min`, `max`, `topValues`. */
    stat: Type.String(),
    from: Type.Union([Type.Number(), Type.String(), Type.Null()]),
    to: Type.Union([Type.Number(), Type.String(), Type.Null()]),
    /** How big the shift is, comparable across columns (relative change, or in standard deviations). */
    score: Type.Number(),
  },
  strict,
);
export type StatShiftJson = Static<typeof StatShiftJson>;

export const TableDiffJson = Type.Object(
  {
    path: Type.String(),
    rowsAdded: Type.Integer({ minimum: 0 }),
    rowsRemoved: Type.Integer({ minimum: 0 }),
    rowsChanged: Type.Integer({ minimum: 0 }),
    schemaChanges: Type.Array(SchemaChangeJson),
    /** Null when rows were matched by content (no key column). */
    key: Type.Union([Type.String(), Type.Null()]),
    rowsBefore: Type.Integer({ minimum: 0 }),
    rowsAfter: Type.Integer({ minimum: 0 }),
    statShifts: Type.Array(StatShiftJson),
    /** Set when the table could not be compared (unreadable file, key column missing). */
    error: Type.Optional(Type.String()),
  },
  strict,
);
export type TableDiffJson = Static<typeof TableDiffJson>;

export const DatasetDiffJson = Type.Object(
  {
    from: DatasetVersionRefJson,
    to: DatasetVersionRefJson,
    files: Type.Object(
      {
        added: Type.Array(Type.String()),
        removed: Type.Array(Type.String()),
        modified: Type.Array(Type.String()),
      },
      strict,
    ),
    tables: Type.Array(TableDiffJson),
  },
  strict,
);
export type DatasetDiffJson = Static<typeof DatasetDiffJson>;

// ── adds ────────────────────────────────────────────────────────────────────

/** The answer to one streamed file of an add. */
export const UploadedFileJson = Type.Object(
  {
    path: Type.String(),
    digest: Digest,
    size: Type.Integer({ minimum: 0 }),
    chunks: Type.Integer({ minimum: 0 }),
    bytesNew: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type UploadedFileJson = Static<typeof UploadedFileJson>;

export const UploadJson = Type.Object(
  {
    uploadId: Type.String(),
    dataset: Type.String(),
    /** The version this add builds on (deltas are taken against its files); null for the first. */
    parent: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  },
  strict,
);
export type UploadJson = Static<typeof UploadJson>;

export const GcResultJson = Type.Object(
  {
    objectsDeleted: Type.Integer({ minimum: 0 }),
    chunksDeleted: Type.Integer({ minimum: 0 }),
    packsDeleted: Type.Integer({ minimum: 0 }),
    packsRewritten: Type.Integer({ minimum: 0 }),
    bytesFreed: Type.Integer({ minimum: 0 }),
    uploadsExpired: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type GcResultJson = Static<typeof GcResultJson>;

export const CodeVersionJson = Type.Object(
  {
    runId: Type.String(),
    commit: Type.String(),
    branch: Type.Union([Type.String(), Type.Null()]),
    remoteUrl: Type.Union([Type.String(), Type.Null()]),
    dirty: Type.Boolean(),
    diffDigest: Type.Union([Digest, Type.Null()]),
    diffBytes: Type.Integer({ minimum: 0 }),
    createdAt: Type.Integer(),
  },
  strict,
);
export type CodeVersionJson = Static<typeof CodeVersionJson>;

/** Limits on a run's recorded source (`PUT /runs/RUN_ID/code`). */
export const CODE_VERSION_LIMITS = {
  /** The uncommitted diff, decoded. */
  maxDiffBytes: 64 * 1024 * 1024,
  /** Branch names and remote URLs. */
  maxRefLength: 1_000,
} as const;

export const SetCodeVersionRequest = Type.Object(
  {
    commit: Type.String({ description: 'The checked-out commit, 7 to 64 hex digits.' }),
    branch: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    remoteUrl: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    dirty: Type.Boolean(),
    diff: Type.Optional(
      Type.String({
        description: 'Base64 of the uncommitted changes as a `git apply --binary`-able patch.',
      }),
    ),
  },
  strict,
);
export type SetCodeVersionRequest = Static<typeof SetCodeVersionRequest>;
