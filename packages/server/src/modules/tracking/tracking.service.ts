import { CairnError, RUN_TAGS, TRACKING_LIMITS } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import { newRunId } from '../../kernel/ids.js';
import type { Transactor } from '../../kernel/transactor.js';
import {
  DEFAULT_EXPERIMENT_ID,
  lifecycleStagesFor,
  runArtifactUri,
  type MetricPoint,
  type Page,
  type RunInfoRecord,
  type RunRecord,
} from './entities.js';
import { parseRunOrderBy } from './order-by.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { MetricWriteQueue } from './metric-write-queue.js';
import {
  appendLoggedModel,
  checkDatasetInput,
  dedupeTags,
  LOG_MODEL_HISTORY_TAG,
  parseBatch,
  parseLoggedModel,
  type RawBatch,
} from './run-data-rules.js';
import { generateRunName } from './run-names.js';
import { parseRunFilter } from './search-filter.js';
import type { ExperimentService } from './experiments.service.js';
import { checkStringList, invalid, type SearchOptions } from './search-options.js';
import {
  recordInputEdges,
  recordRunTagEdges,
  removeRunTagEdge,
  replaceRunTagEdges,
  type RunChangeStores,
} from './run-lineage.js';
import type { BatchWrite, TrackingStore } from './tracking.store.js';
import {
  checkArray,
  checkId,
  checkKey,
  checkKeyValue,
  checkMaxResults,
  checkMetric,
  checkOptionalInteger,
  checkOptionalString,
  checkRunStatus,
  checkString,
  checkViewType,
} from './validation.js';

export interface TrackingServiceDeps {
  experiments: ExperimentService;
  /** For reads outside a transaction. */
  store: TrackingStore;
  /** Run changes record their lineage edges in the same transaction. */
  transactor: Transactor<RunChangeStores>;
  clock: Clock;
}

export type { RawBatch, SearchOptions };

/** Run use cases. Validation of values, lifecycle rules and limits live here. */
export class TrackingService {
  private readonly metricWrites: MetricWriteQueue;

  constructor(private readonly deps: TrackingServiceDeps) {
    this.metricWrites = new MetricWriteQueue((writes) =>
      deps.transactor.run(({ tracking }) => tracking.writeMetrics(writes)),
    );
  }

  private get store(): TrackingStore {
    return this.deps.store;
  }

  // ── runs ───────────────────────────────────────────────────────────────────

  async createRun(input: {
    experimentId?: unknown;
    runName?: unknown;
    startTime?: unknown;
    userId?: unknown;
    tags?: unknown;
  }): Promise<RunRecord> {
    const experimentId =
      input.experimentId === undefined || input.experimentId === null || input.experimentId === ''
        ? DEFAULT_EXPERIMENT_ID
        : checkId(input.experimentId, 'experiment_id');
    const tags = dedupeTags(
      checkArray(input.tags, 'tags').map((t, i) =>
        checkKeyValue(t, `tags[${i}]`, TRACKING_LIMITS.maxTagValueLength),
      ),
    );
    let runName = checkOptionalString(input.runName, 'run_name', TRACKING_LIMITS.maxRunNameLength);
    const nameTag = tags.find((t) => t.key === RUN_TAGS.runName);
    if (runName !== undefined && runName !== '' && nameTag !== undefined && nameTag.value !== runName) {
      throw invalid(
        `Both 'run_name' ("${runName}") and tag '${RUN_TAGS.runName}' ("${nameTag.value}") were set and differ.`,
        'run_name',
      );
    }
    if (runName === undefined || runName === '') runName = nameTag?.value ?? generateRunName();
    if (nameTag === undefined) tags.push({ key: RUN_TAGS.runName, value: runName });
    const userId =
      checkOptionalString(input.userId, 'user_id', 256) ??
      tags.find((t) => t.key === RUN_TAGS.user)?.value ??
      'unknown';
    const startTime = checkOptionalInteger(input.startTime, 'start_time') ?? this.deps.clock.now();

    const experiment = await this.deps.experiments.getExperiment(experimentId);
    this.deps.experiments.assertActiveExperiment(experiment);
    const parentRunId = tags.find((t) => t.key === RUN_TAGS.parentRunId)?.value;
    if (parentRunId !== undefined && (await this.store.getRunInfo(parentRunId)) === undefined) {
      throw invalid(`The parent run ${parentRunId} (tag ${RUN_TAGS.parentRunId}) does not exist.`, 'tags');
    }
    const runId = newRunId();
    const info: RunInfoRecord = {
      runId,
      experimentId,
      runName,
      userId,
      status: 'RUNNING',
      startTime,
      endTime: null,
      lifecycleStage: 'active',
      artifactUri: runArtifactUri(experiment.artifactLocation, runId),
      deletedTime: null,
    };
    await this.deps.transactor.run(async (stores) => {
      await stores.tracking.insertRun(info, tags);
      await recordRunTagEdges(stores, { runId, tags, at: this.deps.clock.now() });
    });
    return {
      info,
      data: { metrics: [], params: {}, tags: Object.fromEntries(tags.map((t) => [t.key, t.value])) },
      inputs: { datasetInputs: [] },
    };
  }

