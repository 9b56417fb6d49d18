import { Type, type Static } from '@sinclair/typebox';

/**
 * Deployments as the native API (/api/v1/deployments…) sends them. A
 * deployment is a named endpoint; every change to it is a numbered,
 * immutable revision naming exact model versions (and their content
 * digests). Times are epoch milliseconds.
 */
const strict = { additionalProperties: false } as const;
const Digest = Type.String({ pattern: '^sha256:[0-9a-f]{64}$' });

export const DEPLOYMENT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

export const DeploymentRouteJson = Type.Object(
  {
    /** What the version was named by: `churn@champion` or `churn/3`. */
    ref: Type.String(),
    model: Type.String(),
    version: Type.Integer({ minimum: 1 }),
    digest: Digest,
    format: Type.String(),
    /** Percent of live traffic. */
    weight: Type.Integer({ minimum: 0, maximum: 100 }),
  },
  strict,
);
export type DeploymentRouteJson = Static<typeof DeploymentRouteJson>;

export const ShadowRouteJson = Type.Object(
  {
    ref: Type.String(),
    model: Type.String(),
    version: Type.Integer({ minimum: 1 }),
    digest: Digest,
    format: Type.String(),
    /** Percent of live requests copied to the shadow. */
    percent: Type.Integer({ minimum: 1, maximum: 100 }),
  },
  strict,
);
export type ShadowRouteJson = Static<typeof ShadowRouteJson>;

export const DeploymentSettingsJson = Type.Object(
  {
    maxBatchSize: Type.Integer({ minimum: 1 }),
    maxBatchWaitMs: Type.Number({ minimum: 0 }),
    maxQueue: Type.Integer({ minimum: 1 }),
    sampleRate: Type.Number({ minimum: 0, maximum: 1 }),
  },
  strict,
);
export type DeploymentSettingsJson = Static<typeof DeploymentSettingsJson>;

const FollowJson = Type.Union([
  Type.Object({ model: Type.String(), alias: Type.String() }, strict),
  Type.Null(),
]);

export const DeploymentStatusJson = Type.Object(
  {
    /** As this server sees it: `loading`, `ready`, `failed`, or `unknown` when it does not serve it. */
    state: Type.Union([
      Type.Literal('loading'),
      Type.Literal('ready'),
      Type.Literal('failed'),
      Type.Literal('unknown'),
    ]),
    servedRevision: Type.Union([Type.Integer(), Type.Null()]),
    message: Type.Union([Type.String(), Type.Null()]),
  },
  strict,
);

export const DeploymentJson = Type.Object(
  {
    name: Type.String(),
    project: Type.String(),
    description: Type.String(),
    /** The current revision. */
    revision: Type.Integer({ minimum: 1 }),
    routes: Type.Array(DeploymentRouteJson),
    shadows: Type.Array(ShadowRouteJson),
    follow: FollowJson,
    settings: DeploymentSettingsJson,
    /** The deployment's own port on the local server (null: none). */
    port: Type.Union([Type.Integer(), Type.Null()]),
    /** Where to send requests: the v2 model URL and the simple predict URL, on this server and on its own port. */
    endpoints: Type.Object(
      {
        v2: Type.String(),
        predict: Type.String(),
        own: Type.Union([Type.String(), Type.Null()]),
      },
      strict,
    ),
    status: DeploymentStatusJson,
    createdAt: Type.Integer(),
    updatedAt: Type.Integer(),
    createdBy: Type.String(),
  },
  strict,
);
export type DeploymentJson = Static<typeof DeploymentJson>;

export const DeploymentRevisionJson = Type.Object(
  {
    revision: Type.Integer({ minimum: 1 }),
    current: Type.Boolean(),
    reason: Type.String(),
    routes: Type.Array(DeploymentRouteJson),
    shadows: Type.Array(ShadowRouteJson),
    follow: FollowJson,
    settings: DeploymentSettingsJson,
    createdAt: Type.Integer(),
    createdBy: Type.String(),
  },
  strict,
);
export type DeploymentRevisionJson = Static<typeof DeploymentRevisionJson>;

export const PredictionJson = Type.Object(
  {
    requestId: Type.String(),
    kind: Type.Union([Type.Literal('live'), Type.Literal('shadow')]),
    revision: Type.Integer(),
    model: Type.String(),
    version: Type.Integer(),
    protocol: Type.String(),
    createdAt: Type.Integer(),
    latencyMs: Type.Number(),
    status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
    error: Type.Union([Type.String(), Type.Null()]),
    inputs: Type.Unknown(),
    outputs: Type.Unknown(),
    agreed: Type.Union([Type.Boolean(), Type.Null()]),
    meanAbsDiff: Type.Union([Type.Number(), Type.Null()]),
    /** Ground truth sent later to …/feedback, null until then. */
    truth: Type.Unknown(),
    truthAt: Type.Union([Type.Integer(), Type.Null()]),
  },
  strict,
);
export type PredictionJson = Static<typeof PredictionJson>;

export const ShadowSummaryJson = Type.Object(
  {
    model: Type.String(),
    version: Type.Integer(),
    requests: Type.Integer(),
    errors: Type.Integer(),
    compared: Type.Integer(),
    /** Share of compared requests where the shadow gave the live answer; null before any. */
    agreementRate: Type.Union([Type.Number(), Type.Null()]),
    meanAbsDiff: Type.Union([Type.Number(), Type.Null()]),
    meanLatencyMs: Type.Union([Type.Number(), Type.Null()]),
  },
  strict,
);
export type ShadowSummaryJson = Static<typeof ShadowSummaryJson>;
