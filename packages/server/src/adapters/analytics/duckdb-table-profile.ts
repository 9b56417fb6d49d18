import type { ColumnProfileJson, TableProfileJson } from '@cairn/contract';
import type { TableFile } from '../../modules/datasets/table-analytics.js';
import {
  type ColumnInfo,
  type ColumnKind,
  columnKind,
  describe,
  doubleLiteral,
  quoteIdent,
  readSource,
  type Row,
  type SqlSession,
  toCount,
  toNumber,
  unreadable,
} from './duckdb-sql.js';

/** Up to this many rows, distinct counts and quantiles are exact; above, HyperLogLog and t-digest. */
const EXACT_ROW_LIMIT = 200_000;
/** Columns per aggregate query: one pass over the table each, with statements of sane size. */
const COLUMNS_PER_PASS = 50;
const HISTOGRAM_BINS = 20;
const TOP_VALUES = 10;
const MAX_TEXT = 200;
const QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;

interface Loaded {
  table: string;
  warnings: string[];
  rejectedRows: number;
}

interface Column extends ColumnInfo {
  kind: ColumnKind;
  ref: string;
}

/** Loads the file once into a temporary table, then describes every column in a few passes over it. */
export async function profileTable(session: SqlSession, file: TableFile): Promise<TableProfileJson> {
  const loaded = await load(session, file);
  const columns = (await describe(session, loaded.table)).map((info): Column => ({
    ...info,
    kind: columnKind(info.type),
    ref: quoteIdent(info.name),
  }));
  const rows = toCount((await session.rows(`SELECT count(*) AS n FROM ${loaded.table}`))[0]?.['n']);
  const profiles = await simpleStats({ session, table: loaded.table, rows }, columns);
  await addHistograms({ session, table: loaded.table, rows }, columns, profiles);
  await addTopValues({ session, table: loaded.table, rows }, columns, profiles);
  return {
    format: file.format,
    rows,
    columns: profiles,
    warnings: loaded.warnings,
    rejectedRows: loaded.rejectedRows,
  };
}

async function load(session: SqlSession, file: TableFile): Promise<Loaded> {
  const table = session.tempName('profile');
  if (file.format === 'csv') return loadCsv(session, { file, table });
  try {
    await session.run(`CREATE TEMP TABLE ${table} AS SELECT * FROM ${readSource(file)}`);
    return { table, warnings: [], rejectedRows: 0 };
  } catch (error) {
    // DuckDB 1.5 names the line after the malformed one.
    const after = /Malformed JSON.* in line (\d+)/s.exec(error instanceof Error ? error.message : '')?.[1];
    const line = after === undefined ? undefined : Math.max(1, Number(after) - 1);
    if (file.format !== 'jsonl' || line === undefined) throw unreadable({ error, file });
    // One bad line should not hide a million good ones: read again, the bad lines as rows of NULLs.
    try {
      await session.run(
        `CREATE TEMP TABLE ${table} AS SELECT * FROM ${readSource(file, { lenientJson: true })}`,
      );
    } catch (retryError) {
      throw unreadable({ error: retryError, file });
    }
    const warning = `the file has lines that are not valid JSON, read as rows of nulls; first at line ${line}`;
    return { table, warnings: [warning], rejectedRows: 0 };
  }
}

async function loadCsv(session: SqlSession, target: { file: TableFile; table: string }): Promise<Loaded> {
  const { file, table } = target;
  const rejects = { table: session.tempName('rejects'), scan: session.tempName('scans') };
  try {
    await session.run(`CREATE TEMP TABLE ${table} AS SELECT * FROM ${readSource(file, { rejects })}`);
  } catch (error) {
    throw unreadable({ error, file });
  }
  const problems = await session.rows(
    `SELECT CASE WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN 'fields'
                 ELSE lower(error_type::VARCHAR) END AS problem,
            count(DISTINCT line) AS n, min(line) AS first
       FROM ${rejects.table} GROUP BY 1 ORDER BY first`,
  );
  const total = await session.rows(`SELECT count(DISTINCT line) AS n FROM ${rejects.table}`);
  return {
    table,
    warnings: problems.map(rejectWarning),
    rejectedRows: toCount(total[0]?.['n']),
  };
}

