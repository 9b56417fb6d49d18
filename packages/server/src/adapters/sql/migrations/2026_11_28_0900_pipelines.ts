import type { Kysely } from 'kysely';

// Frozen in time: this file never imports module code, and is never edited
// once released. Later changes are new migrations.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('pipeline_runs')
    .addColumn('pipeline_run_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    .addColumn('pipeline_name', 'text', (c) => c.notNull())
    // JSON text: the validated spec the run was started with.
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('definition_digest', 'text', (c) => c.notNull())
    .addColumn('code_digest', 'text')
    .addColumn('params', 'text', (c) => c.notNull())
    // 'local' | 'queue'
    .addColumn('executor', 'text', (c) => c.notNull())
    .addColumn('use_cache', 'integer', (c) => c.notNull())
    // 'running' | 'succeeded' | 'failed' | 'cancelling' | 'cancelled'
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    // Two triggers firing for the same dataset version make one run: the second insert fails here.
    .addColumn('trigger_key', 'text', (c) => c.unique())
    .addColumn('error', 'text')
    .addColumn('experiment_id', 'text', (c) => c.notNull())
    // The scheduler holding the run and its lease; a stopped scheduler's runs are taken over.
    .addColumn('owner', 'text')
    .addColumn('lease_until_ms', 'bigint')
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('started_ms', 'bigint')
    .addColumn('ended_ms', 'bigint')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('pipeline_runs_by_project')
    .on('pipeline_runs')
    .columns(['project_id', 'created_ms'])
    .execute();
  // Schedulers poll for active runs; ended runs are the great majority.
  await db.schema.createIndex('pipeline_runs_by_status').on('pipeline_runs').column('status').execute();

  await db.schema
    .createTable('pipeline_steps')
    .addColumn('step_run_id', 'text', (c) => c.primaryKey())
    .addColumn('pipeline_run_id', 'text', (c) =>
      c.notNull().references('pipeline_runs.pipeline_run_id').onDelete('cascade'),
    )
    .addColumn('step_name', 'text', (c) => c.notNull())
    // -1 for a step without foreach.
    .addColumn('item_index', 'integer', (c) => c.notNull())
    .addColumn('item', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('cache_key', 'text')
    .addColumn('cached_from', 'text')
    .addColumn('reason', 'text')
    .addColumn('run_id', 'text')
    // JSON text: output name → { digest, sizeBytes, type }.
    .addColumn('outputs', 'text', (c) => c.notNull())
    .addColumn('exit_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('stderr_tail', 'text')
    .addColumn('not_before_ms', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until_ms', 'bigint')
    .addColumn('pid', 'integer')
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('started_ms', 'bigint')
    .addColumn('ended_ms', 'bigint')
    .addUniqueConstraint('pipeline_steps_one_per_item', ['pipeline_run_id', 'step_name', 'item_index'])
    .execute();
  // Cache look-ups: the newest succeeded step run under a key.
  await db.schema
    .createIndex('pipeline_steps_by_cache_key')
    .on('pipeline_steps')
    .columns(['cache_key', 'status', 'ended_ms'])
    .execute();

  await db.schema
    .createTable('pipeline_triggers')
    .addColumn('trigger_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    .addColumn('name', 'text', (c) => c.notNull())
    // 'schedule' | 'dataset'
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('cron', 'text')
    .addColumn('timezone', 'text')
    .addColumn('dataset', 'text')
    .addColumn('alias', 'text')
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('definition_digest', 'text', (c) => c.notNull())
    .addColumn('code_digest', 'text')
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('executor', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('next_ms', 'bigint')
    .addColumn('last_seen', 'text')
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addUniqueConstraint('pipeline_triggers_name', ['project_id', 'name'])
    .execute();
}