  async getRun(rawId: unknown): Promise<RunRecord> {
    const runId = checkId(rawId, 'run_id');
    const run = await this.store.getRun(runId);
    if (run === undefined) throw runNotFound(runId);
    return run;
  }

  async getRunInfo(rawId: unknown): Promise<RunInfoRecord> {
    const runId = checkId(rawId, 'run_id');
    const info = await this.store.getRunInfo(runId);
    if (info === undefined) throw runNotFound(runId);
    return info;
  }

  async updateRun(
    rawId: unknown,
    patch: { status?: unknown; endTime?: unknown; runName?: unknown },
  ): Promise<RunInfoRecord> {
    const status =
      patch.status === undefined || patch.status === null
        ? undefined
        : checkRunStatus(patch.status, 'status');
    const endTime = checkOptionalInteger(patch.endTime, 'end_time');
    const runName = checkOptionalString(patch.runName, 'run_name', TRACKING_LIMITS.maxRunNameLength);
    const info = await this.getActiveRun(rawId);
    const changes = {
      ...(status === undefined ? {} : { status }),
      ...(endTime === undefined ? {} : { endTime }),
      ...(runName === undefined || runName === '' ? {} : { runName }),
    };
    await this.deps.transactor.run(async ({ tracking }) => {
      await tracking.updateRun(info.runId, changes);
      if (changes.runName !== undefined) {
        await tracking.writeBatch(info.runId, {
          metrics: [],
          params: [],
          tags: [{ key: RUN_TAGS.runName, value: changes.runName }],
        });
      }
    });
    return { ...info, ...changes };
  }

  async deleteRun(rawId: unknown): Promise<void> {
    const info = await this.getRunInfo(rawId);
    if (info.lifecycleStage === 'deleted') return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(({ tracking }) =>
      tracking.updateRun(info.runId, { lifecycleStage: 'deleted', deletedTime: now }),
    );
  }

  async restoreRun(rawId: unknown): Promise<void> {
    const info = await this.getRunInfo(rawId);
    if (info.lifecycleStage === 'active') return;
    const experiment = await this.deps.experiments.getExperiment(info.experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw invalid(
        `Cannot restore run ${info.runId}: its experiment ${experiment.experimentId} is deleted.`,
        'run_id',
      );
    }
    await this.deps.transactor.run(({ tracking }) =>
      tracking.updateRun(info.runId, { lifecycleStage: 'active', deletedTime: null }),
    );
  }

