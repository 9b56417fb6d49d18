import { CairnError } from '@cairn/contract';
import { tensorJsonText } from '@cairn/serving';
// Entities and the port straight from their files: the module's index would load its services too.
import type {
  DeploymentRecord,
  DeploymentRevisionRecord,
  DeploymentSettings,
  FeedbackRecord,
  FollowedAlias,
  LiveRoute,
  PredictionKind,
  PredictionRecord,
  ShadowRoute,
} from '../../../modules/serving/entities.js';
import type { PredictionWithFeedback } from '../../../modules/serving/deployments.store.js';
import type { PredictionDraft } from '../../../modules/serving/prediction-sink.js';
import type {
  DeploymentRevisionsTable,
  DeploymentsTable,
  PredictionFeedbackTable,
  PredictionsTable,
} from '../schema.js';

export function toDeploymentRow(deployment: DeploymentRecord): DeploymentsTable {
  return {
    deployment_id: deployment.deploymentId,
    name: deployment.name,
    project_id: deployment.projectId,
    description: deployment.description,
    port: deployment.port,
    current_revision: deployment.currentRevision,
    created_ms: deployment.createdAt,
    updated_ms: deployment.updatedAt,
    created_by: deployment.createdBy,
  };
}

export function toDeployment(row: DeploymentsTable): DeploymentRecord {
  return {
    deploymentId: row.deployment_id,
    name: row.name,
    projectId: row.project_id,
    description: row.description,
    port: row.port === null ? null : Number(row.port),
    currentRevision: Number(row.current_revision),
    createdAt: Number(row.created_ms),
    updatedAt: Number(row.updated_ms),
    createdBy: row.created_by,
  };
}

export function toRevisionRow(revision: DeploymentRevisionRecord): DeploymentRevisionsTable {
  return {
    deployment_id: revision.deploymentId,
    revision: revision.revision,
    routes: JSON.stringify(revision.routes),
    shadows: JSON.stringify(revision.shadows),
    settings: JSON.stringify(revision.settings),
    follow: revision.follow === null ? null : JSON.stringify(revision.follow),
    reason: revision.reason,
    created_ms: revision.createdAt,
    created_by: revision.createdBy,
  };
}

export function toRevision(row: DeploymentRevisionsTable): DeploymentRevisionRecord {
  const what = `revision ${row.revision} of deployment ${row.deployment_id}`;
  const routes = parseJson(row.routes, `${what}: routes`);
  const shadows = parseJson(row.shadows, `${what}: shadows`);
  const settings = parseJson(row.settings, `${what}: settings`);
  const follow = row.follow === null ? null : parseJson(row.follow, `${what}: follow`);
  // A spec the services cannot read must not be served: refuse it whole.
  if (!Array.isArray(routes) || !Array.isArray(shadows) || !isObject(settings)) {
    throw new CairnError('INTERNAL', `${what} has a malformed spec`);
  }
  if (follow !== null && !isObject(follow)) throw new CairnError('INTERNAL', `${what} has a malformed spec`);
  return {
    deploymentId: row.deployment_id,
    revision: Number(row.revision),
    routes: routes as LiveRoute[],
    shadows: shadows as ShadowRoute[],
    settings: settings as unknown as DeploymentSettings,
    follow: follow as FollowedAlias | null,
    reason: row.reason,
    createdAt: Number(row.created_ms),
    createdBy: row.created_by,
  };
}

/**
 * The row of a draft as `toPredictionRow(predictionRecordOf(draft))` writes it, with the tensors' JSON
 * written straight from their typed arrays: the log writer's per-row path.
 */
export function predictionRowOfDraft(draft: PredictionDraft): PredictionsTable {
  const { inputs, outputs } = draft;
  return {
    request_id: draft.requestId,
    kind: draft.kind,
    deployment_id: draft.deploymentId,
    revision: draft.revision,
    model: draft.model,
    version: draft.version,
    protocol: draft.protocol,
    created_ms: draft.createdAt,
    latency_ms: draft.latencyMs,
    status: draft.status,
    error: draft.error,
    inputs: inputs === null ? null : `[${inputs.map(tensorJsonText).join(',')}]`,
    outputs: `[${outputs.map(tensorJsonText).join(',')}]`,
    agreed: draft.agreed === null ? null : draft.agreed ? 1 : 0,
    mean_abs_diff: draft.meanAbsDiff,
  };
}

