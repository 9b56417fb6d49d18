import type { TableFormat, TableProfileJson } from '@cairn/contract';

/** A tabular file on local disk (Cairn's own temporary copy of a file object). */
export interface TableFile {
  path: string;
  format: TableFormat;
}

/** How the rows of two versions of one table differ. */
export interface RowDiff {
  rowsAdded: number;
  rowsRemoved: number;
  rowsChanged: number;
  rowsBefore: number;
  rowsAfter: number;
  /** The column rows were matched by, or null when they were matched by content. */
  key: string | null;
}

/**
 * Reads tabular files to describe them (profile) and compare them row by row
 * (diff). Implementations read untrusted user data: a file that cannot be read
 * as its format is a CairnError, never a crash.
 */
export interface TableAnalytics {
  profile(file: TableFile): Promise<TableProfileJson>;
  /**
   * With `key`, rows are matched by that column (which must exist in both):
   * added, removed, or changed in any other shared column. Without, the two
   * tables are compared as multisets of rows over their shared columns, so an
   * edited row counts as one removed plus one added.
   */
  diff(before: TableFile, after: TableFile, options: { key?: string }): Promise<RowDiff>;
  close(): Promise<void>;
}

const FORMAT_BY_EXTENSION: Readonly<Record<string, TableFormat>> = {
  csv: 'csv',
  // Tab-separated files go through the same reader, which detects the delimiter.
  tsv: 'csv',
  parquet: 'parquet',
  pq: 'parquet',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
};

/** The table format a file's name implies, or undefined when it is not one Cairn understands. */
export function tableFormatOf(path: string): TableFormat | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  return FORMAT_BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
}
