/**
 * Deployments: a named endpoint whose traffic goes to model versions.
 * Every change makes a new immutable revision; the deployment points at its
 * current one, so a rollback is "point at revision N's spec again" (as a new
 * revision, so history only grows).
 */

/** One version that takes a share of live traffic. */
export interface LiveRoute {
  /** What the user named: `churn@champion` or `churn/3`. */
  ref: string;
  model: string;
  version: number;
  versionId: string;
  /** The version's content digest: what is loaded and cached. */
  digest: `sha256:${string}`;
  format: string;
  /** Percent of live traffic, 0–100; the live routes of a revision sum to 100. */
  weight: number;
}

/** A version that gets a copy of live traffic; its answers are compared, never returned. */
export interface ShadowRoute {
  ref: string;
  model: string;
  version: number;
  versionId: string;
  digest: `sha256:${string}`;
  format: string;
  /** Percent of live requests copied to it, 1–100. */
  percent: number;
}

export interface DeploymentSettings {
  /** Rows per model run at most; 1 turns batching off. */
  maxBatchSize: number;
  /** How long a request may wait for others to join its batch while the model is busy. */
  maxBatchWaitMs: number;
  /** Requests waiting per model beyond this are answered 503 with Retry-After. */
  maxQueue: number;
  /** Share of requests written to the prediction log, 0–1. */
  sampleRate: number;
}

/** An alias the deployment follows: when it moves, the deployment rolls to its new version. */
export interface FollowedAlias {
  model: string;
  alias: string;
}

export interface DeploymentSpec {
  routes: LiveRoute[];
  shadows: ShadowRoute[];
  settings: DeploymentSettings;
  follow: FollowedAlias | null;
}

export interface DeploymentRevisionRecord extends DeploymentSpec {
  deploymentId: string;
  revision: number;
  /** Why this revision exists: `created`, `routes changed`, `rolled back to 2`, `champion moved to 4`. */
  reason: string;
  createdAt: number;
  createdBy: string;
}

export interface DeploymentRecord {
  deploymentId: string;
  /** Unique across projects; it is the model name in the v2 routes. */
  name: string;
  projectId: string;
  description: string;
  /** The port the local server serves this deployment on, besides the shared API port. */
  port: number | null;
  currentRevision: number;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

export type PredictionKind = 'live' | 'shadow';

/** One sampled request/response pair (or a shadow's answer to the same request). */
export interface PredictionRecord {
  requestId: string;
  kind: PredictionKind;
  deploymentId: string;
  revision: number;
  model: string;
  version: number;
  /** `v2` or `predict`: which route the request came in on. */
  protocol: string;
  createdAt: number;
  latencyMs: number;
  /** `ok`, or `error` with `error` holding the message. */
  status: 'ok' | 'error';
  error: string | null;
  /** The request's inputs as the protocol took them (tensors as JSON). */
  inputs: unknown;
  outputs: unknown;
  /** Shadow rows: whether the shadow agreed with the live answer, and the mean absolute difference. */
  agreed: boolean | null;
  meanAbsDiff: number | null;
}

export interface FeedbackRecord {
  requestId: string;
  deploymentId: string;
  /** The ground truth, as sent. */
  truth: unknown;
  createdAt: number;
  createdBy: string;
}
