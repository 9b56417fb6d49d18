import type { AuditTarget } from '../governance/index.js';
import type { DatasetInputRecord, MetricPoint } from './entities.js';
import type { BatchWrite } from './tracking.store.js';

export const runTarget = (runId: string): AuditTarget => ({ kind: 'run', id: runId });

/** JSON has no NaN or ±Infinity; the audit trail keeps them readable as text. */
const auditNumber = (value: number): number | string => (Number.isFinite(value) ? value : String(value));

const distinct = (keys: readonly string[]): string[] => [...new Set(keys)];

export function metricDetails(metric: MetricPoint): Record<string, unknown> {
  return {
    key: metric.key,
    value: auditNumber(metric.value),
    step: metric.step,
    timestamp: metric.timestamp,
  };
}

/**
 * A batch is summarised, not copied: counts and keys say what changed, and a
 * thousand metric values would make every event of the chain heavy to hash,
 * store and verify.
 */
export function batchDetails(batch: BatchWrite): Record<string, unknown> {
  return {
    metrics: batch.metrics.length,
    params: batch.params.length,
    tags: batch.tags.length,
    metricKeys: distinct(batch.metrics.map((m) => m.key)),
    paramKeys: distinct(batch.params.map((p) => p.key)),
    tagKeys: distinct(batch.tags.map((t) => t.key)),
  };
}

export function inputDetails(inputs: readonly DatasetInputRecord[]): Record<string, unknown> {
  return {
    datasets: inputs.map((input) => ({ name: input.dataset.name, digest: input.dataset.digest })),
  };
}

/** What identifies a logged model: where it went and which flavors it has, not the whole MLmodel. */
export function loggedModelDetails(model: Record<string, unknown>): Record<string, unknown> {
  const flavors = model['flavors'];
  return {
    artifactPath: model['artifact_path'] ?? null,
    modelUuid: model['model_uuid'] ?? null,
    flavors: typeof flavors === 'object' && flavors !== null ? Object.keys(flavors).sort() : [],
  };
}
