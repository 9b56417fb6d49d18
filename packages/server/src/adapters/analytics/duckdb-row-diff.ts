import { CairnError } from '@cairn/contract';
import type { RowDiff, TableFile } from '../../modules/datasets/table-analytics.js';
import {
  type ColumnInfo,
  columnKind,
  describe,
  quoteIdent,
  readSource,
  type SqlSession,
  toCount,
  unreadable,
} from './duckdb-sql.js';

/** One side of a diff; an empty file is a table with no columns and no rows. */
interface Side {
  label: 'before' | 'after';
  file: TableFile;
  empty: boolean;
  columns: ColumnInfo[];
}

export interface DiffInput {
  before: TableFile & { empty: boolean };
  after: TableFile & { empty: boolean };
  key: string | undefined;
}

/**
 * Each file is read once, down to a (key, row hash) pair per row in a temporary
 * table; the two are then joined. A 64-bit hash of the shared non-key columns
 * stands for the row: two different rows hash alike with odds of about 1 in
 * 2^64 per pair compared, far below anything a table of Cairn's sizes meets.
 */
export async function diffTables(session: SqlSession, input: DiffInput): Promise<RowDiff> {
  const before = await side(session, { label: 'before', file: input.before });
  const after = await side(session, { label: 'after', file: input.after });
  const types = new Map(after.columns.map((column) => [column.name, column.type]));
  const shared = before.columns
    .filter((column) => types.has(column.name))
    .map((column) => ({ name: column.name, before: column.type, after: types.get(column.name) as string }));
  const key = input.key === undefined ? null : resolveKey(input.key, { before, after, shared });
  const values = shared.filter((column) => column.name !== key);
  // With one side empty the key is not shared; it is then read as it is.
  const keyColumn =
    key === null
      ? null
      : (shared.find((column) => column.name === key) ?? { name: key, before: '', after: '' });
  const tables = {
    before: await hashRows(session, { side: before, key: keyColumn, values }),
    after: await hashRows(session, { side: after, key: keyColumn, values }),
  };
  const counts =
    key !== null
      ? await compareByKey(session, tables)
      : await compareContent(session, { ...tables, anyShared: shared.length > 0 });
  return { ...counts, key };
}

async function side(
  session: SqlSession,
  target: { label: Side['label']; file: DiffInput['before'] },
): Promise<Side> {
  const { label, file } = target;
  if (file.empty) return { label, file, empty: true, columns: [] };
  try {
    return { label, file, empty: false, columns: await describe(session, `SELECT * FROM ${source(file)}`) };
  } catch (error) {
    throw unreadable({ error, file, label });
  }
}

function source(file: TableFile): string {
  // No warnings travel with a diff, so malformed JSON lines are taken as rows of nulls, not a failure.
  return readSource(file, { lenientJson: true });
}

interface SharedColumn {
  name: string;
  before: string;
  after: string;
}

/**
 * The key must be a column of both tables (empty files have none and are let
 * through: every row of the other side is then added or removed). An exact
 * name wins; otherwise a unique case-insensitive match, as SQL would resolve it.
 */
function resolveKey(key: string, tables: { before: Side; after: Side; shared: SharedColumn[] }): string {
  const { before, after, shared } = tables;
  const candidates = before.empty ? after.columns : after.empty ? before.columns : shared;
  if (candidates.some((column) => column.name === key)) return key;
  const folded = candidates.filter((column) => column.name.toLowerCase() === key.toLowerCase());
  if (folded.length === 1) return (folded[0] as { name: string }).name;
  if (before.empty && after.empty) return key;
  const names = candidates.map((column) => JSON.stringify(column.name));
  const listed =
    names.length > 50 ? `${names.slice(0, 50).join(', ')} and ${names.length - 50} more` : names.join(', ');
  throw new CairnError(
    'INVALID_ARGUMENT',
    names.length === 0
      ? `key column ${JSON.stringify(key)} cannot be used: the two tables have no column in common`
      : `key column ${JSON.stringify(key)} is not a column of both tables; columns in both: ${listed}`,
    { field: 'key' },
  );
}

/**
 * Values compared across a retyped column are cast to one type first, so 5
 * and 5.0 stay equal when a column went from BIGINT to DOUBLE.
 */
function comparable(column: SharedColumn): string {
  const ref = `src.${quoteIdent(column.name)}`;
  if (column.before === column.after) return ref;
  const kinds = [columnKind(column.before), columnKind(column.after)];
  if (kinds.every((kind) => kind === 'numeric')) return `${ref}::DOUBLE`;
  const dateLike = (type: string) => type === 'DATE' || type.startsWith('TIMESTAMP');
  if (dateLike(column.before) && dateLike(column.after)) return `${ref}::TIMESTAMP`;
  return `${ref}::VARCHAR`;
}

interface Hashed {
  table: string | null;
}