function rejectWarning(row: Row): string {
  const n = toCount(row['n']);
  const [rows, has, was] = n === 1 ? ['1 row', 'has', 'was'] : [`${n} rows`, 'have', 'were'];
  const first = `first at line ${toCount(row['first'])}`;
  switch (row['problem']) {
    case 'fields':
      return `${rows} ${has} a different number of fields than the header and ${was} skipped; ${first}`;
    case 'cast':
      return `${rows} ${has} values that do not fit the detected column types and ${was} skipped; ${first}`;
    default:
      return `${rows} could not be read (${String(row['problem'])}) and ${was} skipped; ${first}`;
  }
}

interface Pass {
  session: SqlSession;
  table: string;
  rows: number;
}

async function simpleStats(pass: Pass, columns: Column[]): Promise<ColumnProfileJson[]> {
  const exact = pass.rows <= EXACT_ROW_LIMIT;
  const profiles: ColumnProfileJson[] = [];
  for (let start = 0; start < columns.length; start += COLUMNS_PER_PASS) {
    const batch = columns.slice(start, start + COLUMNS_PER_PASS);
    const select = batch.flatMap((column, i) => statExpressions(column, { i, exact })).join(',\n  ');
    const [row = {}] = await pass.session.rows(`SELECT ${select} FROM ${pass.table}`);
    batch.forEach((column, i) => profiles.push(columnProfile(column, { row, i, rows: pass.rows })));
  }
  return profiles;
}

function statExpressions(column: Column, at: { i: number; exact: boolean }): string[] {
  const { ref, kind } = column;
  const { i, exact } = at;
  // Nested and binary values hash fine but are easier to count as text.
  const value = kind === 'other' ? `${ref}::VARCHAR` : ref;
  const common = [
    `count(${ref}) AS n${i}`,
    exact ? `count(DISTINCT ${value}) AS d${i}` : `approx_count_distinct(${value}) AS d${i}`,
  ];
  switch (kind) {
    case 'numeric': {
      // NaN and ±Infinity would poison mean and std and have no JSON form: statistics cover finite values.
      const x = `${ref}::DOUBLE`;
      const finite = isFloat(column.type) ? `FILTER (WHERE isfinite(${x}))` : '';
      const quantile = exact ? 'quantile_cont' : 'approx_quantile';
      const at = `[${Object.values(QUANTILES).join(', ')}]`;
      return [
        ...common,
        `min(${x}) ${finite} AS lo${i}`,
        `max(${x}) ${finite} AS hi${i}`,
        `avg(${x}) ${finite} AS m${i}`,
        `stddev_samp(${x}) ${finite} AS s${i}`,
        `${quantile}(${x}, ${at}) ${finite} AS q${i}`,
      ];
    }
    case 'boolean':
      return [...common, `min(${ref}) AS lo${i}`, `max(${ref}) AS hi${i}`, `avg(${ref}::INTEGER) AS m${i}`];
    case 'temporal':
    case 'string':
      return [...common, `min(${ref})::VARCHAR AS lo${i}`, `max(${ref})::VARCHAR AS hi${i}`];
    case 'other':
      return common;
  }
}

function columnProfile(column: Column, at: { row: Row; i: number; rows: number }): ColumnProfileJson {
  const { row, i, rows } = at;
  const nonNull = toCount(row[`n${i}`]);
  const profile: ColumnProfileJson = {
    name: column.name,
    type: column.type,
    kind: column.kind,
    nulls: rows - nonNull,
    // HyperLogLog can overshoot; more distinct values than values is never right.
    distinct: Math.min(toCount(row[`d${i}`]), nonNull),
    min: null,
    max: null,
    mean: null,
    std: null,
    quantiles: null,
    histogram: null,
    topValues: null,
  };
  switch (column.kind) {
    case 'numeric':
      profile.min = toNumber(row[`lo${i}`]);
      profile.max = toNumber(row[`hi${i}`]);
      profile.mean = toNumber(row[`m${i}`]);
      profile.std = toNumber(row[`s${i}`]);
      profile.quantiles = quantiles(row[`q${i}`]);
      break;
    case 'boolean':
      profile.min = typeof row[`lo${i}`] === 'boolean' ? (row[`lo${i}`] as boolean) : null;
      profile.max = typeof row[`hi${i}`] === 'boolean' ? (row[`hi${i}`] as boolean) : null;
      // The share of true values: what drifts in a flag.
      profile.mean = toNumber(row[`m${i}`]);
      break;
    case 'temporal':
      profile.min = isoText(row[`lo${i}`]);
      profile.max = isoText(row[`hi${i}`]);
      break;
    case 'string':
      profile.min = text(row[`lo${i}`]);
      profile.max = text(row[`hi${i}`]);
      break;
    case 'other':
      break;
  }
  return profile;
}

