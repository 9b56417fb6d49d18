import type { LifecycleStage, RunStatus } from '@cairn/contract';
import type {
  DatasetInputRecord,
  DatasetRecord,
  ExperimentRecord,
  MetricPoint,
  RunCodeVersion,
  RunData,
  RunInfoRecord,
  RunRecord,
} from './entities.js';
import type { OrderClause } from './order-by.js';
import type { FilterExpr } from './search-filter.js';

export interface ExperimentQuery {
  filter: FilterExpr | undefined;
  /** Only experiments of these projects (what the caller may read); all when undefined. */
  projectIds?: readonly string[] | undefined;
  orderBy: OrderClause[];
  lifecycleStages: LifecycleStage[];
  offset: number;
  limit: number;
}

export interface RunQuery {
  experimentIds: string[];
  /** Only runs whose experiment is in one of these projects; all when undefined. */
  projectIds?: readonly string[] | undefined;
  filter: FilterExpr | undefined;
  orderBy: OrderClause[];
  lifecycleStages: LifecycleStage[];
  offset: number;
  limit: number;
}

export interface RunPatch {
  status?: RunStatus;
  endTime?: number | null;
  runName?: string;
  lifecycleStage?: LifecycleStage;
  deletedTime?: number | null;
}

export interface BatchWrite {
  metrics: MetricPoint[];
  params: Array<{ key: string; value: string }>;
  tags: Array<{ key: string; value: string }>;
}

/**
 * The tracking port. One SQL implementation serves SQLite and PostgreSQL.
 * Write methods are called inside a transaction opened by the service.
 */
export interface TrackingStore {
  ensureProject(projectId: string, name: string, createdAt: number): Promise<void>;
  projectExists(projectId: string): Promise<boolean>;
  nextExperimentId(): Promise<string>;
  insertExperiment(experiment: ExperimentRecord): Promise<void>;
  getExperiment(experimentId: string): Promise<ExperimentRecord | undefined>;
  getExperimentByName(name: string): Promise<ExperimentRecord | undefined>;
  updateExperiment(
    experimentId: string,
    patch: { name?: string; lifecycleStage?: LifecycleStage; lastUpdateTime: number },
  ): Promise<void>;
  /** Returns up to `limit + 1` experiments, so the caller can tell whether a next page exists. */
  searchExperiments(query: ExperimentQuery): Promise<ExperimentRecord[]>;
  setExperimentTag(experimentId: string, tag: { key: string; value: string }): Promise<void>;
  deleteExperimentTag(experimentId: string, key: string): Promise<boolean>;
  /** Marks every run of the experiment with the stage (experiment delete/restore cascade). */
  setRunsLifecycleForExperiment(
    experimentId: string,
    change: { from: LifecycleStage; to: LifecycleStage; deletedTime: number | null },
  ): Promise<void>;

  insertRun(info: RunInfoRecord, tags: Array<{ key: string; value: string }>): Promise<void>;
  getRunInfo(runId: string): Promise<RunInfoRecord | undefined>;
  /** Infos of many runs in a few queries; unknown ids are left out. */
  getRunInfos(runIds: readonly string[]): Promise<RunInfoRecord[]>;
  /** The project of each experiment, in a few queries; unknown ids are left out. */
  getExperimentProjects(experimentIds: readonly string[]): Promise<Map<string, string>>;
  /** Names of many experiments in a few queries; unknown ids are left out. */
  getExperimentNames(experimentIds: readonly string[]): Promise<Map<string, string>>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  updateRun(runId: string, patch: RunPatch): Promise<void>;
  /** Returns up to `limit + 1` run infos in order. */
  searchRuns(query: RunQuery): Promise<RunInfoRecord[]>;
  /** Params, tags and latest metrics of many runs in a few queries (no N+1). */
  loadRunData(runIds: string[]): Promise<Map<string, RunData>>;
  loadRunInputs(runIds: string[]): Promise<Map<string, DatasetInputRecord[]>>;

  getParams(runId: string, keys: string[]): Promise<Map<string, string>>;
  getTags(runId: string, keys: string[]): Promise<Map<string, string>>;
  writeBatch(runId: string, batch: BatchWrite): Promise<void>;
  /** Metric points of several runs in one go (coalesced single-metric calls). */
  writeMetrics(writes: ReadonlyArray<{ runId: string; metrics: MetricPoint[] }>): Promise<void>;
  deleteTag(runId: string, key: string): Promise<boolean>;
  /** History of one key ordered by step, timestamp; `limit` rows from `offset`, or all. */
  getMetricHistory(
    runId: string,
    key: string,
    page: { offset: number; limit: number | undefined },
  ): Promise<MetricPoint[]>;
  /** Many keys of many runs at once (bulk history). */
  getMetricHistories(
    runIds: string[],
    keys: string[],
    limitPerSeries: number,
  ): Promise<Array<MetricPoint & { runId: string }>>;
  /** Returns the id of each input's dataset, in order (an existing dataset keeps its id). */
  logInputs(experimentId: string, runId: string, inputs: DatasetInputRecord[]): Promise<string[]>;
  /** Datasets by id in a few queries; unknown ids are left out. */
  getDatasets(datasetIds: readonly string[]): Promise<StoredDataset[]>;

  /** Records the run's source, replacing what was recorded before (a resumed run may move on). */
  setCodeVersion(version: RunCodeVersion): Promise<void>;
  getCodeVersion(runId: string): Promise<RunCodeVersion | undefined>;
}

/** A dataset row as lineage names it: by its id, within its experiment. */
export interface StoredDataset extends DatasetRecord {
  datasetId: string;
  experimentId: string;
}

export interface TrackingStores {
  tracking: TrackingStore;
}
