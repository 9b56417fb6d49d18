import { Type, type Static } from '@sinclair/typebox';

/**
 * Project policies (/api/v1/projects/:id/policy) and promotion requests
 * (/api/v1/promotions) as the native API sends them. A policy says which
 * aliases and stages of a project's models are protected and what a request
 * to move a version onto one must pass. Times are epoch milliseconds.
 */
export const PROMOTION_STATUSES = ['pending', 'applied', 'rejected', 'expired', 'cancelled'] as const;
export type PromotionStatus = (typeof PROMOTION_STATUSES)[number];

/** `None` is the absence of a stage, so it cannot be protected. */
export const PROTECTABLE_STAGES = ['Staging', 'Production', 'Archived'] as const;
export type ProtectableStage = (typeof PROTECTABLE_STAGES)[number];

/** The model-card fields a policy may require to be filled in. */
export const POLICY_CARD_FIELDS = [
  'intendedUse',
  'outOfScopeUse',
  'limitations',
  'ethicalConsiderations',
  'riskTier',
  'markdown',
] as const;
export type PolicyCardField = (typeof POLICY_CARD_FIELDS)[number];

export const METRIC_OPERATORS = ['>=', '<=', '==', '!=', '>', '<'] as const;
export type MetricOperator = (typeof METRIC_OPERATORS)[number];

export const POLICY_LIMITS = {
  /** Bytes of policy text (JSON or YAML). */
  maxSourceBytes: 64 * 1024,
  maxAliases: 100,
  maxMetricChecks: 100,
  maxMetricNameLength: 250,
  maxApprovals: 20,
  maxRequestTtlDays: 365,
  maxCommentLength: 10_000,
} as const;

const strict = { additionalProperties: false } as const;
const Time = Type.Integer({ description: 'Epoch milliseconds.' });
const TimeOrNull = Type.Union([Type.Integer(), Type.Null()]);
const StringOrNull = Type.Union([Type.String(), Type.Null()]);
const literals = <T extends string>(values: readonly T[], options: { description?: string } = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

export const PromotionStatus = literals(PROMOTION_STATUSES, {
  description: '`expired`: still undecided when its time ran out; it can no longer be decided.',
});

const ApprovalCount = Type.Integer({ minimum: 0, maximum: POLICY_LIMITS.maxApprovals });

/** A policy with every default filled in: what the server enforces. */
export const PolicyDocument = Type.Object({
  protect: Type.Object({
    aliases: Type.Array(Type.String()),
    stages: Type.Array(literals(PROTECTABLE_STAGES)),
  }),
  checks: Type.Object({
    metrics: Type.Array(Type.String({ description: '`<metric> <op> <number>`, e.g. `auc >= 0.85`.' })),
    modelCard: Type.Array(literals(POLICY_CARD_FIELDS)),
    trainingData: Type.Boolean({ description: 'The source run has a dataset input in lineage.' }),
  }),
  approvals: Type.Object({
    default: ApprovalCount,
    byRiskTier: Type.Object({
      low: Type.Optional(ApprovalCount),
      medium: Type.Optional(ApprovalCount),
      high: Type.Optional(ApprovalCount),
    }),
  }),
  fourEyes: Type.Boolean({ description: 'The requester may not approve their own request.' }),
  requestTtlDays: Type.Integer({ minimum: 1, maximum: POLICY_LIMITS.maxRequestTtlDays }),
});
export type PolicyDocument = Static<typeof PolicyDocument>;

export const PolicyFormat = Type.Union([Type.Literal('json'), Type.Literal('yaml')]);
export type PolicyFormat = Static<typeof PolicyFormat>;

export const ProjectPolicy = Type.Object({
  project: Type.String(),
  version: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
    description: 'null: no policy stored yet; the default below applies.',
  }),
  isDefault: Type.Boolean(),
  document: PolicyDocument,
  source: Type.String({ description: 'The text as its author wrote it (empty for a default).' }),
  format: PolicyFormat,
  comment: Type.String(),
  createdAt: TimeOrNull,
  createdBy: StringOrNull,
});
export type ProjectPolicy = Static<typeof ProjectPolicy>;

export const ProjectPolicyHistory = Type.Object({
  policies: Type.Array(ProjectPolicy, { description: 'Newest first.' }),
});
export type ProjectPolicyHistory = Static<typeof ProjectPolicyHistory>;

