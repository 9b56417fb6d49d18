import type { Kysely } from 'kysely';

// Frozen in time: this file never imports module code, and is never edited
// once released. Later changes are new migrations.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployments')
    .addColumn('deployment_id', 'text', (c) => c.primaryKey())
    // Global: it is the model name in the v2 routes, which carry no project.
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('port', 'integer')
    // Moved by compare-and-set only; no foreign key, as the revision row may be written after it.
    .addColumn('current_revision', 'integer', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('updated_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();

  // Immutable; a rollback is a new revision carrying an old spec.
  await db.schema
    .createTable('deployment_revisions')
    .addColumn('deployment_id', 'text', (c) =>
      c.notNull().references('deployments.deployment_id').onDelete('cascade'),
    )
    .addColumn('revision', 'integer', (c) => c.notNull())
    // The spec as JSON text: live routes, shadow routes, runtime settings, followed alias (null: none).
    .addColumn('routes', 'text', (c) => c.notNull())
    .addColumn('shadows', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('follow', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('deployment_revisions_pk', ['deployment_id', 'revision'])
    .execute();

  // The sampled prediction log; a live request and its shadows' answers share the request id.
  await db.schema
    .createTable('predictions')
    .addColumn('request_id', 'text', (c) => c.notNull())
    // 'live' | 'shadow'
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) =>
      c.notNull().references('deployments.deployment_id').onDelete('cascade'),
    )
    .addColumn('revision', 'integer', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('latency_ms', 'double precision', (c) => c.notNull())
    // 'ok' | 'error'
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    // JSON text; null when absent.
    .addColumn('inputs', 'text')
    .addColumn('outputs', 'text')
    // Shadow rows: 1 agreed, 0 disagreed, null not compared (and always null on live rows).
    .addColumn('agreed', 'integer')
    .addColumn('mean_abs_diff', 'double precision')
    .addPrimaryKeyConstraint('predictions_pk', ['request_id', 'kind'])
    .execute();
  // Newest-first keyset pages and shadow summaries of one deployment and kind; also
  // serves the cascade from deployments.
  await db.schema
    .createIndex('predictions_by_deployment')
    .on('predictions')
    .columns(['deployment_id', 'kind', 'created_ms', 'request_id'])
    .execute();

  // Ground truth, joined to the log by request id; it may arrive before the logged row, or for
  // a request that was not sampled.
  await db.schema
    .createTable('prediction_feedback')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('deployment_id', 'text', (c) =>
      c.notNull().references('deployments.deployment_id').onDelete('cascade'),
    )
    // JSON text, as sent.
    .addColumn('truth', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('prediction_feedback_by_deployment')
    .on('prediction_feedback')
    .column('deployment_id')
    .execute();
}