async function hashRows(
  session: SqlSession,
  plan: { side: Side; key: SharedColumn | null; values: SharedColumn[] },
): Promise<Hashed> {
  const { side: from, key, values } = plan;
  if (from.empty) return { table: null };
  const table = session.tempName(`rows_${from.label}`);
  const hash = values.length === 0 ? '0::UBIGINT' : `hash(${values.map(comparable).join(', ')})`;
  const select = key === null ? `${hash} AS h` : `${comparable(key)} AS k, ${hash} AS h`;
  try {
    await session.run(`CREATE TEMP TABLE ${table} AS SELECT ${select} FROM ${source(from.file)} AS src`);
  } catch (error) {
    throw unreadable({ error, file: from.file, label: from.label });
  }
  return { table };
}

type Counts = Omit<RowDiff, 'key'>;

async function countRows(session: SqlSession, hashed: Hashed): Promise<number> {
  if (hashed.table === null) return 0;
  return toCount((await session.rows(`SELECT count(*) AS n FROM ${hashed.table}`))[0]?.['n']);
}

/** Rows as multisets: a row present three times before and once after counts as two removed. */
async function compareContent(
  session: SqlSession,
  tables: { before: Hashed; after: Hashed; anyShared: boolean },
): Promise<Counts> {
  const rowsBefore = await countRows(session, tables.before);
  const rowsAfter = await countRows(session, tables.after);
  // Tables with no column in common share no row either.
  if (tables.before.table === null || tables.after.table === null || !tables.anyShared)
    return { rowsAdded: rowsAfter, rowsRemoved: rowsBefore, rowsChanged: 0, rowsBefore, rowsAfter };
  const [row = {}] = await session.rows(
    `WITH b AS (SELECT h, count(*) AS n FROM ${tables.before.table} GROUP BY h),
          a AS (SELECT h, count(*) AS n FROM ${tables.after.table} GROUP BY h)
     SELECT sum(greatest(coalesce(a.n, 0) - coalesce(b.n, 0), 0)) AS added,
            sum(greatest(coalesce(b.n, 0) - coalesce(a.n, 0), 0)) AS removed
       FROM b FULL JOIN a ON a.h = b.h`,
  );
  return {
    rowsAdded: toCount(row['added']),
    rowsRemoved: toCount(row['removed']),
    rowsChanged: 0,
    rowsBefore,
    rowsAfter,
  };
}

/**
 * Unique keys (the usual case) take one hash join. Repeated or NULL keys are
 * matched as multisets per key: for a key with b rows before and a after,
 * |a − b| rows are added or removed, and of the min(a, b) rows that pair up,
 * those without an identical partner on the other side are changed.
 */
async function compareByKey(session: SqlSession, tables: { before: Hashed; after: Hashed }): Promise<Counts> {
  const b = tables.before.table;
  const a = tables.after.table;
  if (b === null || a === null) return compareContent(session, { ...tables, anyShared: false });
  const [shape = {}] = await session.rows(
    `SELECT (SELECT count(*) FROM ${b}) AS rows_before, (SELECT count(DISTINCT k) FROM ${b}) AS keys_before,
            (SELECT count(*) FROM ${a}) AS rows_after, (SELECT count(DISTINCT k) FROM ${a}) AS keys_after`,
  );
  const rowsBefore = toCount(shape['rows_before']);
  const rowsAfter = toCount(shape['rows_after']);
  // count(DISTINCT) skips NULL, so a NULL key also sends the diff down the general path.
  const unique = toCount(shape['keys_before']) === rowsBefore && toCount(shape['keys_after']) === rowsAfter;
  const sql = unique
    ? `SELECT count(*) FILTER (WHERE b.k IS NULL) AS added,
              count(*) FILTER (WHERE a.k IS NULL) AS removed,
              count(*) FILTER (WHERE a.k IS NOT NULL AND b.k IS NOT NULL AND a.h <> b.h) AS changed
         FROM ${b} AS b FULL JOIN ${a} AS a ON a.k = b.k`
    : `WITH bn AS (SELECT k, h, count(*) AS n FROM ${b} GROUP BY ALL),
            an AS (SELECT k, h, count(*) AS n FROM ${a} GROUP BY ALL),
            pairs AS (SELECT coalesce(bn.k, an.k) AS k, coalesce(bn.n, 0) AS nb, coalesce(an.n, 0) AS na
                        FROM bn FULL JOIN an ON bn.k IS NOT DISTINCT FROM an.k AND bn.h = an.h),
            per_key AS (SELECT k, sum(nb) AS nb, sum(na) AS na, sum(least(nb, na)) AS same FROM pairs GROUP BY k)
       SELECT sum(greatest(na - nb, 0)) AS added, sum(greatest(nb - na, 0)) AS removed,
              sum(least(na, nb) - same) AS changed
         FROM per_key`;
  const [row = {}] = await session.rows(sql);
  return {
    rowsAdded: toCount(row['added']),
    rowsRemoved: toCount(row['removed']),
    rowsChanged: toCount(row['changed']),
    rowsBefore,
    rowsAfter,
  };
}
