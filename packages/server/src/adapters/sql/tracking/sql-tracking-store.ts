import { sql, type Kysely, type SqlBool } from 'kysely';
import type {
  BatchWrite,
  DatasetInputRecord,
  ExperimentQuery,
  ExperimentRecord,
  MetricPoint,
  RunData,
  RunInfoRecord,
  RunPatch,
  RunQuery,
  RunRecord,
  TrackingStore,
} from '../../../modules/tracking/index.js';
import { newId } from '../../../kernel/ids.js';
import type { SqlHelpers } from '../database.js';
import type { Database, MetricChunksTable, MetricsTable, RunsTable } from '../schema.js';
import { decodeChunks, encodeChunks, seriesToPoints } from './metric-chunks.js';
import {
  chunk,
  fromMetricRow,
  isLaterPoint,
  toExperiment,
  toMetricPoint,
  toMetricRow,
  toRunInfo,
} from './row-mappers.js';
import { experimentFilterSql, experimentOrderBySql, runSearchSql } from './search-sql.js';

const IDS_PER_QUERY = 900;
const METRIC_ROWS_PER_INSERT = 1000;
const CHUNK_ROWS_PER_INSERT = 500;
const KEY_VALUE_ROWS_PER_INSERT = 1000;

/** Column order of `metrics`/`latest_metrics` inserts, as Kysely binds them. */
const flattenChunkRow = (r: MetricChunksTable): readonly unknown[] => [
  r.run_uuid,
  r.key,
  r.chunk_id,
  r.point_count,
  r.min_step,
  r.max_step,
  r.data,
];

