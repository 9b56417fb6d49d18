import type { Kysely } from 'kysely';

// Frozen in time: this file never imports module code, and is never edited
// once released. Later changes are new migrations.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('versioned_datasets')
    .addColumn('dataset_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    // Global like model names, so `NAME@VER` resolves without a project.
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('last_version', 'integer', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_ms', 'bigint', (c) => c.notNull())
    .execute();

  // Packs: many encoded chunks in one blob, so a gigabyte is tens of blobs (and fsyncs), not thousands.
  await db.schema
    .createTable('data_packs')
    .addColumn('pack_digest', 'text', (c) => c.primaryKey())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();

  // A chunk is named by the sha256 of its plain bytes; where and how it is stored is its row.
  await db.schema
    .createTable('data_chunks')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('pack_digest', 'text', (c) => c.notNull().references('data_packs.pack_digest'))
    .addColumn('pack_offset', 'bigint', (c) => c.notNull())
    .addColumn('stored_bytes', 'integer', (c) => c.notNull())
    .addColumn('encoding', 'text', (c) => c.notNull())
    // For a delta: the file object whose bytes it copies from; null otherwise.
    .addColumn('base_object', 'text')
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('data_chunks_by_pack').on('data_chunks').column('pack_digest').execute();
  await db.schema.createIndex('data_chunks_by_base').on('data_chunks').column('base_object').execute();

  // A file object is a file's content: its sha256 and the ordered chunks that make it.
  await db.schema
    .createTable('data_objects')
    .addColumn('object_digest', 'text', (c) => c.primaryKey())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('chunk_count', 'integer', (c) => c.notNull())
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('data_object_chunks')
    .addColumn('object_digest', 'text', (c) => c.notNull().references('data_objects.object_digest'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('chunk_digest', 'text', (c) => c.notNull().references('data_chunks.digest'))
    .addColumn('offset_bytes', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('data_object_chunks_pk', ['object_digest', 'seq'])
    .execute();
  await db.schema
    .createIndex('data_object_chunks_by_chunk')
    .on('data_object_chunks')
    .column('chunk_digest')
    .execute();

  await db.schema
    .createTable('dataset_versions')
    .addColumn('version_id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('versioned_datasets.dataset_id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('parent_version', 'integer')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    // sha256 over the sorted (path, mode, object digest) manifest: one name for the whole version.
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('file_count', 'integer', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('bytes_new', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('dataset_versions_number', ['dataset_id', 'version'])
    .execute();
  await db.schema.createIndex('dataset_versions_by_digest').on('dataset_versions').column('digest').execute();

  await db.schema
    .createTable('dataset_version_files')
    .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_versions.version_id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('object_digest', 'text', (c) => c.notNull().references('data_objects.object_digest'))
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('mode', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_version_files_pk', ['version_id', 'path'])
    .execute();
  await db.schema
    .createIndex('dataset_version_files_by_object')
    .on('dataset_version_files')
    .column('object_digest')
    .execute();

  await db.schema
    .createTable('dataset_aliases')
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('versioned_datasets.dataset_id'))
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_ms', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_aliases_pk', ['dataset_id', 'alias'])
    .execute();

  // Schema and profile of a tabular file object: same bytes, same profile, whichever version holds them.
  await db.schema
    .createTable('data_table_profiles')
    .addColumn('object_digest', 'text', (c) => c.primaryKey().references('data_objects.object_digest'))
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('profile_json', 'text')
    .addColumn('error', 'text')
    .addColumn('updated_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('data_table_profiles_by_status')
    .on('data_table_profiles')
    .column('status')
    .execute();

  // An add in progress: the files staged so far, and every chunk it relies on, are
  // garbage-collection roots until it commits, is aborted, or goes stale.
  await db.schema
    .createTable('data_uploads')
    .addColumn('upload_id', 'text', (c) => c.primaryKey())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('versioned_datasets.dataset_id'))
    .addColumn('parent_version', 'integer')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('touched_ms', 'bigint', (c) => c.notNull())
    .addColumn('bytes_new', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('data_upload_files')
    .addColumn('upload_id', 'text', (c) => c.notNull().references('data_uploads.upload_id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('object_digest', 'text', (c) => c.notNull().references('data_objects.object_digest'))
    .addColumn('mode', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('data_upload_files_pk', ['upload_id', 'path'])
    .execute();
  await db.schema
    .createTable('data_upload_chunks')
    .addColumn('upload_id', 'text', (c) => c.notNull().references('data_uploads.upload_id'))
    .addColumn('chunk_digest', 'text', (c) => c.notNull().references('data_chunks.digest'))
    .addPrimaryKeyConstraint('data_upload_chunks_pk', ['upload_id', 'chunk_digest'])
    .execute();
  // Garbage collection deletes chunks and objects by digest; these keep its reference checks indexed.
  await db.schema
    .createIndex('data_upload_chunks_by_chunk')
    .on('data_upload_chunks')
    .column('chunk_digest')
    .execute();
  await db.schema
    .createIndex('data_upload_files_by_object')
    .on('data_upload_files')
    .column('object_digest')
    .execute();

  // The source state a run was started from; the uncommitted diff is a blob.
  await db.schema
    .createTable('run_code_versions')
    .addColumn('run_id', 'text', (c) => c.primaryKey().references('runs.run_uuid'))
    .addColumn('git_commit', 'text', (c) => c.notNull())
    .addColumn('branch', 'text')
    .addColumn('remote_url', 'text')
    .addColumn('dirty', 'integer', (c) => c.notNull())
    .addColumn('diff_digest', 'text')
    .addColumn('diff_bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
}
