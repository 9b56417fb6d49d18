import { Type, type Static } from '@sinclair/typebox';
import { MetricValue } from './tracking.js';

/**
 * The model registry as the native API (/api/v1/models…) sends it. Version
 * numbers are integers (MLflow's wire format makes them strings; this one
 * does not); times are epoch milliseconds.
 */
export const MODEL_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type ModelStage = (typeof MODEL_STAGES)[number];

export const MODEL_FORMATS = ['onnx', 'mlflow', 'command', 'opaque'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

export const MODEL_VERSION_STATUSES = ['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY'] as const;
export type ModelVersionStatus = (typeof MODEL_VERSION_STATUSES)[number];

export const RISK_TIERS = ['low', 'medium', 'high'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

/** What a label history entry is about: an alias (`champion`) or an MLflow stage (`Production`). */
export const LABEL_KINDS = ['alias', 'stage'] as const;
export type LabelKind = (typeof LABEL_KINDS)[number];

/** Limits the schemas check before a service sees the request (the services check them again). */
export const MODEL_REGISTRY_LIMITS = {
  maxDescriptionLength: 100_000,
  maxCardFieldLength: 100_000,
  maxModelResults: 1_000,
  maxVersionResults: 200_000,
  maxHistoryResults: 10_000,
} as const;

const strict = { additionalProperties: false } as const;
const StringMap = Type.Record(Type.String(), Type.String());
const literals = <T extends string>(values: readonly T[], options: { description?: string } = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

export const ModelStage = literals(MODEL_STAGES);
export const ModelFormat = literals(MODEL_FORMATS, {
  description:
    '`onnx`, `mlflow` (an MLmodel folder), `command` (a folder with a cairn-model.json naming the program that serves it) or `opaque` (anything else, stored as is).',
});
export const RiskTier = literals(RISK_TIERS);
/** A risk tier, or null for "not assessed"; one flat union so a refusal lists every choice. */
const RiskTierOrNull = Type.Union([...RISK_TIERS.map((t) => Type.Literal(t)), Type.Null()]);
export const LabelKind = literals(LABEL_KINDS);

// ── entities ────────────────────────────────────────────────────────────────

export const SignatureField = Type.Object({
  name: Type.Union([Type.String(), Type.Null()]),
  type: Type.String({
    description: 'ONNX: an Open Inference Protocol datatype (FP32, INT64, BYTES…); MLflow: its column type.',
  }),
  shape: Type.Optional(Type.Array(Type.Integer(), { description: '-1 for a dimension of any size.' })),
  dimNames: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Null()]))),
  required: Type.Optional(Type.Boolean()),
  onnxType: Type.Optional(Type.String()),
});
export type SignatureField = Static<typeof SignatureField>;

export const ModelSignature = Type.Object({
  source: Type.Union([Type.Literal('onnx'), Type.Literal('mlflow'), Type.Literal('command')], {
    description: 'Read from the ONNX graph, the MLmodel file or the cairn-model.json manifest.',
  }),
  inputs: Type.Array(SignatureField),
  outputs: Type.Array(SignatureField),
  params: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
});
export type ModelSignature = Static<typeof ModelSignature>;

export const RegisteredModel = Type.Object({
  name: Type.String(),
  project: Type.String({ description: 'The project the model belongs to: its permission boundary.' }),
  description: Type.String(),
  creationTime: Type.Integer(),
  lastUpdateTime: Type.Integer(),
  tags: StringMap,
  aliases: Type.Record(Type.String(), Type.Integer(), { description: 'alias → version number' }),
  latestVersion: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The highest version number that exists; null before the first registration.',
  }),
});
export type RegisteredModel = Static<typeof RegisteredModel>;

export const ModelVersion = Type.Object({
  name: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  versionId: Type.String({
    description: 'Stable id; the lineage node of this version is `model_version/<versionId>`.',
  }),
  description: Type.String(),
  status: literals(MODEL_VERSION_STATUSES),
  statusMessage: Type.String({ description: 'Inspection warnings, if any.' }),
  stage: ModelStage,
  source: Type.String({ description: 'The URI the version was registered from, as given.' }),
  runId: Type.Union([Type.String(), Type.Null()]),
  format: ModelFormat,
  digest: Type.String({ description: 'sha256 over the sorted `path<TAB>digest` manifest of the files.' }),
  fileCount: Type.Integer(),
  sizeBytes: Type.Integer(),
  signature: Type.Union([ModelSignature, Type.Null()]),
  formatDetails: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Flavors, ONNX producer and opsets, input example, inspection warnings.',
  }),
  tags: StringMap,
  aliases: Type.Array(Type.String()),
  creationTime: Type.Integer(),
  lastUpdateTime: Type.Integer(),
  userId: Type.String(),
});
export type ModelVersion = Static<typeof ModelVersion>;

