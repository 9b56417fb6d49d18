import type {
  DeploymentJson,
  DeploymentRevisionJson,
  PredictionJson,
  ShadowRouteJson,
} from '@cairn/contract';
import type { PredictionWithFeedback } from './deployments.store.js';
import type { DeploymentRevisionRecord, ShadowRoute } from './entities.js';
import type { DeploymentView } from './deployments.service.js';
import type { DeploymentStatus } from './serving-engine.js';

/** Where the caller reached this server, so the endpoints it is shown are ones it can call. */
export interface BaseUrl {
  protocol: string;
  hostname: string;
  /** `host[:port]` as the request named it. */
  host: string;
}

export function deploymentJson(
  view: DeploymentView,
  input: { status: DeploymentStatus | undefined; base: BaseUrl },
): DeploymentJson {
  const { deployment, revision } = view;
  const { base, status } = input;
  const origin = `${base.protocol}://${base.host}`;
  const own =
    deployment.port === null ? null : `${base.protocol}://${bracketed(base.hostname)}:${deployment.port}`;
  return {
    name: deployment.name,
    project: deployment.projectId,
    description: deployment.description,
    revision: deployment.currentRevision,
    routes: revision.routes.map((r) => ({ ...r })),
    shadows: revision.shadows.map(shadowJson),
    follow: revision.follow,
    settings: { ...revision.settings },
    port: deployment.port,
    endpoints: {
      v2: `${origin}/v2/models/${deployment.name}`,
      predict: `${origin}/deployments/${deployment.name}/predict`,
      own,
    },
    status:
      status === undefined
        ? { state: 'unknown', servedRevision: null, message: null }
        : { state: status.state, servedRevision: status.servedRevision, message: status.message },
    createdAt: deployment.createdAt,
    updatedAt: deployment.updatedAt,
    createdBy: deployment.createdBy,
  };
}

export function revisionJson(revision: DeploymentRevisionRecord, current: number): DeploymentRevisionJson {
  return {
    revision: revision.revision,
    current: revision.revision === current,
    reason: revision.reason,
    routes: revision.routes.map((r) => ({ ...r })),
    shadows: revision.shadows.map(shadowJson),
    follow: revision.follow,
    settings: { ...revision.settings },
    createdAt: revision.createdAt,
    createdBy: revision.createdBy,
  };
}

export function predictionJson(row: PredictionWithFeedback): PredictionJson {
  return {
    requestId: row.requestId,
    kind: row.kind,
    revision: row.revision,
    model: row.model,
    version: row.version,
    protocol: row.protocol,
    createdAt: row.createdAt,
    latencyMs: row.latencyMs,
    status: row.status,
    error: row.error,
    inputs: row.inputs,
    outputs: row.outputs,
    agreed: row.agreed,
    meanAbsDiff: row.meanAbsDiff,
    truth: row.truth ?? null,
    truthAt: row.truthAt,
  };
}

function shadowJson(route: ShadowRoute): ShadowRouteJson {
  return { ...route };
}

function bracketed(hostname: string): string {
  return hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
}
