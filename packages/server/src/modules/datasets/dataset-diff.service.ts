import {
  CairnError,
  isCairnError,
  type DatasetDiffJson,
  type TableDiffJson,
  type TableProfileJson,
} from '@cairn/contract';
import type { Digest } from '../artifacts/index.js';
import { authorizedDataset, checkText, resolveVersion, type DatasetsContext } from './datasets-context.js';
import type {
  DatasetRecord,
  DatasetVersionRecord,
  TableFormat,
  TableProfileRecord,
  VersionFile,
} from './entities.js';
import type { ObjectFiles } from './object-files.js';
import { tableFormatOf, type RowDiff, type TableAnalytics } from './table-analytics.js';
import { schemaChanges, statShifts } from './table-diff.js';
import type { TableProfilesService } from './table-profiles.service.js';

/**
 * Tables compared row by row in one diff; each takes seconds on large files,
 * so past this the rest are listed with an error instead of holding the
 * request for minutes.
 */
export const MAX_DIFFED_TABLES = 100;

export interface DatasetDiffDeps {
  analytics: TableAnalytics;
  files: ObjectFiles;
  profiles: TableProfilesService;
}

interface ChangedTable {
  path: string;
  format: TableFormat;
  before: Digest;
  after: Digest;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: CairnError };

/**
 * What changed between two versions: files added, removed and modified (by
 * content digest), and for each modified table the rows added, removed and
 * changed, its schema changes and the biggest moves in its statistics.
 *
 * A table that cannot be compared (unreadable, or without the key column)
 * gets an `error` and zero counts while the rest of the diff stands; only a
 * key column that is in none of the changed tables fails the whole request,
 * as that is a mistyped key rather than a table that changed shape. A table
 * present in one version only is a file added or removed, with no table entry.
 */
export class DatasetDiffService {
  constructor(
    private readonly ctx: DatasetsContext,
    private readonly deps: DatasetDiffDeps,
  ) {}

  async diff(input: { name: unknown; from: unknown; to: unknown; key?: unknown }): Promise<DatasetDiffJson> {
    const dataset = await authorizedDataset(this.ctx, {
      name: input.name,
      permission: 'read',
      action: 'datasets.diff',
    });
    const from = await resolveVersion(
      { store: this.ctx.store, dataset },
      requiredRef(input.from, 'from'),
      'from',
    );
    const to = await resolveVersion({ store: this.ctx.store, dataset }, requiredRef(input.to, 'to'), 'to');
    const key = input.key === undefined || input.key === '' ? undefined : checkText(input.key, 'key', 1024);
    const [before, after] = await Promise.all([
      this.ctx.store.allVersionFiles(from.versionId),
      this.ctx.store.allVersionFiles(to.versionId),
    ]);
    const files = compareManifests(before, after);
    const tables: TableDiffJson[] = [];
    const keyMissing: Array<{ path: string; message: string }> = [];
    for (const [i, table] of files.changedTables.entries()) {
      if (i >= MAX_DIFFED_TABLES) {
        tables.push(
          failed(table, {
            key,
            error: `not compared: one diff compares at most ${MAX_DIFFED_TABLES} tables`,
          }),
        );
        continue;
      }
      const result = await this.#diffTable(table, key);
      if (result.keyMissing) keyMissing.push({ path: table.path, message: result.entry.error ?? '' });
      tables.push(result.entry);
    }
    if (key !== undefined && keyMissing.length > 0 && keyMissing.length === tables.length) {
      throw noSuchKey(key, keyMissing);
    }
    return {
      from: versionRef(dataset, from),
      to: versionRef(dataset, to),
      files: { added: files.added, removed: files.removed, modified: files.modified },
      tables,
    };
  }

