import type {
  DeploymentRecord,
  DeploymentRevisionRecord,
  FeedbackRecord,
  PredictionKind,
  PredictionRecord,
} from './entities.js';

export interface DeploymentListQuery {
  /** Only deployments in these projects; all projects when absent. */
  projectIds?: readonly string[];
  offset: number;
  /** The store returns up to `limit + 1` rows so the caller can tell whether a next page exists. */
  limit: number;
}

export interface PredictionQuery {
  deploymentId: string;
  kind?: PredictionKind;
  /** createdAt ≥ since (ms). */
  since?: number;
  /** createdAt < until (ms). */
  until?: number;
  /**
   * Keyset paging, newest first: rows after this one in the order (createdAt desc, requestId desc,
   * kind asc — a live row before its shadow's). `kind` places the cursor between a live row and its
   * shadow's when both share the time and request id.
   */
  before?: { createdAt: number; requestId: string; kind?: PredictionKind };
  /** Rows returned at most (ties on the pair are ordered live before shadow). */
  limit: number;
}

/** A prediction with the ground truth that arrived for it, if any. */
export interface PredictionWithFeedback extends PredictionRecord {
  truth: unknown;
  truthAt: number | null;
}

export interface ShadowSummaryRow {
  model: string;
  version: number;
  requests: number;
  errors: number;
  /** Rows whose comparison was possible (both answered). */
  compared: number;
  agreed: number;
  /** Sum of mean absolute differences over compared rows. */
  sumMeanAbsDiff: number;
  /** Sum of the shadow's latency over all its rows (ms). */
  sumLatencyMs: number;
}

/**
 * The serving module's storage port; one SQL implementation serves SQLite
 * and PostgreSQL. Writes run inside a transaction opened by a service,
 * except the prediction log, which is written in batches by its own writer.
 */
export interface DeploymentStore {
  getDeploymentByName(name: string): Promise<DeploymentRecord | undefined>;
  getDeployment(deploymentId: string): Promise<DeploymentRecord | undefined>;
  listDeployments(query: DeploymentListQuery): Promise<DeploymentRecord[]>;
  /**
   * Every deployment with its current revision: what a serving process loads. A deployment whose
   * current revision row does not exist is left out.
   */
  listActive(): Promise<Array<{ deployment: DeploymentRecord; revision: DeploymentRevisionRecord }>>;
  /** Throws ALREADY_EXISTS when the name is taken. */
  insertDeployment(record: DeploymentRecord): Promise<void>;
  /** Moves the current revision; false when it no longer was `expectedRevision` (someone else moved it). */
  setCurrentRevision(input: {
    deploymentId: string;
    expectedRevision: number;
    revision: number;
    at: number;
  }): Promise<boolean>;
  setPort(deploymentId: string, port: number | null): Promise<void>;
  /** Removes the deployment, its revisions, its prediction log and feedback. */
  deleteDeployment(deploymentId: string): Promise<void>;

  /** Throws ALREADY_EXISTS when (deployment, revision) exists: two writers raced for the number. */
  insertRevision(record: DeploymentRevisionRecord): Promise<void>;
  getRevision(deploymentId: string, revision: number): Promise<DeploymentRevisionRecord | undefined>;
  /** Newest first. */
  listRevisions(deploymentId: string, limit: number): Promise<DeploymentRevisionRecord[]>;

  /**
   * One multi-row insert per call (the log writer batches). Duplicate (requestId, kind) rows are ignored.
   * Rows of deployments that no longer exist are dropped, so rows buffered before a deletion do not
   * fail the rest of the batch.
   */
  insertPredictions(records: readonly PredictionRecord[]): Promise<void>;
  /** Newest first, with feedback joined. */
  queryPredictions(query: PredictionQuery): Promise<PredictionWithFeedback[]>;
  getPrediction(requestId: string, kind: PredictionKind): Promise<PredictionWithFeedback | undefined>;
  /** Ground truth replaces an earlier one for the same request. */
  upsertFeedback(records: readonly FeedbackRecord[]): Promise<void>;
  /** Shadow rows of the deployment since `since`, aggregated per shadow version. */
  shadowSummary(deploymentId: string, since: number): Promise<ShadowSummaryRow[]>;
}

export interface DeploymentStores {
  deployments: DeploymentStore;
}
