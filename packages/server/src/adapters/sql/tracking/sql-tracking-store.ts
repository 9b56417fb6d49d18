import { sql, type Kysely, type SqlBool } from 'kysely';
import type {
  BatchWrite,
  DatasetInputRecord,
  ExperimentQuery,
  ExperimentRecord,
  MetricPoint,
  RunCodeVersion,
  RunData,
  RunInfoRecord,
  RunPatch,
  RunQuery,
  RunRecord,
  StoredDataset,
  TrackingStore,
} from '../../../modules/tracking/index.js';
import type { SqlHelpers } from '../database.js';
import type { Database, RunsTable } from '../schema.js';
import { selectCodeVersion, upsertCodeVersion } from './sql-code-versions.js';
import { loadDatasetInputs, loadDatasets, writeDatasetInputs } from './sql-dataset-inputs.js';
import { readMetricHistory, writeMetricSeries } from './sql-metric-series.js';
import { chunk, toExperiment, toMetricPoint, toRunInfo } from './row-mappers.js';
import { experimentFilterSql, experimentOrderBySql, runSearchSql } from './search-sql.js';

const IDS_PER_QUERY = 900;
const KEY_VALUE_ROWS_PER_INSERT = 1000;

/** One implementation for SQLite and PostgreSQL; only portable SQL here. */
export class SqlTrackingStore implements TrackingStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly helpers: SqlHelpers,
  ) {}

  async ensureProject(projectId: string, name: string, createdAt: number): Promise<void> {
    await this.db
      .insertInto('projects')
      .values({ project_id: projectId, name, created_ms: createdAt })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async projectExists(projectId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('projects')
      .select('project_id')
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async nextExperimentId(): Promise<string> {
    const row = await this.db
      .updateTable('sequences')
      .set({ value: sql`value + 1` })
      .where('name', '=', 'experiment')
      .returning('value')
      .executeTakeFirstOrThrow();
    return String(row.value);
  }

  async insertExperiment(experiment: ExperimentRecord): Promise<void> {
    await this.db
      .insertInto('experiments')
      .values({
        experiment_id: experiment.experimentId,
        project_id: experiment.projectId,
        name: experiment.name,
        artifact_location: experiment.artifactLocation,
        lifecycle_stage: experiment.lifecycleStage,
        creation_ms: experiment.creationTime,
        last_update_ms: experiment.lastUpdateTime,
      })
      .execute();
    // Chunked: SQLite caps one statement at 32,766 parameters.
    for (const tags of chunk(Object.entries(experiment.tags), KEY_VALUE_ROWS_PER_INSERT)) {
      await this.db
        .insertInto('experiment_tags')
        .values(tags.map(([key, value]) => ({ experiment_id: experiment.experimentId, key, value })))
        .execute();
    }
  }

  async getExperiment(experimentId: string): Promise<ExperimentRecord | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('experiment_id', '=', experimentId)
      .executeTakeFirst();
    return row === undefined ? undefined : toExperiment(row, await this.experimentTags(row.experiment_id));
  }

  async getExperimentByName(name: string): Promise<ExperimentRecord | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toExperiment(row, await this.experimentTags(row.experiment_id));
  }

  private async experimentTags(experimentId: string): Promise<Record<string, string>> {
    const rows = await this.db
      .selectFrom('experiment_tags')
      .select(['key', 'value'])
      .where('experiment_id', '=', experimentId)
      .execute();
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async updateExperiment(
    experimentId: string,
    patch: { name?: string; lifecycleStage?: 'active' | 'deleted'; lastUpdateTime: number },
  ): Promise<void> {
    await this.db
      .updateTable('experiments')
      .set({
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.lifecycleStage === undefined ? {} : { lifecycle_stage: patch.lifecycleStage }),
        last_update_ms: patch.lastUpdateTime,
      })
      .where('experiment_id', '=', experimentId)
      .execute();
  }

  async searchExperiments(query: ExperimentQuery): Promise<ExperimentRecord[]> {
    let select = this.db
      .selectFrom('experiments as e')
      .selectAll('e')
      .where('e.lifecycle_stage', 'in', query.lifecycleStages);
    if (query.projectIds !== undefined)
      select = select.where(this.helpers.anyOf('e.project_id', query.projectIds));
    if (query.filter !== undefined) select = select.where(experimentFilterSql(query.filter));
    for (const item of experimentOrderBySql(query.orderBy)) select = select.orderBy(item);
    const rows = await select
      .limit(query.limit + 1)
      .offset(query.offset)
      .execute();
    const tags = new Map<string, Record<string, string>>();
    for (const ids of chunk(
      rows.map((r) => r.experiment_id),
      IDS_PER_QUERY,
    )) {
      const tagRows = await this.db
        .selectFrom('experiment_tags')
        .selectAll()
        .where(this.helpers.anyOf('experiment_id', ids))
        .execute();
      for (const t of tagRows) {
        const bucket = tags.get(t.experiment_id) ?? {};
        bucket[t.key] = t.value;
        tags.set(t.experiment_id, bucket);
      }
    }
    return rows.map((row) => toExperiment(row, tags.get(row.experiment_id) ?? {}));
  }

  async setExperimentTag(experimentId: string, tag: { key: string; value: string }): Promise<void> {
    await this.db
      .insertInto('experiment_tags')
      .values({ experiment_id: experimentId, key: tag.key, value: tag.value })
      .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('experiment_tags')
      .where('experiment_id', '=', experimentId)
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async setRunsLifecycleForExperiment(
    experimentId: string,
    change: { from: 'active' | 'deleted'; to: 'active' | 'deleted'; deletedTime: number | null },
  ): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({ lifecycle_stage: change.to, deleted_ms: change.deletedTime })
      .where('experiment_id', '=', experimentId)
      .where('lifecycle_stage', '=', change.from)
      .execute();
  }

  async insertRun(info: RunInfoRecord, tags: Array<{ key: string; value: string }>): Promise<void> {
    await this.db
      .insertInto('runs')
      .values({
        run_uuid: info.runId,
        experiment_id: info.experimentId,
        run_name: info.runName,
        user_id: info.userId,
        status: info.status,
        start_ms: info.startTime,
        end_ms: info.endTime,
        lifecycle_stage: info.lifecycleStage,
        artifact_uri: info.artifactUri,
        deleted_ms: info.deletedTime,
      })
      .execute();
    for (const part of chunk(tags, KEY_VALUE_ROWS_PER_INSERT)) {
      await this.db
        .insertInto('tags')
        .values(part.map((t) => ({ run_uuid: info.runId, key: t.key, value: t.value })))
        .execute();
    }
  }

  async getRunInfo(runId: string): Promise<RunInfoRecord | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('run_uuid', '=', runId).executeTakeFirst();
    return row === undefined ? undefined : toRunInfo(row);
  }

  async getRunInfos(runIds: readonly string[]): Promise<RunInfoRecord[]> {
    const infos: RunInfoRecord[] = [];
    for (const ids of chunk([...runIds], IDS_PER_QUERY)) {
      const rows = await this.db
        .selectFrom('runs')
        .selectAll()
        .where(this.helpers.anyOf('run_uuid', ids))
        .execute();
      for (const row of rows) infos.push(toRunInfo(row));
    }
    return infos;
  }

  async getExperimentProjects(experimentIds: readonly string[]): Promise<Map<string, string>> {
    const projects = new Map<string, string>();
    for (const ids of chunk([...experimentIds], IDS_PER_QUERY)) {
      const rows = await this.db
        .selectFrom('experiments')
        .select(['experiment_id', 'project_id'])
        .where(this.helpers.anyOf('experiment_id', ids))
        .execute();
      for (const row of rows) projects.set(row.experiment_id, row.project_id);
    }
    return projects;
  }

  async getExperimentNames(experimentIds: readonly string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const ids of chunk([...experimentIds], IDS_PER_QUERY)) {
      const rows = await this.db
        .selectFrom('experiments')
        .select(['experiment_id', 'name'])
        .where(this.helpers.anyOf('experiment_id', ids))
        .execute();
      for (const row of rows) names.set(row.experiment_id, row.name);
    }
    return names;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const info = await this.getRunInfo(runId);
    if (info === undefined) return undefined;
    const [data, inputs] = await Promise.all([this.loadRunData([runId]), this.loadRunInputs([runId])]);
    return {
      info,
      data: data.get(runId) ?? { metrics: [], params: {}, tags: {} },
      inputs: { datasetInputs: inputs.get(runId) ?? [] },
    };
  }

  async updateRun(runId: string, patch: RunPatch): Promise<void> {
    const set: Partial<RunsTable> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.endTime !== undefined) set.end_ms = patch.endTime;
    if (patch.runName !== undefined) set.run_name = patch.runName;
    if (patch.lifecycleStage !== undefined) set.lifecycle_stage = patch.lifecycleStage;
    if (patch.deletedTime !== undefined) set.deleted_ms = patch.deletedTime;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('runs').set(set).where('run_uuid', '=', runId).execute();
  }

  async searchRuns(query: RunQuery): Promise<RunInfoRecord[]> {
    const statement = runSearchSql({
      scope: [
        this.helpers.anyOf('r.experiment_id', query.experimentIds),
        sql<SqlBool>`r.lifecycle_stage in (${sql.join(query.lifecycleStages)})`,
        ...(query.projectIds === undefined
          ? []
          : [
              sql<SqlBool>`r.experiment_id in (select pe.experiment_id from experiments pe where ${this.helpers.anyOf('pe.project_id', query.projectIds)})`,
            ]),
      ],
      filter: query.filter,
      orderBy: query.orderBy,
      limit: query.limit + 1,
      offset: query.offset,
    });
    const { rows } = await statement.execute(this.db);
    return rows.map((row) => toRunInfo(row as unknown as RunsTable));
  }

  async loadRunData(runIds: string[]): Promise<Map<string, RunData>> {
    const result = new Map<string, RunData>();
    for (const id of runIds) result.set(id, { metrics: [], params: {}, tags: {} });
    for (const ids of chunk(runIds, IDS_PER_QUERY)) {
      const [params, tags, metrics] = await Promise.all([
        this.db
          .selectFrom('params')
          .select(['run_uuid', 'key', 'value'])
          .where(this.helpers.anyOf('run_uuid', ids))
          .execute(),
        this.db
          .selectFrom('tags')
          .select(['run_uuid', 'key', 'value'])
          .where(this.helpers.anyOf('run_uuid', ids))
          .execute(),
        this.db
          .selectFrom('latest_metrics')
          .select(['run_uuid', 'key', 'value', 'timestamp_ms', 'step', 'is_nan'])
          .where(this.helpers.anyOf('run_uuid', ids))
          .execute(),
      ]);
      for (const p of params) (result.get(p.run_uuid) as RunData).params[p.key] = p.value;
      for (const t of tags) (result.get(t.run_uuid) as RunData).tags[t.key] = t.value;
      for (const m of metrics) (result.get(m.run_uuid) as RunData).metrics.push(toMetricPoint(m));
    }
    return result;
  }

  loadRunInputs(runIds: string[]): Promise<Map<string, DatasetInputRecord[]>> {
    return loadDatasetInputs(this.db, this.helpers, runIds);
  }

  async getParams(runId: string, keys: string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('params')
      .select(['key', 'value'])
      .where('run_uuid', '=', runId)
      .where('key', 'in', keys)
      .execute();
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  async getTags(runId: string, keys: string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('tags')
      .select(['key', 'value'])
      .where('run_uuid', '=', runId)
      .where('key', 'in', keys)
      .execute();
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  async writeBatch(runId: string, batch: BatchWrite): Promise<void> {
    if (batch.params.length > 0) {
      await this.db
        .insertInto('params')
        .values(batch.params.map((p) => ({ run_uuid: runId, key: p.key, value: p.value })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    if (batch.tags.length > 0) {
      await this.db
        .insertInto('tags')
        .values(batch.tags.map((t) => ({ run_uuid: runId, key: t.key, value: t.value })))
        .onConflict((oc) =>
          oc.columns(['run_uuid', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
        )
        .execute();
    }
    if (batch.metrics.length > 0) await this.writeMetrics([{ runId, metrics: batch.metrics }]);
  }

  writeMetrics(writes: ReadonlyArray<{ runId: string; metrics: MetricPoint[] }>): Promise<void> {
    return writeMetricSeries(this.db, this.helpers, writes);
  }

  async deleteTag(runId: string, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('tags')
      .where('run_uuid', '=', runId)
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  getMetricHistory(
    runId: string,
    key: string,
    page: { offset: number; limit: number | undefined },
  ): Promise<MetricPoint[]> {
    return readMetricHistory(this.db, { runId, key }, page);
  }

  async getMetricHistories(
    runIds: string[],
    keys: string[],
    limitPerSeries: number,
  ): Promise<Array<MetricPoint & { runId: string }>> {
    const result: Array<MetricPoint & { runId: string }> = [];
    for (const runId of runIds) {
      for (const key of keys) {
        const points = await this.getMetricHistory(runId, key, { offset: 0, limit: limitPerSeries });
        for (const point of points) result.push({ ...point, runId });
      }
    }
    return result;
  }

  logInputs(experimentId: string, runId: string, inputs: DatasetInputRecord[]): Promise<string[]> {
    return writeDatasetInputs(this.db, { experimentId, runId }, inputs);
  }

  getDatasets(datasetIds: readonly string[]): Promise<StoredDataset[]> {
    return loadDatasets(this.db, this.helpers, datasetIds);
  }

  setCodeVersion(version: RunCodeVersion): Promise<void> {
    return upsertCodeVersion(this.db, version);
  }

  getCodeVersion(runId: string): Promise<RunCodeVersion | undefined> {
    return selectCodeVersion(this.db, runId);
  }
}