  async #diffTable(
    table: ChangedTable,
    key: string | undefined,
  ): Promise<{ entry: TableDiffJson; keyMissing: boolean }> {
    const before = { digest: table.before, format: table.format };
    const after = { digest: table.after, format: table.format };
    const { profiles, analytics } = this.deps;
    // Both copies are written at once; DuckDB then runs profiles and the diff one after another.
    const outcome = await settle(
      this.deps.files.useAll([before, after], async ([b, a]) => {
        const [profileBefore, profileAfter, rows] = await Promise.all([
          settle(profiles.profileOf(before)),
          settle(profiles.profileOf(after)),
          settle(
            analytics.diff(
              { path: b!, format: table.format },
              { path: a!, format: table.format },
              key === undefined ? {} : { key },
            ),
          ),
        ]);
        return { profileBefore, profileAfter, rows };
      }),
    );
    if (!outcome.ok)
      return { entry: failed(table, { key, error: outcome.error.message }), keyMissing: false };
    const { profileBefore, profileAfter, rows } = outcome.value;
    const shapes = doneProfiles(profileBefore, profileAfter);
    if (!rows.ok) {
      const keyMissing = rows.error.code === 'INVALID_ARGUMENT' && rows.error.field === 'key';
      return { entry: failed(table, { key, error: rows.error.message, shapes }), keyMissing };
    }
    return { entry: entryOf(table, rows.value, shapes), keyMissing: false };
  }
}

function requiredRef(value: unknown, field: string): unknown {
  if (value === undefined || value === null || value === '') {
    throw new CairnError('INVALID_ARGUMENT', `${field} is required: a version number, "latest" or an alias`, {
      field,
    });
  }
  return value;
}

/** Files by path; modified means the same path holds other content. */
function compareManifests(before: readonly VersionFile[], after: readonly VersionFile[]) {
  const added: string[] = [];
  const removed: string[] = [];
  const modified: string[] = [];
  const changedTables: ChangedTable[] = [];
  const old = new Map(before.map((f) => [f.path, f]));
  for (const file of after) {
    const was = old.get(file.path);
    if (was === undefined) added.push(file.path);
    else if (was.digest !== file.digest) {
      modified.push(file.path);
      const format = tableFormatOf(file.path);
      if (format !== undefined)
        changedTables.push({ path: file.path, format, before: was.digest, after: file.digest });
    }
  }
  const now = new Set(after.map((f) => f.path));
  for (const file of before) if (!now.has(file.path)) removed.push(file.path);
  return { added, removed, modified, changedTables };
}

interface Shapes {
  before: TableProfileJson;
  after: TableProfileJson;
}

/**
 * Only a server that cannot run DuckDB at all (shut down, failed to start)
 * fails the whole diff; anything about one table's data stays with that table.
 */
async function settle<T>(work: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await work };
  } catch (error) {
    if (!isCairnError(error) || error.code === 'UNAVAILABLE') throw error;
    return { ok: false, error };
  }
}

function doneProfiles(
  before: Settled<TableProfileRecord>,
  after: Settled<TableProfileRecord>,
): Shapes | undefined {
  if (!before.ok || !after.ok || before.value.status !== 'done' || after.value.status !== 'done')
    return undefined;
  return { before: before.value.profile as TableProfileJson, after: after.value.profile as TableProfileJson };
}

function entryOf(table: ChangedTable, rows: RowDiff, shapes: Shapes | undefined): TableDiffJson {
  return {
    path: table.path,
    rowsAdded: rows.rowsAdded,
    rowsRemoved: rows.rowsRemoved,
    rowsChanged: rows.rowsChanged,
    schemaChanges: shapes === undefined ? [] : schemaChanges(shapes.before, shapes.after),
    key: rows.key,
    rowsBefore: rows.rowsBefore,
    rowsAfter: rows.rowsAfter,
    statShifts: shapes === undefined ? [] : statShifts(shapes.before, shapes.after),
  };
}

/** A table that could not be compared row by row; what its profiles tell is still given. */
function failed(
  table: ChangedTable,
  problem: { key: string | undefined; error: string; shapes?: Shapes | undefined },
): TableDiffJson {
  const { key, error, shapes } = problem;
  return {
    ...entryOf(
      table,
      {
        rowsAdded: 0,
        rowsRemoved: 0,
        rowsChanged: 0,
        rowsBefore: shapes?.before.rows ?? 0,
        rowsAfter: shapes?.after.rows ?? 0,
        key: key ?? null,
      },
      shapes,
    ),
    error,
  };
}

function noSuchKey(key: string, tables: Array<{ path: string; message: string }>): CairnError {
  const first = tables[0]!;
  const lead =
    tables.length === 1
      ? ''
      : `none of the ${tables.length} changed tables has key column ${JSON.stringify(key)}; `;
  return new CairnError('INVALID_ARGUMENT', `${lead}${first.path}: ${first.message}`, { field: 'key' });
}

function versionRef(dataset: DatasetRecord, version: DatasetVersionRecord) {
  return { dataset: dataset.name, version: version.version };
}
