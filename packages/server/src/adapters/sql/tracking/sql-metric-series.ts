import { sql, type Kysely } from 'kysely';
import type { MetricPoint } from '../../../modules/tracking/index.js';
import { newId } from '../../../kernel/ids.js';
import type { SqlHelpers } from '../database.js';
import type { Database, MetricChunksTable, MetricsTable } from '../schema.js';
import { decodeChunks, encodeChunks, seriesToPoints } from './metric-chunks.js';
import { chunk, fromMetricRow, isLaterPoint, toMetricRow } from './row-mappers.js';

/**
 * Metric history (packed chunks) and the latest value per key: the hot path of
 * log-batch and log-metric, kept apart from the rest of the tracking store.
 */
const METRIC_ROWS_PER_INSERT = 1000;
const CHUNK_ROWS_PER_INSERT = 500;

/** Column order of the inserts, as Kysely binds them (see CompiledShapeCache). */
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

export async function writeMetricSeries(
  db: Kysely<Database>,
  helpers: SqlHelpers,
  writes: ReadonlyArray<{ runId: string; metrics: MetricPoint[] }>,
): Promise<void> {
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
    await helpers.shapes.execute(db, { name: 'metric_chunks', rows: part, flatten: flattenChunkRow }, () =>
      db.insertInto('metric_chunks').values(part),
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
    await helpers.shapes.execute(db, { name: 'latest_metrics', rows, flatten: flattenMetricRow }, () =>
      db
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

export async function readMetricHistory(
  db: Kysely<Database>,
  series: { runId: string; key: string },
  page: { offset: number; limit: number | undefined },
): Promise<MetricPoint[]> {
  const { runId, key } = series;
  const rows = await db
    .selectFrom('metric_chunks')
    .select('data')
    .where('run_uuid', '=', runId)
    .where('key', '=', key)
    .orderBy('min_step')
    .orderBy('max_step')
    .execute();
  return seriesToPoints(key, decodeChunks(rows.map((r) => r.data)), page);
}