/** Only floating-point columns can hold NaN and ±Infinity. */
function isFloat(type: string): boolean {
  return type === 'DOUBLE' || type === 'FLOAT';
}

function quantiles(value: unknown): Record<string, number> | null {
  if (!Array.isArray(value)) return null;
  const result: Record<string, number> = {};
  Object.keys(QUANTILES).forEach((name, index) => {
    const q = toNumber(value[index]);
    if (q !== null) result[name] = q;
  });
  return Object.keys(result).length === 0 ? null : result;
}

/** DuckDB prints timestamps as `2024-01-02 03:04:05`; ISO 8601 wants a `T`. */
function isoText(value: unknown): string | null {
  const plain = text(value);
  return plain !== null && /^-?\d{4,}-\d\d-\d\d \d/.test(plain) ? plain.replace(' ', 'T') : plain;
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (value.length <= MAX_TEXT) return value;
  return `${Array.from(value)
    .slice(0, MAX_TEXT - 1)
    .join('')}…`;
}

async function addHistograms(pass: Pass, columns: Column[], profiles: ColumnProfileJson[]): Promise<void> {
  const plans = columns.flatMap((column, index) => {
    const { min, max } = profiles[index] as ColumnProfileJson;
    if (column.kind !== 'numeric' || typeof min !== 'number' || typeof max !== 'number') return [];
    const span = max - min;
    if (!Number.isFinite(span)) return [];
    const bins = span > 0 ? HISTOGRAM_BINS : 1;
    return [{ column, index, min, max, bins, width: span > 0 ? span / bins : 1 }];
  });
  for (let start = 0; start < plans.length; start += COLUMNS_PER_PASS) {
    const batch = plans.slice(start, start + COLUMNS_PER_PASS);
    const select = batch.map((plan, i) => {
      const x = `${plan.column.ref}::DOUBLE`;
      const bin = `least(greatest(floor((${x} - ${doubleLiteral(plan.min)}) / ${doubleLiteral(plan.width)}), 0), ${plan.bins - 1})::INTEGER`;
      const finite = isFloat(plan.column.type) ? ` FILTER (WHERE isfinite(${x}))` : '';
      return `histogram(${bin})${finite} AS h${i}`;
    });
    const [row = {}] = await pass.session.rows(`SELECT ${select.join(',\n  ')} FROM ${pass.table}`);
    batch.forEach((plan, i) => {
      const counts = new Array<number>(plan.bins).fill(0);
      for (const entry of mapEntries(row[`h${i}`])) {
        const bin = toNumber(entry.key);
        if (bin !== null && bin >= 0 && bin < plan.bins) counts[bin] = toCount(entry.value);
      }
      (profiles[plan.index] as ColumnProfileJson).histogram = counts.map((count, bin) => ({
        lower: plan.min + bin * plan.width,
        upper: bin === plan.bins - 1 ? plan.max : plan.min + (bin + 1) * plan.width,
        count,
      }));
    });
  }
}

function mapEntries(value: unknown): { key: unknown; value: unknown }[] {
  return Array.isArray(value) ? (value as { key: unknown; value: unknown }[]) : [];
}

async function addTopValues(pass: Pass, columns: Column[], profiles: ColumnProfileJson[]): Promise<void> {
  for (const [index, column] of columns.entries()) {
    const profile = profiles[index] as ColumnProfileJson;
    if (column.kind !== 'string') continue;
    const nonNull = pass.rows - profile.nulls;
    // In a big column of (nearly) unique values, the "most frequent" are ten arbitrary values seen once.
    if (pass.rows > EXACT_ROW_LIMIT && profile.distinct >= 0.9 * nonNull) continue;
    const rows = await pass.session.rows(
      `SELECT ${column.ref}::VARCHAR AS v, count(*) AS n FROM ${pass.table}
        WHERE ${column.ref} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT ${TOP_VALUES}`,
    );
    profile.topValues = rows.map((row) => ({ value: text(row['v']) ?? '', count: toCount(row['n']) }));
  }
}
