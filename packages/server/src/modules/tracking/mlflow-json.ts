import { encodeMetricValue } from '@cairn/contract';
import type {
  DatasetInputRecord,
  ExperimentRecord,
  MetricPoint,
  RunInfoRecord,
  RunRecord,
} from './entities.js';

/**
 * Entities in MLflow's REST JSON (snake_case, tags as key/value lists,
 * int64 as JSON numbers, non-finite doubles as protobuf-JSON strings).
 */
export function mlflowExperiment(e: ExperimentRecord): Record<string, unknown> {
  return {
    experiment_id: e.experimentId,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    tags: Object.entries(e.tags).map(([key, value]) => ({ key, value })),
  };
}

export function mlflowRunInfo(info: RunInfoRecord): Record<string, unknown> {
  return {
    run_id: info.runId,
    run_uuid: info.runId,
    run_name: info.runName,
    experiment_id: info.experimentId,
    user_id: info.userId,
    status: info.status,
    start_time: info.startTime,
    ...(info.endTime === null ? {} : { end_time: info.endTime }),
    artifact_uri: info.artifactUri,
    lifecycle_stage: info.lifecycleStage,
  };
}

export function mlflowMetric(m: MetricPoint): Record<string, unknown> {
  return { key: m.key, value: encodeMetricValue(m.value), timestamp: m.timestamp, step: m.step };
}

function mlflowDatasetInput(input: DatasetInputRecord): Record<string, unknown> {
  const d = input.dataset;
  return {
    tags: input.tags,
    dataset: {
      name: d.name,
      digest: d.digest,
      source_type: d.sourceType,
      source: d.source,
      ...(d.schema === undefined ? {} : { schema: d.schema }),
      ...(d.profile === undefined ? {} : { profile: d.profile }),
    },
  };
}

export function mlflowRun(run: RunRecord): Record<string, unknown> {
  return {
    info: mlflowRunInfo(run.info),
    data: {
      metrics: run.data.metrics.map(mlflowMetric),
      params: Object.entries(run.data.params).map(([key, value]) => ({ key, value })),
      tags: Object.entries(run.data.tags).map(([key, value]) => ({ key, value })),
    },
    inputs: { dataset_inputs: run.inputs.datasetInputs.map(mlflowDatasetInput) },
  };
}
