/**
 * Renders rows as an aligned text table that fits the terminal: when too
 * wide, the widest shrinkable column is cut with an ellipsis first.
 */
export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Columns that must never be cut (ids). */
  keep?: boolean;
  align?: 'left' | 'right';
}

const MIN_WIDTH = 6;

export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  maxWidth = terminalWidth(),
): string {
  const cells = rows.map((row) => columns.map((c) => sanitize(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const gap = 2;
  const total = (): number => widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
  while (total() > maxWidth) {
    let widest = -1;
    for (let i = 0; i < columns.length; i++) {
      if (columns[i]?.keep === true || (widths[i] ?? 0) <= MIN_WIDTH) continue;
      if (widest === -1 || (widths[i] ?? 0) > (widths[widest] ?? 0)) widest = i;
    }
    if (widest === -1) break;
    widths[widest] = Math.max(MIN_WIDTH, (widths[widest] ?? 0) - (total() - maxWidth));
  }
  const line = (values: string[]): string =>
    values
      .map((v, i) => {
        const width = widths[i] ?? 0;
        const cut = v.length > width ? `${v.slice(0, Math.max(0, width - 1))}…` : v;
        return columns[i]?.align === 'right' ? cut.padStart(width) : cut.padEnd(width);
      })
      .join(' '.repeat(gap))
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

function sanitize(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export function terminalWidth(): number {
  const columns = process.stdout.columns;
  return typeof columns === 'number' && columns > 20 ? columns : 120;
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString().replace('T', ' ').slice(0, 19);
}

export function formatDuration(startMs: number, endMs: number | null): string {
  if (endMs === null) return '-';
  const seconds = Math.max(0, (endMs - startMs) / 1000);
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${Math.round((seconds % 3600) / 60)}m`;
}