export const PinnedFile = Type.Object({
  path: Type.String({ description: 'Relative to the model root, `/`-separated.' }),
  digest: Type.String(),
  sizeBytes: Type.Integer(),
});
export type PinnedFile = Static<typeof PinnedFile>;

export const PinnedFileList = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  digest: Type.String({ description: 'The version digest: sha256 over `path<TAB>digest\\n` of the files.' }),
  files: Type.Array(PinnedFile, { description: 'Ordered by path.' }),
});
export type PinnedFileList = Static<typeof PinnedFileList>;

export const LabelHistoryEntry = Type.Object({
  kind: LabelKind,
  label: Type.String(),
  version: Type.Integer(),
  startedAt: Type.Integer(),
  endedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'null while the label points there.' }),
  startedBy: Type.String(),
  endedBy: Type.Union([Type.String(), Type.Null()]),
});
export type LabelHistoryEntry = Static<typeof LabelHistoryEntry>;

export const LabelHistory = Type.Object({
  entries: Type.Array(LabelHistoryEntry, { description: 'Newest first.' }),
});
export type LabelHistory = Static<typeof LabelHistory>;

export const ModelCardFields = Type.Object({
  intendedUse: Type.String(),
  outOfScopeUse: Type.String(),
  limitations: Type.String(),
  ethicalConsiderations: Type.String(),
  riskTier: RiskTierOrNull,
  markdown: Type.String({ description: 'Free-form Markdown appended to the card.' }),
});
export type ModelCardFields = Static<typeof ModelCardFields>;

export const ModelCard = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  fields: ModelCardFields,
  updatedAt: Type.Union([Type.Integer(), Type.Null()]),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
  generated: Type.Object(
    {
      format: Type.String(),
      digest: Type.String(),
      stage: Type.String(),
      aliases: Type.Array(Type.String()),
      createdAt: Type.Integer(),
      source: Type.String(),
      signature: Type.Union([ModelSignature, Type.Null()]),
      trainingData: Type.Array(Type.Object({ kind: Type.String(), id: Type.String(), label: Type.String() })),
      sourceRun: Type.Optional(
        Type.Object({
          runId: Type.String(),
          runName: Type.String(),
          experimentId: Type.String(),
          status: Type.String(),
          params: StringMap,
          metrics: Type.Record(Type.String(), MetricValue),
        }),
      ),
      codeVersions: Type.Array(Type.Object({ commit: Type.String(), source: Type.String() })),
    },
    { description: 'Filled from the registry, tracking and lineage on every read; never edited.' },
  ),
});
export type ModelCard = Static<typeof ModelCard>;

export const ModelUploadResult = Type.Object({
  uploadId: Type.String(),
  path: Type.String({ description: 'Relative to the upload folder.' }),
  sizeBytes: Type.Integer(),
  digest: Type.String(),
  source: Type.String({ description: 'Register the folder with this `source`.' }),
});
export type ModelUploadResult = Static<typeof ModelUploadResult>;

// ── requests and lists ──────────────────────────────────────────────────────
// Request bodies are strict, as in the tracking API: an unknown field is an error.

const Description = Type.String({ maxLength: MODEL_REGISTRY_LIMITS.maxDescriptionLength });

const searchFields = (max: number) => ({
  filter: Type.Optional(
    Type.String({ description: "Filter expression, e.g. `tags.team = 'risk'` or `name LIKE 'churn%'`." }),
  ),
  orderBy: Type.Optional(Type.Array(Type.String(), { description: 'e.g. `last_updated_timestamp DESC`' })),
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: max })),
  pageToken: Type.Optional(Type.String()),
});

export const CreateRegisteredModelRequest = Type.Object(
  {
    name: Type.String(),
    description: Type.Optional(Description),
    tags: Type.Optional(StringMap),
    project: Type.Optional(
      Type.String({
        description:
          'The project to create it in (default `default`); MLflow clients send the tag `cairn.project` instead.',
      }),
    ),
  },
  strict,
);
export type CreateRegisteredModelRequest = Static<typeof CreateRegisteredModelRequest>;

export const UpdateRegisteredModelRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'A new name (renames the model).' })),
    description: Type.Optional(Description),
  },
  strict,
);
export type UpdateRegisteredModelRequest = Static<typeof UpdateRegisteredModelRequest>;

export const ListRegisteredModelsQuery = Type.Object(
  searchFields(MODEL_REGISTRY_LIMITS.maxModelResults),
  strict,
);
export type ListRegisteredModelsQuery = Static<typeof ListRegisteredModelsQuery>;