/** Key order matches `flattenPredictionRow`, which the compiled-statement cache relies on. */
export function toPredictionRow(record: PredictionRecord): PredictionsTable {
  return {
    request_id: record.requestId,
    kind: record.kind,
    deployment_id: record.deploymentId,
    revision: record.revision,
    model: record.model,
    version: record.version,
    protocol: record.protocol,
    created_ms: record.createdAt,
    latency_ms: record.latencyMs,
    status: record.status,
    error: record.error,
    inputs: stringifyPayload(record.inputs, { requestId: record.requestId, field: 'inputs' }),
    outputs: stringifyPayload(record.outputs, { requestId: record.requestId, field: 'outputs' }),
    agreed: record.agreed === null ? null : record.agreed ? 1 : 0,
    mean_abs_diff: record.meanAbsDiff,
  };
}

export const flattenPredictionRow = (row: PredictionsTable): readonly unknown[] => [
  row.request_id,
  row.kind,
  row.deployment_id,
  row.revision,
  row.model,
  row.version,
  row.protocol,
  row.created_ms,
  row.latency_ms,
  row.status,
  row.error,
  row.inputs,
  row.outputs,
  row.agreed,
  row.mean_abs_diff,
];

/** A prediction row with the feedback columns of the left join (null when no truth arrived). */
export type PredictionJoinRow = PredictionsTable & { truth: string | null; truth_ms: number | null };

const KINDS: ReadonlySet<string> = new Set<PredictionKind>(['live', 'shadow']);
const STATUSES: ReadonlySet<string> = new Set<PredictionRecord['status']>(['ok', 'error']);

export function toPrediction(row: PredictionJoinRow): PredictionWithFeedback {
  const what = `prediction ${row.request_id} (${row.kind})`;
  if (!KINDS.has(row.kind) || !STATUSES.has(row.status)) {
    throw new CairnError('INTERNAL', `${what} has unknown kind or status "${row.status}"`);
  }
  return {
    requestId: row.request_id,
    kind: row.kind as PredictionKind,
    deploymentId: row.deployment_id,
    revision: Number(row.revision),
    model: row.model,
    version: Number(row.version),
    protocol: row.protocol,
    createdAt: Number(row.created_ms),
    latencyMs: Number(row.latency_ms),
    status: row.status as PredictionRecord['status'],
    error: row.error,
    inputs: row.inputs === null ? null : parseJson(row.inputs, `${what}: inputs`),
    outputs: row.outputs === null ? null : parseJson(row.outputs, `${what}: outputs`),
    agreed: row.agreed === null ? null : Number(row.agreed) !== 0,
    meanAbsDiff: row.mean_abs_diff === null ? null : Number(row.mean_abs_diff),
    truth: row.truth === null ? null : parseJson(row.truth, `feedback of ${row.request_id}`),
    truthAt: row.truth_ms === null ? null : Number(row.truth_ms),
  };
}

/** Key order matches `flattenFeedbackRow`. */
export function toFeedbackRow(record: FeedbackRecord): PredictionFeedbackTable {
  return {
    request_id: record.requestId,
    deployment_id: record.deploymentId,
    // `undefined` has no JSON text; it is stored (and read back) as null.
    truth: stringifyPayload(record.truth, { requestId: record.requestId, field: 'truth' }) ?? 'null',
    created_ms: record.createdAt,
    created_by: record.createdBy,
  };
}

export const flattenFeedbackRow = (row: PredictionFeedbackTable): readonly unknown[] => [
  row.request_id,
  row.deployment_id,
  row.truth,
  row.created_ms,
  row.created_by,
];

/**
 * JSON text of a logged payload; null for `undefined`. JSON has no BigInt
 * (int64 tensors arrive as BigInt64Array), NaN or Infinity: BigInt throws and
 * the others become null, so callers convert tensors before logging them.
 */
function stringifyPayload(value: unknown, where: { requestId: string; field: string }): string | null {
  if (value === undefined) return null;
  try {
    return JSON.stringify(value) ?? null;
  } catch (error) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `${where.field} of request ${where.requestId} cannot be written as JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CairnError('INTERNAL', `${what} is not valid JSON`, { cause: error });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
