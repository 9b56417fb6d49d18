import { CairnError, type TableFormat } from '@cairn/contract';

/** One row of a DuckDB result, values as `getRowObjectsJS` gives them (BIGINT as bigint…). */
export type Row = Record<string, unknown>;

/** The little of a DuckDB connection the profile and diff queries need. */
export interface SqlSession {
  run(sql: string): Promise<void>;
  rows(sql: string): Promise<Row[]>;
  /** A name for a temporary table, unique for the session's lifetime. */
  tempName(prefix: string): string;
}

export interface ColumnInfo {
  name: string;
  type: string;
}

export type ColumnKind = 'numeric' | 'string' | 'boolean' | 'temporal' | 'other';

/** Column names come from user files: always double-quote them, doubling embedded quotes. */
export function quoteIdent(name: string): string {
  // The C API takes NUL-terminated text; a NUL would cut the statement short.
  if (name.includes('\0')) throw new CairnError('INVALID_ARGUMENT', 'a column name contains a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(text: string): string {
  if (text.includes('\0')) throw new CairnError('INVALID_ARGUMENT', 'a string contains a NUL character');
  return `'${text.replaceAll("'", "''")}'`;
}

/** A double as a SQL literal that round-trips exactly (JS prints `1e+21`, which DuckDB casts fine). */
export function doubleLiteral(value: number): string {
  return `${quoteString(String(value))}::DOUBLE`;
}

export interface ReadOptions {
  /** CSV only: record skipped rows in these temporary tables. */
  rejects?: { table: string; scan: string };
  /** JSONL only: read malformed lines as rows of NULLs instead of failing. */
  lenientJson?: boolean;
}

/** The table function that reads a file of the given format. */
export function readSource(file: { path: string; format: TableFormat }, options: ReadOptions = {}): string {
  const path = quoteString(file.path);
  switch (file.format) {
    case 'csv': {
      // Rows with too many or too few fields are skipped rather than failing the whole read; with
      // store_rejects DuckDB records each one (line and error) so the profile can report them.
      const rejects =
        options.rejects === undefined
          ? ''
          : `, store_rejects = true, rejects_table = ${quoteString(options.rejects.table)}, rejects_scan = ${quoteString(options.rejects.scan)}`;
      return `read_csv(${path}, auto_detect = true, ignore_errors = true${rejects})`;
    }
    case 'parquet':
      return `read_parquet(${path})`;
    case 'jsonl':
      return `read_json(${path}, format = 'newline_delimited'${options.lenientJson === true ? ', ignore_errors = true' : ''})`;
  }
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL(\(.*\))?)$/;
const TEMPORAL =
  /^(DATE|TIME|TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|TIME WITH TIME ZONE)$/;
const STRING = /^(VARCHAR|UUID|JSON|ENUM\(.*\))$/s;

export function columnKind(type: string): ColumnKind {
  if (NUMERIC.test(type)) return 'numeric';
  if (type === 'BOOLEAN') return 'boolean';
  if (TEMPORAL.test(type)) return 'temporal';
  if (STRING.test(type)) return 'string';
  return 'other';
}

/** The columns of a table or query, in order. */
export async function describe(session: SqlSession, relation: string): Promise<ColumnInfo[]> {
  const rows = await session.rows(`DESCRIBE ${relation}`);
  return rows.map((row) => ({ name: String(row['column_name']), type: String(row['column_type']) }));
}

/**
 * A number for JSON. Counts arrive as BigInt: beyond 2^53 they lose precision,
 * which no row count or statistic here comes near. NaN and ±Infinity are not
 * JSON and become null.
 */
export function toNumber(value: unknown): number | null {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return null;
}

export function toCount(value: unknown): number {
  return toNumber(value) ?? 0;
}

const FORMAT_NAMES: Readonly<Record<TableFormat, string>> = {
  csv: 'CSV',
  parquet: 'Parquet',
  jsonl: 'JSON Lines',
};

/** DuckDB's message for a user: its headline only, with Cairn's temporary path taken out. */
export function duckdbMessage(error: unknown, path?: string): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || /^(LINE \d+:|The search space|Possible fixes)/.test(line)) break;
    lines.push(line.trim());
  }
  let message = lines.join(' ').replace(/^[A-Za-z ]*Error: /, '');
  if (path !== undefined)
    for (const form of [`file "${path}"`, `file '${path}'`, `"${path}"`, `'${path}'`, path])
      message = message.replaceAll(form, 'the file');
  return message.length > 300 ? `${message.slice(0, 299)}…` : message;
}

/** Errors DuckDB raises for the process rather than the file; reading must not mislabel them. */
export function isResourceError(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /^(Out of Memory Error|INTERRUPT Error)/.test(text);
}

/** A file that is not what its name says (corrupt Parquet, binary "CSV", malformed JSON). */
export function unreadable(options: {
  error: unknown;
  file: { path: string; format: TableFormat };
  label?: string;
}): Error {
  const { error, file, label } = options;
  if (isResourceError(error)) return error instanceof Error ? error : new Error(String(error));
  const which = label === undefined ? 'the file' : `the ${label} file`;
  return new CairnError(
    'INVALID_ARGUMENT',
    `cannot read ${which} as ${FORMAT_NAMES[file.format]}: ${duckdbMessage(error, file.path)}`,
    { cause: error },
  );
}
