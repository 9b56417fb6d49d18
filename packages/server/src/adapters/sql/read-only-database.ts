import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { CairnError } from '@cairn/contract';
import type { AuditChainSource } from '../../modules/governance/index.js';
import { redactUrl } from './database.js';
import { postgresAuditSource, sqliteAuditSource } from './governance/raw-audit-source.js';

export interface ReadOnlyDatabase {
  /** The audit chain, read through the driver directly (faster than the query builder for a full scan). */
  readonly audit: AuditChainSource;
  close(): Promise<void>;
}

/**
 * Opens a Cairn database to read only: no migration, no schema creation, and
 * the connection itself refuses writes (SQLite opened read-only; PostgreSQL
 * sessions whose transactions are read-only). For checking a store from
 * outside the server, possibly while the server runs.
 */
export function openReadOnlyDatabase(url: string): ReadOnlyDatabase {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '' || file === ':memory:' || !existsSync(file)) {
      throw new CairnError(
        'NOT_FOUND',
        `no Cairn database at ${file || url}: give the server's --data-dir, or its sqlite:PATH database URL`,
      );
    }
    const sqlite = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    sqlite.pragma('busy_timeout = 5000');
    return { audit: sqliteAuditSource(sqlite), close: async () => void sqlite.close() };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema');
    if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new CairnError('INVALID_ARGUMENT', `schema "${schema}" must be a lowercase SQL identifier`);
    }
    parsed.searchParams.delete('schema');
    const pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: 2,
      options: `-c default_transaction_read_only=on${schema === null ? '' : ` -c search_path=${schema}`}`,
    });
    // An idle client losing its connection must not crash the process.
    pool.on('error', () => undefined);
    return { audit: postgresAuditSource(pool), close: () => pool.end() };
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `database URL "${redactUrl(url)}" is not supported: use sqlite:PATH or postgres://user@host:port/db`,
  );
}
