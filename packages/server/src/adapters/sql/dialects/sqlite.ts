import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteDialect } from 'kysely';

export interface SqliteConnection {
  dialect: SqliteDialect;
  close(): void;
}

/** `sqlite:/abs/path.db` or `sqlite::memory:`. */
export function openSqlite(url: string): SqliteConnection {
  const target = url.slice('sqlite:'.length);
  const memory = target === ':memory:' || target === '';
  if (!memory) mkdirSync(path.dirname(target), { recursive: true });
  const database = new BetterSqlite3(memory ? ':memory:' : target);
  // WAL lets readers (other processes, `cairn audit verify --data-dir`) run beside
  // the writer; NORMAL sync is durable across process crashes in WAL mode.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  database.pragma('cache_size = -65536');
  database.pragma('temp_store = MEMORY');
  // MLflow's LIKE is case-sensitive (ILIKE is the insensitive one), as on PostgreSQL.
  database.pragma('case_sensitive_like = ON');
  return {
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
    close: () => database.close(),
  };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every statement anew; preparing a 6,000-parameter insert
 * costs as much as running it. better-sqlite3 statements are reusable (all
 * calls are synchronous), so keep the recent ones by SQL text.
 */
function withStatementCache(database: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = database.prepare.bind(database);
  return new Proxy(database, {
    get(target, property) {
      if (property === 'prepare') {
        return (source: string) => {
          let statement = cache.get(source);
          if (statement === undefined) {
            statement = prepare(source);
            if (cache.size >= STATEMENT_CACHE_SIZE) {
              const oldest = cache.keys().next().value;
              if (oldest !== undefined) cache.delete(oldest);
            }
            cache.set(source, statement);
          }
          return statement;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
