import type { LifecycleStage, RunStatus, ViewType } from '@cairn/contract';
import type { Digest } from '../artifacts/index.js';

/** The experiment tag MLflow clients name a project with on `experiments/create` (kept as a tag too). */
export const PROJECT_TAG = 'cairn.project';

/** Domain records. Metric values are plain numbers here; NaN and ±Infinity included. */
export interface ExperimentRecord {
  experimentId: string;
  projectId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
  tags: Record<string, string>;
}

export interface MetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface RunInfoRecord {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
  deletedTime: number | null;
}

export interface DatasetRecord {
  name: string;
  digest: string;
  sourceType: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInputRecord {
  dataset: DatasetRecord;
  tags: Array<{ key: string; value: string }>;
}

/** The source a run ran from: a git commit, plus the uncommitted changes on top of it. */
export interface RunCodeVersion {
  runId: string;
  commit: string;
  branch: string | null;
  remoteUrl: string | null;
  dirty: boolean;
  /** The uncommitted changes as a `git apply`-able patch, stored as a blob. */
  diffDigest: Digest | null;
  diffBytes: number;
  createdAt: number;
}

export interface RunData {
  metrics: MetricPoint[];
  params: Record<string, string>;
  tags: Record<string, string>;
}

export interface RunRecord {
  info: RunInfoRecord;
  data: RunData;
  inputs: { datasetInputs: DatasetInputRecord[] };
}

export interface Page<T> {
  items: T[];
  nextPageToken: string | undefined;
}

export const DEFAULT_PROJECT_ID = 'default';
export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';

export function lifecycleStagesFor(viewType: ViewType): LifecycleStage[] {
  if (viewType === 'ACTIVE_ONLY') return ['active'];
  if (viewType === 'DELETED_ONLY') return ['deleted'];
  return ['active', 'deleted'];
}

/** Artifact locations are served by Cairn's own artifact proxy unless an experiment names another root. */
export function defaultExperimentArtifactLocation(experimentId: string): string {
  return `mlflow-artifacts:/${experimentId}`;
}

export function runArtifactUri(experimentArtifactLocation: string, runId: string): string {
  return `${experimentArtifactLocation.replace(/\/+$/, '')}/${runId}/artifacts`;
}