export const SetPolicyRequest = Type.Object(
  {
    document: Type.Optional(
      Type.Unknown({ description: 'The policy as a JSON object; give this or `source`.' }),
    ),
    source: Type.Optional(
      Type.String({
        maxLength: POLICY_LIMITS.maxSourceBytes,
        description: 'The policy as YAML or JSON text, kept as written.',
      }),
    ),
    format: Type.Optional(PolicyFormat),
    comment: Type.Optional(Type.String({ maxLength: POLICY_LIMITS.maxCommentLength })),
  },
  strict,
);
export type SetPolicyRequest = Static<typeof SetPolicyRequest>;

// ── promotion requests ──────────────────────────────────────────────────────

export const PromotionTarget = Type.Object({
  kind: Type.Union([Type.Literal('alias'), Type.Literal('stage')]),
  name: Type.String(),
});
export type PromotionTarget = Static<typeof PromotionTarget>;

export const PromotionCheck = Type.Object({
  id: Type.String({ description: '`metric:auc >= 0.85`, `model_card`, `training_data`, `approvals`, …' }),
  description: Type.String(),
  passed: Type.Boolean(),
  evidence: Type.Record(Type.String(), Type.Unknown(), {
    description: 'What the result was decided on: metric values with their run, card fields, datasets…',
  }),
});
export type PromotionCheck = Static<typeof PromotionCheck>;

export const PromotionReview = Type.Object({
  reviewer: Type.String(),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
  comment: Type.String(),
  createdAt: Time,
});
export type PromotionReview = Static<typeof PromotionReview>;

export const PromotionRequest = Type.Object({
  id: Type.String(),
  project: Type.String(),
  model: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  target: PromotionTarget,
  archiveExisting: Type.Boolean(),
  requester: Type.String(),
  reason: Type.String(),
  status: PromotionStatus,
  policyVersion: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The project policy the request is judged by, frozen at creation (null: the default).',
  }),
  policy: PolicyDocument,
  checks: Type.Array(PromotionCheck, { description: 'As of the last evaluation (`evaluatedAt`).' }),
  passed: Type.Boolean({ description: 'Every check passed at the last evaluation.' }),
  approvals: Type.Object({
    count: Type.Integer(),
    required: Type.Integer(),
    riskTier: StringOrNull,
  }),
  reviews: Type.Array(PromotionReview),
  createdAt: Time,
  evaluatedAt: Time,
  expiresAt: Time,
  decidedAt: TimeOrNull,
  decidedBy: StringOrNull,
  decisionComment: StringOrNull,
});
export type PromotionRequest = Static<typeof PromotionRequest>;

export const PromotionList = Type.Object({
  promotions: Type.Array(PromotionRequest, { description: 'Newest first.' }),
  nextPageToken: Type.Optional(Type.String()),
});
export type PromotionList = Static<typeof PromotionList>;

export const CreatePromotionRequest = Type.Object(
  {
    model: Type.String({ minLength: 1 }),
    version: Type.Integer({ minimum: 1 }),
    alias: Type.Optional(Type.String({ description: 'Give this or `stage`.' })),
    stage: Type.Optional(Type.String({ description: 'Staging, Production or Archived.' })),
    archiveExisting: Type.Optional(
      Type.Boolean({
        description:
          'Stage moves only: archive the versions already in the stage (MLflow archive_existing_versions).',
      }),
    ),
    reason: Type.Optional(Type.String({ maxLength: POLICY_LIMITS.maxCommentLength })),
  },
  strict,
);
export type CreatePromotionRequest = Static<typeof CreatePromotionRequest>;

export const ListPromotionsQuery = Type.Object(
  {
    project: Type.Optional(Type.String({ maxLength: 64 })),
    status: Type.Optional(PromotionStatus),
    model: Type.Optional(Type.String({ maxLength: 1_000 })),
    maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
    pageToken: Type.Optional(Type.String({ maxLength: 1_000 })),
  },
  strict,
);
export type ListPromotionsQuery = Static<typeof ListPromotionsQuery>;

export const PromotionDecision = Type.Object(
  { comment: Type.Optional(Type.String({ maxLength: POLICY_LIMITS.maxCommentLength })) },
  strict,
);
export type PromotionDecision = Static<typeof PromotionDecision>;