export const RegisteredModelList = Type.Object({
  models: Type.Array(RegisteredModel),
  nextPageToken: Type.Optional(Type.String()),
});
export type RegisteredModelList = Static<typeof RegisteredModelList>;

export const CreateModelVersionRequest = Type.Object(
  {
    source: Type.String({
      description:
        '`runs:/<runId>/<path>`, `mlflow-artifacts:/<path>` (e.g. an upload folder from ' +
        '`PUT /api/v1/model-uploads/{uploadId}/…`) or `models:/<name>/<version>` / `models:/<name>@<alias>`.',
    }),
    runId: Type.Optional(
      Type.String({ description: 'The run that made the model, when the source is not a run.' }),
    ),
    format: Type.Optional(ModelFormat),
    description: Type.Optional(Description),
    tags: Type.Optional(StringMap),
  },
  strict,
);
export type CreateModelVersionRequest = Static<typeof CreateModelVersionRequest>;

export const UpdateModelVersionRequest = Type.Object({ description: Type.Optional(Description) }, strict);
export type UpdateModelVersionRequest = Static<typeof UpdateModelVersionRequest>;

export const ListModelVersionsQuery = Type.Object(
  searchFields(MODEL_REGISTRY_LIMITS.maxVersionResults),
  strict,
);
export type ListModelVersionsQuery = Static<typeof ListModelVersionsQuery>;

export const ModelVersionList = Type.Object({
  versions: Type.Array(ModelVersion),
  nextPageToken: Type.Optional(Type.String()),
});
export type ModelVersionList = Static<typeof ModelVersionList>;

export const TransitionStageRequest = Type.Object(
  {
    stage: Type.String({ description: `One of ${MODEL_STAGES.join(', ')} (any case).` }),
    archiveExisting: Type.Optional(
      Type.Boolean({ description: 'Archive the other versions in the target stage (Staging/Production).' }),
    ),
  },
  strict,
);
export type TransitionStageRequest = Static<typeof TransitionStageRequest>;

export const SetAliasRequest = Type.Object({ version: Type.Integer({ minimum: 1 }) }, strict);
export type SetAliasRequest = Static<typeof SetAliasRequest>;

export const LabelHistoryQuery = Type.Object(
  {
    kind: Type.Optional(LabelKind),
    label: Type.Optional(Type.String({ description: 'One alias (or stage, with kind=stage).' })),
    at: Type.Optional(
      Type.String({
        description:
          'Only the intervals covering this moment: epoch ms or an ISO date such as `2026-03-03` or `2026-03-03T12:00:00Z`.',
      }),
    ),
    maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: MODEL_REGISTRY_LIMITS.maxHistoryResults })),
  },
  strict,
);
export type LabelHistoryQuery = Static<typeof LabelHistoryQuery>;

export const ResolveModelQuery = Type.Object(
  {
    ref: Type.String({
      minLength: 1,
      description: '`name@alias`, `name/3`, `name/latest`, `name/Production` or `name` (the newest version).',
    }),
  },
  strict,
);
export type ResolveModelQuery = Static<typeof ResolveModelQuery>;

const CardText = Type.String({ maxLength: MODEL_REGISTRY_LIMITS.maxCardFieldLength });

/** The sections to change; the others are kept. */
export const ModelCardPatch = Type.Object(
  {
    intendedUse: Type.Optional(CardText),
    outOfScopeUse: Type.Optional(CardText),
    limitations: Type.Optional(CardText),
    ethicalConsiderations: Type.Optional(CardText),
    riskTier: Type.Optional(RiskTierOrNull),
    markdown: Type.Optional(CardText),
  },
  strict,
);
export type ModelCardPatch = Static<typeof ModelCardPatch>;

export const ModelCardQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('markdown')], { description: 'json when omitted.' }),
    ),
  },
  strict,
);
export type ModelCardQuery = Static<typeof ModelCardQuery>;

// ── references ──────────────────────────────────────────────────────────────

/**
 * How callers name one version: `name@alias`, `name/3`, `name/latest`,
 * `name/Production`, or `name` (the newest). An alias never looks like a
 * number, so `name@3` is read as version 3 and becomes `name/3`: the CLI's
 * `NAME@VERSION_OR_ALIAS` then works everywhere. Model names never contain
 * `@` or `/`, so the split is unambiguous.
 */
export function normalizeModelReference(text: string): string {
  const at = text.lastIndexOf('@');
  if (at > 0 && /^\d{1,9}$/.test(text.slice(at + 1))) return `${text.slice(0, at)}/${text.slice(at + 1)}`;
  return text;
}

/** True when the reference names a version (`@…` or `/…`), false for a bare model name. */
export function namesVersion(reference: string): boolean {
  return reference.includes('@') || reference.includes('/');
}
