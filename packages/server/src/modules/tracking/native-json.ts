import {
  encodeMetricValue,
  type ArtifactEntry,
  type DatasetInput,
  type Experiment,
  type Metric,
  type Run,
  type RunInfo,
} from '@cairn/contract';
import type {
  DatasetInputRecord,
  ExperimentRecord,
  MetricPoint,
  RunInfoRecord,
  RunRecord,
} from './entities.js';

/**
 * Entities in the native API's JSON (/api/v1): camelCase, epoch-ms times,
 * tags and params as objects, non-finite metric values as strings. Only the
 * fields of the contract schemas go out; internal ones (project id, deletion
 * time) stay in.
 */
export function nativeExperiment(e: ExperimentRecord): Experiment {
  return {
    experimentId: e.experimentId,
    name: e.name,
    project: e.projectId,
    artifactLocation: e.artifactLocation,
    lifecycleStage: e.lifecycleStage,
    creationTime: e.creationTime,
    lastUpdateTime: e.lastUpdateTime,
    tags: e.tags,
  };
}

export function nativeRunInfo(info: RunInfoRecord): RunInfo {
  return {
    runId: info.runId,
    runName: info.runName,
    experimentId: info.experimentId,
    userId: info.userId,
    status: info.status,
    startTime: info.startTime,
    endTime: info.endTime,
    artifactUri: info.artifactUri,
    lifecycleStage: info.lifecycleStage,
  };
}

export function nativeMetric(m: MetricPoint): Metric {
  return { key: m.key, value: encodeMetricValue(m.value), timestamp: m.timestamp, step: m.step };
}

function nativeDatasetInput(input: DatasetInputRecord): DatasetInput {
  const d = input.dataset;
  return {
    dataset: {
      name: d.name,
      digest: d.digest,
      sourceType: d.sourceType,
      source: d.source,
      ...(d.schema === undefined ? {} : { schema: d.schema }),
      ...(d.profile === undefined ? {} : { profile: d.profile }),
    },
    tags: input.tags.map((t) => ({ key: t.key, value: t.value })),
  };
}

export function nativeRun(run: RunRecord): Run {
  return {
    info: nativeRunInfo(run.info),
    data: {
      metrics: run.data.metrics.map(nativeMetric),
      params: run.data.params,
      tags: run.data.tags,
    },
    inputs: { datasetInputs: run.inputs.datasetInputs.map(nativeDatasetInput) },
  };
}

export function nativeArtifactEntry(e: {
  path: string;
  isDir: boolean;
  sizeBytes?: number;
  digest?: string;
}): ArtifactEntry {
  return e.isDir
    ? { path: e.path, isDir: true }
    : {
        path: e.path,
        isDir: false,
        ...(e.sizeBytes === undefined ? {} : { sizeBytes: e.sizeBytes }),
        ...(e.digest === undefined ? {} : { digest: e.digest }),
      };
}

/** Turns a list of `{key, value}` into the list the service takes, from the native `Record` form. */
export function keyValueList(
  record: Record<string, string> | undefined,
): Array<{ key: string; value: string }> {
  return record === undefined ? [] : Object.entries(record).map(([key, value]) => ({ key, value }));
}
