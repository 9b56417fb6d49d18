import { Kysely, Migrator, type MigrationProvider, sql, type RawBuilder, type SqlBool } from 'kysely';
import { CairnError } from '@cairn/contract';
import { CompiledShapeCache } from './compiled-cache.js';
import { MIGRATIONS } from './migrations/index.js';
import { openPostgres } from './dialects/postgres.js';
import { openSqlite } from './dialects/sqlite.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface SqlHelpers {
  readonly shapes: CompiledShapeCache;
  /** `column` equals one of `values` (a non-empty list of text). */
  readonly anyOf: (column: string, values: readonly string[]) => RawBuilder<SqlBool>;
}

export interface MetadataDatabase {
  readonly db: Kysely<Database>;
  /** Adapter-internal; services see capability flags, never this name. */
  readonly dialect: DialectName;
  /** Largest number of bound parameters one statement may carry. */
  readonly maxParameters: number;
  /** Dialect-aware helpers the SQL stores share (compiled statements, list matching). */
  readonly helpers: SqlHelpers;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const provider: MigrationProvider = { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) };

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

export function openDatabase(url: string): MetadataDatabase {
  if (url.startsWith('sqlite:')) {
    const connection = openSqlite(url);
    const db = new Kysely<Database>({ dialect: connection.dialect });
    return makeDatabase({ db, dialect: 'sqlite', maxParameters: 32_000, onClose: async () => undefined });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const connection = openPostgres(url);
    const db = new Kysely<Database>({ dialect: connection.dialect });
    const schema = connection.schema;
    // Kysely looks for its migration tables in every schema unless told which
    // one; another Cairn (or test run) in a neighbouring schema would fool it.
    const ensureSchema = async (): Promise<string> => {
      if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
      const current = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      return current.rows[0]?.schema ?? schema ?? 'public';
    };
    return makeDatabase({ db, dialect: 'postgres', maxParameters: 65_000, beforeMigrate: ensureSchema });
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `database URL "${redactUrl(url)}" is not supported: use sqlite:PATH, sqlite::memory: or postgres://user@host:port/db`,
  );
}

function makeDatabase(options: {
  db: Kysely<Database>;
  dialect: DialectName;
  maxParameters: number;
  /** Prepares the target and names the schema the migration tables belong in. */
  beforeMigrate?: () => Promise<string | undefined>;
  onClose?: () => Promise<void>;
}): MetadataDatabase {
  const { db, dialect, maxParameters } = options;
  return {
    db,
    dialect,
    maxParameters,
    helpers: {
      shapes: new CompiledShapeCache(),
      // One parameter whatever the list's length: PostgreSQL plans `= any($1)`
      // far faster than an IN list of a thousand parameters, and SQLite caps a
      // statement at 32,766 parameters, so it unpacks a JSON array instead.
      anyOf:
        dialect === 'postgres'
          ? (column, values) => sql<SqlBool>`${sql.ref(column)} = any(${[...values]}::text[])`
          : (column, values) =>
              sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`,
    },
    async migrate() {
      let migrationTableSchema: string | undefined;
      try {
        migrationTableSchema = await options.beforeMigrate?.();
      } catch (error) {
        throw translateDbError(error);
      }
      const migrator = new Migrator({
        db,
        provider,
        ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error !== undefined) {
        const failed = results?.find((r) => r.status === 'Error');
        throw new CairnError(
          'UNAVAILABLE',
          `database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`,
          { cause: error },
        );
      }
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
      await options.onClose?.();
    },
  };
}

/** Driver errors become Cairn errors at the adapter boundary. */
export function translateDbError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') {
    return new CairnError('ALREADY_EXISTS', 'a record with the same key already exists', { cause: error });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503') {
    return new CairnError('NOT_FOUND', 'a record this change refers to does not exist', { cause: error });
  }
  if (code === 'SQLITE_ERROR' && /too many SQL variables/.test(String((error as Error).message))) {
    return new CairnError(
      'INVALID_ARGUMENT',
      'the request names too many items for one operation; split it up',
      {
        cause: error,
      },
    );
  }
  if (code === '40P01' || code === '40001') {
    // Deadlock or serialization failure: PostgreSQL rolled one side back; running it again succeeds.
    return new CairnError('UNAVAILABLE', 'the change collided with a concurrent one; try again', {
      cause: error,
      retryable: true,
    });
  }
  if (code === 'SQLITE_BUSY' || code === 'ECONNREFUSED' || code === '57P01' || code === '53300') {
    return new CairnError('UNAVAILABLE', 'the metadata database is not reachable right now', {
      cause: error,
      retryable: true,
    });
  }
  return error;
}
