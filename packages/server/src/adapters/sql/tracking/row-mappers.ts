import type { LifecycleStage, RunStatus } from '@cairn/contract';
import type { ExperimentRecord, MetricPoint, RunInfoRecord } from '../../../modules/tracking/index.js';
import type { ExperimentsTable, MetricsTable, RunsTable } from '../schema.js';

export function toExperiment(row: ExperimentsTable, tags: Record<string, string>): ExperimentRecord {
  return {
    experimentId: row.experiment_id,
    projectId: row.project_id,
    name: row.name,
    artifactLocation: row.artifact_location,
    lifecycleStage: row.lifecycle_stage as LifecycleStage,
    creationTime: Number(row.creation_ms),
    lastUpdateTime: Number(row.last_update_ms),
    tags,
  };
}

export function toRunInfo(row: RunsTable): RunInfoRecord {
  return {
    runId: row.run_uuid,
    experimentId: row.experiment_id,
    runName: row.run_name,
    userId: row.user_id,
    status: row.status as RunStatus,
    startTime: Number(row.start_ms),
    endTime: row.end_ms === null ? null : Number(row.end_ms),
    lifecycleStage: row.lifecycle_stage as LifecycleStage,
    artifactUri: row.artifact_uri,
    deletedTime: row.deleted_ms === null ? null : Number(row.deleted_ms),
  };
}

export function toMetricPoint(
  row: Pick<MetricsTable, 'key' | 'value' | 'timestamp_ms' | 'step' | 'is_nan'>,
): MetricPoint {
  return {
    key: row.key,
    value: Number(row.is_nan) === 1 ? Number.NaN : Number(row.value),
    timestamp: Number(row.timestamp_ms),
    step: Number(row.step),
  };
}

/** NaN cannot be stored in SQLite (it becomes NULL) — keep it as a flag, like MLflow. */
export function toMetricRow(runId: string, point: MetricPoint): MetricsTable {
  const isNan = Number.isNaN(point.value);
  return {
    run_uuid: runId,
    key: point.key,
    step: point.step,
    timestamp_ms: point.timestamp,
    value: isNan ? 0 : point.value,
    is_nan: isNan ? 1 : 0,
  };
}

export function fromMetricRow(row: MetricsTable): MetricPoint {
  return toMetricPoint(row);
}

/** MLflow's "latest": the greatest (step, timestamp, value), NaN counting below every number. */
export function isLaterPoint(a: MetricPoint, b: MetricPoint): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (Number.isNaN(a.value)) return false;
  if (Number.isNaN(b.value)) return true;
  return a.value > b.value;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
