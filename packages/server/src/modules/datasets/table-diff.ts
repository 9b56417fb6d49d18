import type { ColumnProfileJson, SchemaChangeJson, StatShiftJson, TableProfileJson } from '@cairn/contract';

/** Columns added, removed or given another type between two profiles of one table. */
export function schemaChanges(before: TableProfileJson, after: TableProfileJson): SchemaChangeJson[] {
  const afterByName = new Map(after.columns.map((column) => [column.name, column]));
  const beforeNames = new Set(before.columns.map((column) => column.name));
  const changes: SchemaChangeJson[] = [];
  for (const column of before.columns) {
    const next = afterByName.get(column.name);
    if (next === undefined)
      changes.push({ column: column.name, change: 'removed', from: column.type, to: null });
    else if (next.type !== column.type)
      changes.push({ column: column.name, change: 'retyped', from: column.type, to: next.type });
  }
  for (const column of after.columns) {
    if (!beforeNames.has(column.name))
      changes.push({ column: column.name, change: 'added', from: null, to: column.type });
  }
  return changes;
}

/*
 * Scores are built to sit on one scale, where about 1 is a big move: a mean
 * shift of one (before) standard deviation, a doubled std, a null rate or a
 * value's share moving by 100 points. Below the floors a shift is noise
 * (float rounding; HyperLogLog distinct counts are off by several percent).
 */
const MIN_SCORE = 0.01;
const MIN_DISTINCT_SCORE = 0.1;
const TOP_VALUE_LIMIT = 10;

/** The biggest moves in column statistics between two profiles, biggest first. */
export function statShifts(before: TableProfileJson, after: TableProfileJson, limit = 10): StatShiftJson[] {
  const afterByName = new Map(after.columns.map((column) => [column.name, column]));
  const shifts: StatShiftJson[] = [];
  for (const column of before.columns) {
    const next = afterByName.get(column.name);
    if (next === undefined) continue;
    shifts.push(...columnShifts({ before: column, after: next, rows: [before.rows, after.rows] }));
  }
  return shifts
    .filter((shift) => Number.isFinite(shift.score) && shift.score >= MIN_SCORE)
    .sort((a, b) => b.score - a.score || compareStrings(a.column, b.column) || compareStrings(a.stat, b.stat))
    .slice(0, Math.max(0, limit));
}

interface ColumnPair {
  before: ColumnProfileJson;
  after: ColumnProfileJson;
  rows: [number, number];
}

function columnShifts(pair: ColumnPair): StatShiftJson[] {
  const { before, after, rows } = pair;
  const shifts: StatShiftJson[] = [];
  const shift = (stat: string, values: Pick<StatShiftJson, 'from' | 'to' | 'score'>) =>
    shifts.push({ column: before.name, stat, ...values });

  if (rows[0] > 0 && rows[1] > 0) {
    const from = before.nulls / rows[0];
    const to = after.nulls / rows[1];
    shift('nullRate', { from, to, score: Math.abs(to - from) });
  }
  const distinctScore = relativeChange(before.distinct, after.distinct);
  if (distinctScore >= MIN_DISTINCT_SCORE)
    shift('distinct', { from: before.distinct, to: after.distinct, score: distinctScore });

  if (before.kind === 'numeric' && after.kind === 'numeric') {
    const std = before.std !== null && before.std > 0 ? before.std : null;
    for (const stat of ['mean', 'min', 'max'] as const) {
      const from = asNumber(before[stat]);
      const to = asNumber(after[stat]);
      if (from === null || to === null) continue;
      shift(stat, { from, to, score: std === null ? relativeChange(from, to) : Math.abs(to - from) / std });
    }
    if (before.std !== null && after.std !== null)
      shift('std', { from: before.std, to: after.std, score: ratioChange(before.std, after.std) });
  } else if (before.kind === 'boolean' && after.kind === 'boolean') {
    // A boolean's mean is its share of true values, already on the 0..1 scale.
    if (before.mean !== null && after.mean !== null)
      shift('mean', { from: before.mean, to: after.mean, score: Math.abs(after.mean - before.mean) });
  }
  const top = topValueShift(pair);
  if (top !== null) shift('topValues', top);
  return shifts;
}

/**
 * The value whose share of non-null rows moved most. A value missing from a
 * full top list has a share of at most that list's smallest, so the change is
 * taken against that bound: never overstated.
 */
function topValueShift(pair: ColumnPair): { from: string; to: string; score: number } | null {
  const { before, after, rows } = pair;
  if (before.topValues === null || after.topValues === null) return null;
  const shares = (column: ColumnProfileJson, total: number) => {
    const nonNull = total - column.nulls;
    const values = new Map(
      (column.topValues ?? []).map((v) => [v.value, nonNull > 0 ? v.count / nonNull : 0]),
    );
    const truncated = (column.topValues ?? []).length >= TOP_VALUE_LIMIT;
    const bound = truncated ? Math.min(...values.values()) : 0;
    return { values, bound };
  };
  const from = shares(before, rows[0]);
  const to = shares(after, rows[1]);
  let best: { from: string; to: string; score: number } | null = null;
  for (const value of new Set([...from.values.keys(), ...to.values.keys()])) {
    const a = from.values.get(value);
    const b = to.values.get(value);
    let score: number;
    if (a !== undefined && b !== undefined) score = Math.abs(b - a);
    else if (a !== undefined) score = Math.max(0, a - to.bound);
    else score = Math.max(0, (b ?? 0) - from.bound);
    if (best === null || score > best.score)
      best = { from: describeShare(value, a, from.bound), to: describeShare(value, b, to.bound), score };
  }
  return best;
}

function describeShare(value: string, share: number | undefined, bound: number): string {
  if (share !== undefined) return `${value} (${percent(share)})`;
  return bound > 0 ? `${value} (≤ ${percent(bound)})` : `${value} (0%)`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function relativeChange(from: number, to: number): number {
  if (from === to) return 0;
  if (from === 0) return 1;
  return Math.abs(to - from) / Math.abs(from);
}

/** 0 for equal, 1 for doubled or halved. */
function ratioChange(from: number, to: number): number {
  if (from === to) return 0;
  if (from <= 0 || to <= 0) return 1;
  return Math.max(from, to) / Math.min(from, to) - 1;
}

function asNumber(value: ColumnProfileJson['min']): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