  async searchRuns(options: SearchOptions & { experimentIds?: unknown }): Promise<Page<RunRecord>> {
    const experimentIds = checkStringList(options.experimentIds, 'experiment_ids');
    experimentIds.forEach((id, i) => checkId(id, `experiment_ids[${i}]`));
    const filter =
      options.filter === undefined || options.filter === null || options.filter === ''
        ? undefined
        : parseRunFilter(checkString(options.filter, 'filter', 20_000));
    const orderBy = parseRunOrderBy(checkStringList(options.orderBy, 'order_by'));
    const limit = checkMaxResults(options.maxResults, 'max_results', TRACKING_LIMITS.maxResultsRuns);
    const offset = decodePageToken(checkOptionalString(options.pageToken, 'page_token', 1000));
    const viewType = checkViewType(options.viewType, 'run_view_type');
    if (experimentIds.length === 0) return { items: [], nextPageToken: undefined };
    const infos = await this.store.searchRuns({
      experimentIds,
      filter,
      orderBy,
      lifecycleStages: lifecycleStagesFor(viewType),
      offset,
      limit,
    });
    const page = infos.slice(0, limit);
    const ids = page.map((info) => info.runId);
    const [data, inputs] = await Promise.all([this.store.loadRunData(ids), this.store.loadRunInputs(ids)]);
    return {
      items: page.map((info) => ({
        info,
        data: data.get(info.runId) ?? { metrics: [], params: {}, tags: {} },
        inputs: { datasetInputs: inputs.get(info.runId) ?? [] },
      })),
      nextPageToken: infos.length > limit ? encodePageToken(offset + limit) : undefined,
    };
  }

  // ── run data ───────────────────────────────────────────────────────────────

  async logMetric(rawRunId: unknown, rawMetric: unknown): Promise<void> {
    const metric = checkMetric(rawMetric, 'metric');
    await this.write(rawRunId, { metrics: [metric], params: [], tags: [] });
  }

  async logParam(rawRunId: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const param = checkKeyValue(
      { key: rawKey, value: rawValue },
      'param',
      TRACKING_LIMITS.maxParamValueLength,
    );
    await this.write(rawRunId, { metrics: [], params: [param], tags: [] });
  }

  async setTag(rawRunId: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const tag = checkKeyValue({ key: rawKey, value: rawValue }, 'tag', TRACKING_LIMITS.maxTagValueLength);
    await this.write(rawRunId, { metrics: [], params: [], tags: [tag] });
  }

  async deleteTag(rawRunId: unknown, rawKey: unknown): Promise<void> {
    const key = checkKey(rawKey, 'key');
    const info = await this.getActiveRun(rawRunId);
    const removed = await this.deps.transactor.run(async (stores) => {
      await removeRunTagEdge(stores, { runId: info.runId, key });
      return stores.tracking.deleteTag(info.runId, key);
    });
    if (!removed) throw new CairnError('NOT_FOUND', `No tag with name: ${key} in run with id ${info.runId}`);
  }

  /** MLflow's log-batch: every item is checked before anything is written; a rejected batch writes nothing. */
  async logBatch(rawRunId: unknown, raw: RawBatch): Promise<void> {
    const batch = parseBatch(raw);
    await this.write(rawRunId, batch);
  }

  async getMetricHistory(
    rawRunId: unknown,
    rawKey: unknown,
    page: { maxResults?: unknown; pageToken?: unknown } = {},
  ): Promise<Page<MetricPoint>> {
    const key = checkKey(rawKey, 'metric_key');
    const info = await this.getRunInfo(rawRunId);
    const limit =
      page.maxResults === undefined || page.maxResults === null
        ? undefined
        : checkMaxResults(page.maxResults, 'max_results', 1_000_000);
    const offset = decodePageToken(checkOptionalString(page.pageToken, 'page_token', 1000));
    const points = await this.store.getMetricHistory(info.runId, key, {
      offset,
      limit: limit === undefined ? undefined : limit + 1,
    });
    if (limit === undefined || points.length <= limit) return { items: points, nextPageToken: undefined };
    return { items: points.slice(0, limit), nextPageToken: encodePageToken(offset + limit) };
  }

  async getMetricHistoryBulk(
    rawRunIds: unknown,
    rawKey: unknown,
    rawMaxResults?: unknown,
  ): Promise<Array<MetricPoint & { runId: string }>> {
    const runIds = checkStringList(rawRunIds, 'run_ids');
    if (runIds.length === 0 || runIds.length > 100)
      throw invalid('run_ids must list 1 to 100 run ids', 'run_ids');
    runIds.forEach((id, i) => checkId(id, `run_ids[${i}]`));
    const key = checkKey(rawKey, 'metric_key');
    const limit = checkMaxResults(rawMaxResults ?? 25_000, 'max_results', 25_000);
    return this.store.getMetricHistories(runIds, [key], limit);
  }

