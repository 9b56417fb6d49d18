import { sql, type Kysely } from 'kysely';

// Frozen in time: this file never imports module code, and is never edited
// once released. Later changes are new migrations.
// Ids are text, times are epoch-ms bigints, JSON is text — the same on both dialects.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('projects')
    .addColumn('project_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sequences')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('experiments')
    .addColumn('experiment_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('artifact_location', 'text', (c) => c.notNull())
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .addColumn('creation_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_update_ms', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('experiment_tags')
    .addColumn('experiment_id', 'text', (c) => c.notNull().references('experiments.experiment_id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('experiment_tags_pk', ['experiment_id', 'key'])
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('run_uuid', 'text', (c) => c.primaryKey())
    .addColumn('experiment_id', 'text', (c) => c.notNull().references('experiments.experiment_id'))
    .addColumn('run_name', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('start_ms', 'bigint', (c) => c.notNull())
    .addColumn('end_ms', 'bigint')
    .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
    .addColumn('artifact_uri', 'text', (c) => c.notNull())
    .addColumn('deleted_ms', 'bigint')
    .execute();
  await db.schema
    .createIndex('runs_by_experiment')
    .on('runs')
    .columns(['experiment_id', 'lifecycle_stage', 'start_ms'])
    .execute();

  for (const table of ['params', 'tags'] as const) {
    await db.schema
      .createTable(table)
      .addColumn('run_uuid', 'text', (c) => c.notNull().references('runs.run_uuid'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['run_uuid', 'key'])
      .execute();
  }

  // Full history, packed: one row per (run, key, write) holding that write's
  // points as float64 triples (see adapters/sql/tracking/metric-chunks.ts).
  // A 100,000-point history is ~100 rows. `bytea` is a BLOB in SQLite too.
  await db.schema
    .createTable('metric_chunks')
    .addColumn('run_uuid', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('chunk_id', 'text', (c) => c.notNull())
    .addColumn('point_count', 'integer', (c) => c.notNull())
    .addColumn('min_step', 'bigint', (c) => c.notNull())
    .addColumn('max_step', 'bigint', (c) => c.notNull())
    .addColumn('data', sql`bytea`, (c) => c.notNull())
    .addPrimaryKeyConstraint('metric_chunks_pk', ['run_uuid', 'key', 'chunk_id'])
    .execute();
  await db.schema
    .createIndex('metric_chunks_by_series')
    .on('metric_chunks')
    .columns(['run_uuid', 'key', 'min_step'])
    .execute();

  // One row per (run, key): the point with the greatest (step, timestamp, value),
  // kept by the writer so searches and run reads never scan history.
  await db.schema
    .createTable('latest_metrics')
    .addColumn('run_uuid', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('step', 'bigint', (c) => c.notNull())
    .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('is_nan', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('latest_metrics_pk', ['run_uuid', 'key'])
    .execute();
  await db.schema
    .createIndex('latest_metrics_by_key')
    .on('latest_metrics')
    .columns(['key', 'value'])
    .execute();

  await db.schema
    .createTable('datasets')
    .addColumn('dataset_uuid', 'text', (c) => c.primaryKey())
    .addColumn('experiment_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('source_type', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('schema', 'text')
    .addColumn('profile', 'text')
    .addUniqueConstraint('datasets_identity', ['experiment_id', 'name', 'digest'])
    .execute();

  await db.schema
    .createTable('inputs')
    .addColumn('input_uuid', 'text', (c) => c.primaryKey())
    .addColumn('source_type', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('destination_type', 'text', (c) => c.notNull())
    .addColumn('destination_id', 'text', (c) => c.notNull())
    .addUniqueConstraint('inputs_edge', ['source_type', 'source_id', 'destination_type', 'destination_id'])
    .execute();
  await db.schema.createIndex('inputs_by_destination').on('inputs').columns(['destination_id']).execute();

  await db.schema
    .createTable('input_tags')
    .addColumn('input_uuid', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('input_tags_pk', ['input_uuid', 'key'])
    .execute();

  // Artifact paths are indexed by folder so a listing is one indexed read,
  // whatever the depth of the tree.
  await db.schema
    .createTable('artifact_files')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('dir', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('artifact_files_by_dir')
    .on('artifact_files')
    .columns(['dir', 'path'])
    .execute();

  await db.schema
    .createTable('artifact_dirs')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('parent', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('artifact_dirs_by_parent')
    .on('artifact_dirs')
    .columns(['parent', 'path'])
    .execute();

  await sql`insert into sequences (name, value) values ('experiment', 0)`.execute(db);
}
