import { CairnError, RUN_TAGS, TRACKING_LIMITS } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import { newRunId } from '../../kernel/ids.js';
import type { Transactor } from '../../kernel/transactor.js';
import {
  toDraft,
  type AccessControl,
  type AuditEntry,
  type AuditStores,
  type Permission,
} from '../governance/index.js';
import {
  DEFAULT_EXPERIMENT_ID,
  runArtifactUri,
  type MetricPoint,
  type Page,
  type RunInfoRecord,
  type RunRecord,
} from './entities.js';
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
import { batchDetails, inputDetails, loggedModelDetails, metricDetails, runTarget } from './run-audit.js';
import type { ExperimentService } from './experiments.service.js';
import { artifactRootIn, RunAccess, runNotFound, type CheckedRun } from './run-access.js';
import { RunQueries } from './run-queries.js';
import { invalid, type SearchOptions } from './search-options.js';
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
  checkMetric,
  checkOptionalInteger,
  checkOptionalString,
  checkRunStatus,
} from './validation.js';

export interface TrackingServiceDeps {
  experiments: ExperimentService;
  /** For reads outside a transaction. */
  store: TrackingStore;
  /** Run changes record their lineage edges and audit event in the same transaction. */
  transactor: Transactor<RunChangeStores & AuditStores>;
  clock: Clock;
  access: AccessControl;
}

/** What a write to a run is, for its permission check and its audit event. */
interface RunChange {
  action: string;
  details: Record<string, unknown>;
}

export type { RawBatch, SearchOptions };

/**
 * Run use cases. Validation of values, lifecycle rules and limits live here;
 * so do the permission checks (in the run's project, before any transaction)
 * and the audit event of every change (inside its transaction).
 */
export class TrackingService {
  private readonly metricWrites: MetricWriteQueue;
  private readonly runs: RunAccess;
  private readonly queries: RunQueries;