  async logInputs(rawRunId: unknown, rawDatasets: unknown): Promise<void> {
    const items = checkArray(rawDatasets, 'datasets');
    if (items.length > TRACKING_LIMITS.maxDatasetsPerCall) {
      throw invalid(
        `At most ${TRACKING_LIMITS.maxDatasetsPerCall} datasets may be logged in one call.`,
        'datasets',
      );
    }
    const inputs = items.map((item, i) => checkDatasetInput(item, `datasets[${i}]`));
    const info = await this.getActiveRun(rawRunId);
    if (inputs.length === 0) return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async (stores) => {
      const datasetIds = await stores.tracking.logInputs(info.experimentId, info.runId, inputs);
      await recordInputEdges(stores, { runId: info.runId, datasetIds, at: now });
    });
  }

  /**
   * MLflow's `runs/log-model`: the client reports a logged model as JSON and
   * it is appended to the run's `mlflow.log-model.history` tag, as MLflow does.
   */
  async recordLoggedModel(rawRunId: unknown, rawModelJson: unknown): Promise<void> {
    const model = parseLoggedModel(rawModelJson);
    const run = await this.getRun(rawRunId);
    const value = appendLoggedModel(run.data.tags[LOG_MODEL_HISTORY_TAG], model);
    await this.write(run.info.runId, {
      metrics: [],
      params: [],
      tags: [{ key: LOG_MODEL_HISTORY_TAG, value }],
    });
  }

  /** The run's artifact root inside the artifact store, or a clear error when it lives elsewhere. */
  artifactRootOf(info: RunInfoRecord): string {
    const prefix = 'mlflow-artifacts:/';
    if (!info.artifactUri.startsWith(prefix)) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `Run ${info.runId} stores its artifacts at ${info.artifactUri}, outside this server; read them there.`,
      );
    }
    return info.artifactUri.slice(prefix.length).replace(/^\/+/, '');
  }

  async getActiveRun(rawId: unknown): Promise<RunInfoRecord> {
    const info = await this.getRunInfo(rawId);
    if (info.lifecycleStage !== 'active') {
      throw invalid(
        `The run ${info.runId} must be in the 'active' state. Current state is ${info.lifecycleStage}.`,
        'run_id',
      );
    }
    return info;
  }

  private async write(rawRunId: unknown, batch: BatchWrite): Promise<void> {
    const info = await this.getActiveRun(rawRunId);
    if (batch.params.length === 0 && batch.tags.length === 0) {
      if (batch.metrics.length > 0) await this.metricWrites.write(info.runId, batch.metrics);
      return;
    }
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async (stores) => {
      const { tracking } = stores;
      if (batch.params.length > 0) {
        const existing = await tracking.getParams(
          info.runId,
          batch.params.map((p) => p.key),
        );
        const conflicts = batch.params.filter((p) => existing.has(p.key) && existing.get(p.key) !== p.value);
        if (conflicts.length > 0) {
          throw invalid(
            `Changing param values is not allowed. Params were already logged for run ID '${info.runId}': ` +
              conflicts
                .map((p) => `${p.key}='${existing.get(p.key) ?? ''}' (attempted '${p.value}')`)
                .join(', '),
            'params',
          );
        }
      }
      await replaceRunTagEdges(stores, { runId: info.runId, tags: batch.tags, at: now });
      await tracking.writeBatch(info.runId, batch);
      const nameTag = batch.tags.find((t) => t.key === RUN_TAGS.runName);
      if (nameTag !== undefined && nameTag.value !== info.runName) {
        await tracking.updateRun(info.runId, { runName: nameTag.value });
      }
    });
  }
}

function runNotFound(runId: string): CairnError {
  return new CairnError('NOT_FOUND', `Run with id=${runId} not found`, { field: 'run_id' });
}
