import { sql, type Kysely } from 'kysely';

// Frozen in time: this file never imports module code, and is never edited
// once released. Later changes are new migrations.

/** sha256 of nothing is not used: the chain starts from 64 zeros, written out so verifiers agree. */
const GENESIS_HASH = '0'.repeat(64);

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('projects')
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .alterTable('projects')
    .addColumn('created_by', 'text', (c) => c.notNull().defaultTo('local'))
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('is_admin', 'integer', (c) => c.notNull())
    .addColumn('disabled_ms', 'bigint')
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    // 16 hex characters, also embedded in the token text so a lookup needs no scan.
    .addColumn('token_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('salt', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_ms', 'bigint')
    .addColumn('revoked_ms', 'bigint')
    .addColumn('last_used_ms', 'bigint')
    .execute();
  await db.schema.createIndex('api_tokens_by_user').on('api_tokens').column('user_id').execute();

  await db.schema
    .createTable('role_bindings')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('role_bindings_pk', ['project_id', 'user_id', 'role'])
    .execute();
  await db.schema.createIndex('role_bindings_by_user').on('role_bindings').column('user_id').execute();

  await db.schema
    .createTable('project_policies')
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    // Canonical JSON of the parsed, checked policy; `source` keeps the text as written (JSON or YAML).
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_format', 'text', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('project_policies_pk', ['project_id', 'version'])
    .execute();

  await db.schema
    .createTable('promotion_requests')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.project_id'))
    .addColumn('model_id', 'text', (c) => c.notNull())
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    // 'alias' | 'stage'
    .addColumn('target_kind', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    // Stage moves only: whether versions already in the stage are archived (MLflow's archive_existing_versions).
    .addColumn('archive_existing', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('requester', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    // pending | applied | rejected | expired | cancelled
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('policy_version', 'integer')
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('checks', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_ms', 'bigint', (c) => c.notNull())
    .addColumn('decided_ms', 'bigint')
    .addColumn('decided_by', 'text')
    .addColumn('decision_comment', 'text')
    .execute();
  await db.schema
    .createIndex('promotion_requests_by_project')
    .on('promotion_requests')
    .columns(['project_id', 'status', 'created_ms'])
    .execute();
  await db.schema
    .createIndex('promotion_requests_by_model')
    .on('promotion_requests')
    .columns(['model_id', 'version'])
    .execute();

  await db.schema
    .createTable('promotion_reviews')
    .addColumn('request_id', 'text', (c) => c.notNull().references('promotion_requests.request_id'))
    .addColumn('reviewer', 'text', (c) => c.notNull())
    // 'approve' | 'reject'
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('promotion_reviews_pk', ['request_id', 'reviewer'])
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('time_ms', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    // 'ok' | 'denied'
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('target_kind', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text')
    .addColumn('request_id', 'text')
    // Canonical JSON, hashed as stored.
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('audit_events_by_target')
    .on('audit_events')
    .columns(['target_kind', 'target_id', 'seq'])
    .execute();
  await db.schema.createIndex('audit_events_by_actor').on('audit_events').columns(['actor', 'seq']).execute();
  await db.schema
    .createIndex('audit_events_by_action')
    .on('audit_events')
    .columns(['action', 'seq'])
    .execute();
  await db.schema.createIndex('audit_events_by_time').on('audit_events').columns(['time_ms']).execute();
  await db.schema
    .createIndex('audit_events_by_project')
    .on('audit_events')
    .columns(['project_id', 'seq'])
    .execute();

  // One row: the chain's head (the lock every appending transaction takes last)
  // and its anchor (where the retained chain starts after pruning).
  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_hash', 'text', (c) => c.notNull())
    .addColumn('first_seq', 'bigint', (c) => c.notNull())
    .addColumn('anchor_hash', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into audit_head (id, last_seq, last_hash, first_seq, anchor_hash) values (1, 0, ${GENESIS_HASH}, 1, ${GENESIS_HASH})`.execute(
    db,
  );

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('time_ms', 'bigint', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();
}
