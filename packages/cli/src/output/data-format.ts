import type {
  ColumnProfileJson,
  DatasetDiffJson,
  DatasetVersionJson,
  TableDiffJson,
  TableJson,
  VersionFileJson,
} from '@cairn/contract';
import { formatBytes, formatCount, indent, shortDigest } from './models-format.js';
import { formatTime, renderTable } from './table.js';

/** Readable forms of dataset versions, table profiles and diffs for the `cairn data` commands. */

const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

/** Numbers to 4 significant digits, strings cut to 24 characters. */
export function formatValue(value: number | string | boolean | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return formatCount(value);
    return Math.abs(value) >= 1e6 || (Math.abs(value) < 1e-3 && value !== 0)
      ? value.toExponential(3)
      : String(Number(value.toPrecision(4)));
  }
  const text = String(value);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

export function versionLogTable(versions: readonly DatasetVersionJson[]): string {
  return renderTable(versions, [
    { header: 'VERSION', value: (v) => String(v.version), align: 'right', keep: true },
    { header: 'WHEN', value: (v) => formatTime(v.createdAt), keep: true },
    { header: 'AUTHOR', value: (v) => v.author },
    { header: 'FILES', value: (v) => formatCount(v.files), align: 'right' },
    { header: 'SIZE', value: (v) => formatBytes(v.bytesTotal), align: 'right' },
    { header: 'NEW', value: (v) => formatBytes(v.bytesNew), align: 'right' },
    { header: 'MESSAGE', value: (v) => v.message.split('\n')[0] ?? '' },
    { header: 'ALIASES', value: (v) => (v.aliases.length === 0 ? '-' : v.aliases.join(', ')) },
  ]);
}

const field = (label: string, value: string): string => `${`${label}:`.padEnd(10)}${value}`;

export function versionSummary(v: DatasetVersionJson): string {
  const lines = [
    field('Dataset', v.dataset),
    field('Version', `${v.version}${v.aliases.length === 0 ? '' : ` (${v.aliases.join(', ')})`}`),
    field('Parent', v.parent === null ? '-' : String(v.parent)),
    field('Created', `${formatTime(v.createdAt)} by ${v.author}`),
    field('Digest', v.digest),
    field(
      'Files',
      `${plural(v.files, 'file')}, ${formatBytes(v.bytesTotal)} (${formatBytes(v.bytesNew)} new)`,
    ),
  ];
  const message = v.message.trim();
  if (message !== '') lines.push(`\n${indent(message, '    ')}`);
  return lines.join('\n');
}

export function filesTable(files: readonly VersionFileJson[]): string {
  return renderTable(files, [
    { header: 'PATH', value: (f) => f.path },
    { header: 'SIZE', value: (f) => formatBytes(f.size), align: 'right', keep: true },
    { header: 'MODE', value: (f) => f.mode.toString(8).padStart(4, '0'), keep: true },
    { header: 'DIGEST', value: (f) => shortDigest(f.digest), keep: true },
  ]);
}

function columnsTable(columns: readonly ColumnProfileJson[]): string {
  return renderTable(columns, [
    { header: 'COLUMN', value: (c) => c.name },
    { header: 'TYPE', value: (c) => c.type },
    { header: 'NULLS', value: (c) => formatCount(c.nulls), align: 'right' },
    { header: 'DISTINCT', value: (c) => `~${formatCount(c.distinct)}`, align: 'right' },
    { header: 'MIN', value: (c) => formatValue(c.min), align: 'right' },
    { header: 'MAX', value: (c) => formatValue(c.max), align: 'right' },
    { header: 'MEAN', value: (c) => formatValue(c.mean), align: 'right' },
  ]);
}

/** One table's profile: rows, then a line per column; pending and failed profiles say so. */
export function tableProfile(table: TableJson): string {
  const head = `Table ${table.path} (${table.format})`;
  if (table.status === 'pending') return `${head}: profile being computed — run again shortly`;
  if (table.status === 'failed' || table.profile === null) {
    return `${head}: could not be profiled${table.error === null ? '' : `: ${table.error}`}`;
  }
  const p = table.profile;
  const lines = [`${head}: ${plural(p.rows, 'row')}, ${plural(p.columns.length, 'column')}`];
  if (p.columns.length > 0) lines.push(indent(columnsTable(p.columns)));
  if (p.rejectedRows > 0) lines.push(`  ${plural(p.rejectedRows, 'row')} rejected while reading`);
  for (const warning of p.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}

/** Shifts shown per table; `--json` has them all. */
const TOP_SHIFTS = 5;

function schemaLine(t: TableDiffJson): string | undefined {
  if (t.schemaChanges.length === 0) return undefined;
  const changes = t.schemaChanges.map((c) =>
    c.change === 'added'
      ? `+${c.column} (${c.to ?? '?'})`
      : c.change === 'removed'
        ? `-${c.column}`
        : `${c.column} ${c.from ?? '?'} → ${c.to ?? '?'}`,
  );
  return `  schema: ${changes.join(', ')}`;
}

export function tableDiff(t: TableDiffJson): string {
  const head = `Table ${t.path}${t.key === null ? '' : ` (key ${t.key})`}`;
  if (t.error !== undefined) return `${head}: not compared: ${t.error}`;
  const lines = [
    `${head}: ${formatCount(t.rowsBefore)} → ${formatCount(t.rowsAfter)} rows; ` +
      `+${formatCount(t.rowsAdded)} added, -${formatCount(t.rowsRemoved)} removed, ` +
      `~${formatCount(t.rowsChanged)} changed`,
  ];
  const schema = schemaLine(t);
  if (schema !== undefined) lines.push(schema);
  const shifts = [...t.statShifts].sort((a, b) => b.score - a.score).slice(0, TOP_SHIFTS);
  if (shifts.length > 0) {
    lines.push('  top stat shifts:');
    lines.push(
      indent(
        renderTable(shifts, [
          { header: 'COLUMN', value: (s) => s.column },
          { header: 'STAT', value: (s) => s.stat },
          { header: 'FROM', value: (s) => formatValue(s.from), align: 'right' },
          { header: 'TO', value: (s) => formatValue(s.to), align: 'right' },
          { header: 'SCORE', value: (s) => s.score.toFixed(2), align: 'right' },
        ]),
        '    ',
      ),
    );
  }
  return lines.join('\n');
}

export function datasetDiff(diff: DatasetDiffJson): string {
  const { added, removed, modified } = diff.files;
  const lines = [
    `${diff.from.dataset}@${diff.from.version} → ${diff.to.dataset}@${diff.to.version}`,
    `Files: ${formatCount(added.length)} added, ${formatCount(removed.length)} removed, ` +
      `${formatCount(modified.length)} modified`,
    ...added.map((p) => `  + ${p}`),
    ...removed.map((p) => `  - ${p}`),
    ...modified.map((p) => `  ~ ${p}`),
  ];
  for (const table of diff.tables) lines.push('', tableDiff(table));
  return lines.join('\n');
}
