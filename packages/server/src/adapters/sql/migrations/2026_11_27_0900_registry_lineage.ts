import type { Kysely } from 'kysely';

// Frozen in time: this file never imports module code, and is never edited
// once released. Later changes are new migrations.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('registered_models')
    .addColumn('model_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    // Names are global, as in MLflow: `models:/name@alias` must resolve without a project.
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('last_version', 'integer', (c) => c.notNull())
    .addColumn('creation_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_update_ms', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('registered_model_tags')
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.model_id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('registered_model_tags_pk', ['model_id', 'key'])
    .execute();

  await db.schema
    .createTable('model_versions')
    .addColumn('version_id', 'text', (c) => c.primaryKey())
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.model_id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('run_link', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    // sha256 over the sorted (path, digest) manifest: one name for the whole pinned file set.
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('file_count', 'integer', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('signature', 'text')
    .addColumn('format_details', 'text')
    .addColumn('creation_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_update_ms', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('model_versions_number', ['model_id', 'version'])
    .execute();
  await db.schema.createIndex('model_versions_by_run').on('model_versions').column('run_id').execute();

  await db.schema
    .createTable('model_version_tags')
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.version_id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_version_tags_pk', ['version_id', 'key'])
    .execute();

  // The pinned files of a version: later changes to the source artifacts never reach these rows.
  await db.schema
    .createTable('model_version_files')
    .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.version_id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_version_files_pk', ['version_id', 'path'])
    .execute();
  await db.schema
    .createIndex('model_version_files_by_digest')
    .on('model_version_files')
    .column('digest')
    .execute();

  await db.schema
    .createTable('model_aliases')
    .addColumn('model_id', 'text', (c) => c.notNull().references('registered_models.model_id'))
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_aliases_pk', ['model_id', 'alias'])
    .execute();

  // Every alias or stage assignment as an interval [started_ms, ended_ms); the open one has ended_ms null.
  // Kept after versions are deleted, so "what was champion on 3 March" stays answerable.
  await db.schema
    .createTable('model_label_history')
    .addColumn('entry_id', 'text', (c) => c.primaryKey())
    .addColumn('model_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('started_ms', 'bigint', (c) => c.notNull())
    .addColumn('ended_ms', 'bigint')
    .addColumn('started_by', 'text', (c) => c.notNull())
    .addColumn('ended_by', 'text')
    .execute();
  await db.schema
    .createIndex('model_label_history_by_label')
    .on('model_label_history')
    .columns(['model_id', 'kind', 'label', 'started_ms'])
    .execute();

  await db.schema
    .createTable('model_cards')
    .addColumn('version_id', 'text', (c) => c.primaryKey().references('model_versions.version_id'))
    .addColumn('intended_use', 'text', (c) => c.notNull())
    .addColumn('out_of_scope_use', 'text', (c) => c.notNull())
    .addColumn('limitations', 'text', (c) => c.notNull())
    .addColumn('ethical_considerations', 'text', (c) => c.notNull())
    .addColumn('risk_tier', 'text')
    .addColumn('markdown', 'text', (c) => c.notNull())
    .addColumn('updated_ms', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();

  // Lineage: one row per edge between two nodes named `kind:id` (one text key keeps the
  // recursive walks to a single indexed join per step).
  await db.schema
    .createTable('lineage_edges')
    .addColumn('from_node', 'text', (c) => c.notNull())
    .addColumn('to_node', 'text', (c) => c.notNull())
    .addColumn('relation', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('lineage_edges_pk', ['from_node', 'to_node', 'relation'])
    .execute();
  await db.schema
    .createIndex('lineage_edges_by_target')
    .on('lineage_edges')
    .columns(['to_node', 'from_node'])
    .execute();
}
