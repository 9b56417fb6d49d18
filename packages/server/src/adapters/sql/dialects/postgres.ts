import pg from 'pg';
import { PostgresDialect } from 'kysely';

export interface PostgresConnection {
  dialect: PostgresDialect;
  /** The schema named by `?schema=` in the URL, created on first use; undefined for the default. */
  schema: string | undefined;
  pool: pg.Pool;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

// Times are epoch-ms bigints; they fit a double exactly up to year 285,616.
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export function openPostgres(url: string, poolSize = 10): PostgresConnection {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`schema "${schema}" must be a lowercase SQL identifier`);
  }
  parsed.searchParams.delete('schema');
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: poolSize,
    types,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => undefined);
  return { dialect: new PostgresDialect({ pool }), schema, pool };
}