  constructor(private readonly deps: TrackingServiceDeps) {
    const { store, access, experiments } = deps;
    this.runs = new RunAccess({ store, access, projects: experiments.projects });
    this.queries = new RunQueries({ store, access, projects: experiments.projects, runs: this.runs });
    this.metricWrites = new MetricWriteQueue((writes) =>
      deps.transactor.run(async ({ tracking, audit }) => {
        await tracking.writeMetrics(writes);
        for (const write of writes) if (write.audit !== undefined) audit.recordDraft(write.audit);
      }),
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
    const userId = this.runs.runUser(checkOptionalString(input.userId, 'user_id', 256), tags);
    const startTime = checkOptionalInteger(input.startTime, 'start_time') ?? this.deps.clock.now();

    const experiment = await this.deps.experiments.loadExperiment(experimentId);
    this.deps.experiments.authorize(experiment, 'write', 'runs.create');
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
      stores.audit.record({
        action: 'runs.create',
        target: runTarget(runId),
        projectId: experiment.projectId,
        details: { experimentId, runName, userId, tagKeys: tags.map((t) => t.key) },
      });
    });
    this.deps.experiments.projects.remember(experimentId, experiment.projectId);
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
    await this.runs.authorize(run.info, 'read', 'runs.get');
    return run;
  }

  /** The run's info, once the caller may `permission` in its project (reading, by default). */
  async getRunInfo(
    rawId: unknown,
    attempt: { permission: Permission; action: string } = { permission: 'read', action: 'runs.get' },
  ): Promise<RunInfoRecord> {
    return (await this.runs.checked(rawId, attempt)).info;
  }

  /**
   * An active run the caller may change, checked for `action` (an artifact
   * upload names its own); the project comes along for the audit event.
   */
  async writableRun(rawId: unknown, action: string): Promise<CheckedRun> {
    return this.runs.writable(rawId, action);
  }

  /** The project owning an artifact path inside a run's artifact root; undefined outside every run's. */
  async projectOfArtifactPath(path: string): Promise<string | undefined> {
    return this.runs.projectOfArtifactPath(path);
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
    const { info, projectId } = await this.runs.writable(rawId, 'runs.update');
    const changes = {
      ...(status === undefined ? {} : { status }),
      ...(endTime === undefined ? {} : { endTime }),
      ...(runName === undefined || runName === '' ? {} : { runName }),
    };
    await this.deps.transactor.run(async ({ tracking, audit }) => {
      await tracking.updateRun(info.runId, changes);
      if (changes.runName !== undefined) {
        await tracking.writeBatch(info.runId, {
          metrics: [],
          params: [],
          tags: [{ key: RUN_TAGS.runName, value: changes.runName }],
        });
      }
      audit.record({ action: 'runs.update', target: runTarget(info.runId), projectId, details: changes });
    });
    return { ...info, ...changes };
  }

  async deleteRun(rawId: unknown): Promise<void> {
    const { info, projectId } = await this.runs.checked(rawId, {
      permission: 'write',
      action: 'runs.delete',
    });
    if (info.lifecycleStage === 'deleted') return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async ({ tracking, audit }) => {
      await tracking.updateRun(info.runId, { lifecycleStage: 'deleted', deletedTime: now });
      audit.record({ action: 'runs.delete', target: runTarget(info.runId), projectId });
    });
  }

  async restoreRun(rawId: unknown): Promise<void> {
    const { info, projectId } = await this.runs.checked(rawId, {
      permission: 'write',
      action: 'runs.restore',
    });
    if (info.lifecycleStage === 'active') return;
    const experiment = await this.deps.experiments.loadExperiment(info.experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw invalid(
        `Cannot restore run ${info.runId}: its experiment ${experiment.experimentId} is deleted.`,
        'run_id',
      );
    }
    await this.deps.transactor.run(async ({ tracking, audit }) => {
      await tracking.updateRun(info.runId, { lifecycleStage: 'active', deletedTime: null });
      audit.record({ action: 'runs.restore', target: runTarget(info.runId), projectId });
    });
  }

  async searchRuns(options: SearchOptions & { experimentIds?: unknown }): Promise<Page<RunRecord>> {
    return this.queries.searchRuns(options);
  }

  // ── run data ───────────────────────────────────────────────────────────────

  async logMetric(rawRunId: unknown, rawMetric: unknown): Promise<void> {
    const metric = checkMetric(rawMetric, 'metric');
    await this.write(
      rawRunId,
      { metrics: [metric], params: [], tags: [] },
      { action: 'runs.log_metric', details: metricDetails(metric) },
    );
  }

  async logParam(rawRunId: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const param = checkKeyValue(
      { key: rawKey, value: rawValue },
      'param',
      TRACKING_LIMITS.maxParamValueLength,
    );
    await this.write(
      rawRunId,
      { metrics: [], params: [param], tags: [] },
      { action: 'runs.log_param', details: { ...param } },
    );
  }

  async setTag(rawRunId: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const tag = checkKeyValue({ key: rawKey, value: rawValue }, 'tag', TRACKING_LIMITS.maxTagValueLength);
    await this.write(
      rawRunId,
      { metrics: [], params: [], tags: [tag] },
      { action: 'runs.tag_set', details: { ...tag } },
    );
  }

  async deleteTag(rawRunId: unknown, rawKey: unknown): Promise<void> {
    const key = checkKey(rawKey, 'key');
    const { info, projectId } = await this.runs.writable(rawRunId, 'runs.tag_delete');
    const removed = await this.deps.transactor.run(async (stores) => {
      await removeRunTagEdge(stores, { runId: info.runId, key });
      const deleted = await stores.tracking.deleteTag(info.runId, key);
      if (deleted) {
        stores.audit.record({
          action: 'runs.tag_delete',
          target: runTarget(info.runId),
          projectId,
          details: { key },
        });
      }
      return deleted;
    });
    if (!removed) throw new CairnError('NOT_FOUND', `No tag with name: ${key} in run with id ${info.runId}`);
  }

  /** MLflow's log-batch: every item is checked before anything is written; a rejected batch writes nothing. */
  async logBatch(rawRunId: unknown, raw: RawBatch): Promise<void> {
    const batch = parseBatch(raw);
    await this.write(rawRunId, batch, { action: 'runs.log_batch', details: batchDetails(batch) });
  }

  async getMetricHistory(
    rawRunId: unknown,
    rawKey: unknown,
    page: { maxResults?: unknown; pageToken?: unknown } = {},
  ): Promise<Page<MetricPoint>> {
    return this.queries.getMetricHistory(rawRunId, rawKey, page);
  }

  async getMetricHistoryBulk(
    rawRunIds: unknown,
    rawKey: unknown,
    rawMaxResults?: unknown,
  ): Promise<Array<MetricPoint & { runId: string }>> {
    return this.queries.getMetricHistoryBulk(rawRunIds, rawKey, rawMaxResults);
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
    const { info, projectId } = await this.runs.writable(rawRunId, 'runs.log_inputs');
    if (inputs.length === 0) return;
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async (stores) => {
      const datasetIds = await stores.tracking.logInputs(info.experimentId, info.runId, inputs);
      await recordInputEdges(stores, { runId: info.runId, datasetIds, inputs, at: now });
      stores.audit.record({
        action: 'runs.log_inputs',
        target: runTarget(info.runId),
        projectId,
        details: inputDetails(inputs),
      });
    });
  }

  /**
   * MLflow's `runs/log-model`: the client reports a logged model as JSON and
   * it is appended to the run's `mlflow.log-model.history` tag, as MLflow does.
   */
  async recordLoggedModel(rawRunId: unknown, rawModelJson: unknown): Promise<void> {
    const model = parseLoggedModel(rawModelJson);
    const { info } = await this.runs.writable(rawRunId, 'runs.log_model');
    const history = await this.store.getTags(info.runId, [LOG_MODEL_HISTORY_TAG]);
    const value = appendLoggedModel(history.get(LOG_MODEL_HISTORY_TAG), model);
    await this.write(
      info.runId,
      { metrics: [], params: [], tags: [{ key: LOG_MODEL_HISTORY_TAG, value }] },
      { action: 'runs.log_model', details: loggedModelDetails(model) },
    );
  }

  /** The run's artifact root inside the artifact store, or a clear error when it lives elsewhere. */
  artifactRootOf(info: RunInfoRecord): string {
    const root = artifactRootIn(info);
    if (root !== undefined) return root;
    throw new CairnError(
      'FAILED_PRECONDITION',
      `Run ${info.runId} stores its artifacts at ${info.artifactUri}, outside this server; read them there.`,
    );
  }

  private async write(rawRunId: unknown, batch: BatchWrite, change: RunChange): Promise<void> {
    const { info, projectId } = await this.runs.writable(rawRunId, change.action);
    const entry: AuditEntry = { ...change, target: runTarget(info.runId), projectId };
    const now = this.deps.clock.now();
    if (batch.params.length === 0 && batch.tags.length === 0) {
      if (batch.metrics.length > 0) {
        await this.metricWrites.write(info.runId, batch.metrics, toDraft(entry, now));
      }
      return;
    }
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
      stores.audit.record(entry);
    });
  }
}