const flattenMetricRow = (r: MetricsTable): readonly unknown[] => [
  r.run_uuid,
  r.key,
  r.step,
  r.timestamp_ms,
  r.value,
  r.is_nan,
];

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

  async loadRunInputs(runIds: string[]): Promise<Map<string, DatasetInputRecord[]>> {
    const result = new Map<string, DatasetInputRecord[]>();
    for (const ids of chunk(runIds, IDS_PER_QUERY)) {
      const rows = await this.db
        .selectFrom('inputs as i')
        .innerJoin('datasets as d', 'd.dataset_uuid', 'i.source_id')
        .select([
          'i.input_uuid',
          'i.destination_id',
          'd.name',
          'd.digest',
          'd.source_type',
          'd.source',
          'd.schema',
          'd.profile',
        ])
        .where('i.destination_type', '=', 'RUN')
        .where('i.source_type', '=', 'DATASET')
        .where(this.helpers.anyOf('i.destination_id', ids))
        .orderBy('i.input_uuid')
        .execute();
      if (rows.length === 0) continue;
      const tagRows = await this.db
        .selectFrom('input_tags')
        .selectAll()
        .where(
          'input_uuid',
          'in',
          rows.map((r) => r.input_uuid),
        )
        .execute();
      const tagsByInput = new Map<string, Array<{ key: string; value: string }>>();
      for (const t of tagRows) {
        const list = tagsByInput.get(t.input_uuid) ?? [];
        list.push({ key: t.key, value: t.value });
        tagsByInput.set(t.input_uuid, list);
      }
      for (const row of rows) {
        const list = result.get(row.destination_id) ?? [];
        list.push({
          dataset: {
            name: row.name,
            digest: row.digest,
            sourceType: row.source_type,
            source: row.source,
            ...(row.schema === null ? {} : { schema: row.schema }),
            ...(row.profile === null ? {} : { profile: row.profile }),
          },
          tags: tagsByInput.get(row.input_uuid) ?? [],
        });
        result.set(row.destination_id, list);
      }
    }
    return result;
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

  async writeMetrics(writes: ReadonlyArray<{ runId: string; metrics: MetricPoint[] }>): Promise<void> {
    const rows = writes.flatMap(({ runId, metrics }) =>
      encodeChunks(metrics).map((c) => ({
        run_uuid: runId,
        key: c.key,
        chunk_id: newId(),
        point_count: c.count,
        min_step: c.minStep,
        max_step: c.maxStep,
        data: c.data,
      })),
    );
    for (const part of chunk(rows, CHUNK_ROWS_PER_INSERT)) {
      await this.helpers.shapes.execute(
        this.db,
        { name: 'metric_chunks', rows: part, flatten: flattenChunkRow },
        () => this.db.insertInto('metric_chunks').values(part),
      );
    }
    // One upsert row per (run, key): PostgreSQL refuses to update a row twice in one statement.
    const latest = new Map<string, MetricsTable>();
    for (const { runId, metrics } of writes) {
      const perKey = new Map<string, MetricPoint>();
      for (const point of metrics) {
        const seen = perKey.get(point.key);
        if (seen === undefined || isLaterPoint(point, seen)) perKey.set(point.key, point);
      }
      for (const point of perKey.values()) {
        const id = `${runId}\u0000${point.key}`;
        const seen = latest.get(id);
        if (seen === undefined || isLaterPoint(point, fromMetricRow(seen)))
          latest.set(id, toMetricRow(runId, point));
      }
    }
    for (const rows of chunk([...latest.values()], METRIC_ROWS_PER_INSERT)) {
      await this.helpers.shapes.execute(
        this.db,
        { name: 'latest_metrics', rows, flatten: flattenMetricRow },
        () =>
          this.db
            .insertInto('latest_metrics')
            .values(rows)
            .onConflict((oc) =>
              oc
                .columns(['run_uuid', 'key'])
                .doUpdateSet({
                  step: (eb) => eb.ref('excluded.step'),
                  timestamp_ms: (eb) => eb.ref('excluded.timestamp_ms'),
                  value: (eb) => eb.ref('excluded.value'),
                  is_nan: (eb) => eb.ref('excluded.is_nan'),
                })
                .where(
                  sql<boolean>`excluded.step > latest_metrics.step
                or (excluded.step = latest_metrics.step and excluded.timestamp_ms > latest_metrics.timestamp_ms)
                or (excluded.step = latest_metrics.step and excluded.timestamp_ms = latest_metrics.timestamp_ms
                    and ((excluded.is_nan = 0 and latest_metrics.is_nan = 1)
                      or (excluded.is_nan = 0 and excluded.value > latest_metrics.value)))`,
                ),
            ),
      );
    }
  }

  async deleteTag(runId: string, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('tags')
      .where('run_uuid', '=', runId)
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getMetricHistory(
    runId: string,
    key: string,
    page: { offset: number; limit: number | undefined },
  ): Promise<MetricPoint[]> {
    const rows = await this.db
      .selectFrom('metric_chunks')
      .select('data')
      .where('run_uuid', '=', runId)
      .where('key', '=', key)
      .orderBy('min_step')
      .orderBy('max_step')
      .execute();
    return seriesToPoints(key, decodeChunks(rows.map((r) => r.data)), page);
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

  async logInputs(experimentId: string, runId: string, inputs: DatasetInputRecord[]): Promise<void> {
    for (const input of inputs) {
      const d = input.dataset;
      const existing = await this.db
        .selectFrom('datasets')
        .select('dataset_uuid')
        .where('experiment_id', '=', experimentId)
        .where('name', '=', d.name)
        .where('digest', '=', d.digest)
        .executeTakeFirst();
      const datasetId = existing?.dataset_uuid ?? newId();
      if (existing === undefined) {
        await this.db
          .insertInto('datasets')
          .values({
            dataset_uuid: datasetId,
            experiment_id: experimentId,
            name: d.name,
            digest: d.digest,
            source_type: d.sourceType,
            source: d.source,
            schema: d.schema ?? null,
            profile: d.profile ?? null,
          })
          .execute();
      }
      const edge = await this.db
        .selectFrom('inputs')
        .select('input_uuid')
        .where('source_type', '=', 'DATASET')
        .where('source_id', '=', datasetId)
        .where('destination_type', '=', 'RUN')
        .where('destination_id', '=', runId)
        .executeTakeFirst();
      if (edge !== undefined) continue;
      const inputId = newId();
      await this.db
        .insertInto('inputs')
        .values({
          input_uuid: inputId,
          source_type: 'DATASET',
          source_id: datasetId,
          destination_type: 'RUN',
          destination_id: runId,
        })
        .execute();
      const tags = [...new Map(input.tags.map((t) => [t.key, t.value]))];
      for (const part of chunk(tags, KEY_VALUE_ROWS_PER_INSERT)) {
        await this.db
          .insertInto('input_tags')
          .values(part.map(([key, value]) => ({ input_uuid: inputId, key, value })))
          .execute();
      }
    }
  }
}
