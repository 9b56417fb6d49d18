import { sql, type Kysely } from 'kysely';
// Entities and the port straight from their files: the module's index would load its services too.
import {
  STAGES,
  type ModelVersionRecord,
  type PinnedFile,
  type Stage,
} from '../../../modules/registry/entities.js';
import type { NewModelVersion } from '../../../modules/registry/registry.store.js';
import type { SqlHelpers } from '../database.js';
import type { Database } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import {
  flattenFileRow,
  toFileRow,
  toPinnedFile,
  toVersion,
  toVersionRow,
  type VersionRow,
} from './registry-row-mappers.js';

// 4 parameters a row: far below SQLite's 32,766 and PostgreSQL's 65,535 per statement.
const FILE_ROWS_PER_INSERT = 1000;
const TAG_ROWS_PER_INSERT = 1000;

/** Version rows joined with their model, whose name every version record carries. */
export function selectVersions(db: Kysely<Database>) {
  return db
    .selectFrom('model_versions as v')
    .innerJoin('registered_models as m', 'm.model_id', 'v.model_id')
    .selectAll('v')
    .select('m.name as model_name');
}

/** The version row, its tags, and its pinned files in multi-row inserts (a version may pin 10,000+ files). */
export async function insertVersion(
  db: Kysely<Database>,
  helpers: SqlHelpers,
  input: { version: NewModelVersion; files: readonly PinnedFile[] },
): Promise<void> {
  const { version, files } = input;
  await db.insertInto('model_versions').values(toVersionRow(version)).execute();
  for (const part of chunk(Object.entries(version.tags), TAG_ROWS_PER_INSERT)) {
    await db
      .insertInto('model_version_tags')
      .values(part.map(([key, value]) => ({ version_id: version.versionId, key, value })))
      .execute();
  }
  const rows = files.map((file) => toFileRow(version.versionId, file));
  for (const part of chunk(rows, FILE_ROWS_PER_INSERT)) {
    // The statement text depends only on the row count: compile it once per count.
    await helpers.shapes.execute(
      db,
      { name: 'model_version_files', rows: part, flatten: flattenFileRow },
      () => db.insertInto('model_version_files').values(part),
    );
  }
}

/** Records for a page of version rows: tags and aliases come in one query each, whatever the page size. */
export async function hydrateVersions(
  db: Kysely<Database>,
  helpers: SqlHelpers,
  rows: readonly VersionRow[],
): Promise<ModelVersionRecord[]> {
  if (rows.length === 0) return [];
  // One list parameter (see SqlHelpers.anyOf), so the page size never meets a parameter limit.
  const ids = rows.map((r) => r.version_id);
  const [tagRows, aliasRows] = await Promise.all([
    db
      .selectFrom('model_version_tags')
      .select(['version_id', 'key', 'value'])
      .where(helpers.anyOf('version_id', ids))
      .execute(),
    db
      .selectFrom('model_aliases as a')
      .innerJoin('model_versions as v', (join) =>
        join.onRef('v.model_id', '=', 'a.model_id').onRef('v.version', '=', 'a.version'),
      )
      .select(['v.version_id', 'a.alias'])
      .where(helpers.anyOf('v.version_id', ids))
      .orderBy('a.alias')
      .execute(),
  ]);
  const tags = new Map<string, Record<string, string>>();
  for (const t of tagRows) {
    const bucket = tags.get(t.version_id) ?? {};
    bucket[t.key] = t.value;
    tags.set(t.version_id, bucket);
  }
  const aliases = new Map<string, string[]>();
  for (const a of aliasRows) {
    const bucket = aliases.get(a.version_id) ?? [];
    bucket.push(a.alias);
    aliases.set(a.version_id, bucket);
  }
  return rows.map((row) =>
    toVersion(row, { tags: tags.get(row.version_id) ?? {}, aliases: aliases.get(row.version_id) ?? [] }),
  );
}

/**
 * The highest-numbered version per stage in one statement, ordered as
 * `stages` (STAGES when empty). A grouped sub-select joined back through the
 * (model_id, version) index reads the model's versions once; a correlated
 * `max()` per row would read them once per version.
 */
export async function latestVersionRows(
  db: Kysely<Database>,
  helpers: SqlHelpers,
  query: { modelIds: readonly string[]; stages: readonly Stage[] },
): Promise<VersionRow[]> {
  if (query.modelIds.length === 0) return [];
  // One grouped max per (model, stage) joined back through the (model_id, version) index:
  // a whole page of models in one statement.
  let latest = db
    .selectFrom('model_versions')
    .select((eb) => ['model_id', 'stage', eb.fn.max('version').as('top')])
    .where(helpers.anyOf('model_id', query.modelIds))
    .groupBy(['model_id', 'stage']);
  if (query.stages.length > 0) latest = latest.where('stage', 'in', [...query.stages]);
  const rows = await selectVersions(db)
    .innerJoin(latest.as('l'), (join) =>
      join
        .onRef('l.model_id', '=', 'v.model_id')
        .onRef('l.stage', '=', 'v.stage')
        .onRef('l.top', '=', 'v.version'),
    )
    .execute();
  const order: readonly string[] = query.stages.length > 0 ? query.stages : STAGES;
  return rows.sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage));
}

/**
 * Files whose path is `prefix` or lies under `prefix/` (a trailing `/` on the
 * prefix names the same folder), ordered by path. A prefix test by LIKE would
 * read `%` and `_` in paths as wildcards, and a range comparison depends on
 * the collation; comparing the leading characters is exact on both dialects
 * (`substr` counts characters on both, so the length is in code points).
 */
export async function listFiles(
  db: Kysely<Database>,
  query: { versionId: string; prefix: string },
): Promise<PinnedFile[]> {
  let select = db
    .selectFrom('model_version_files')
    .select(['path', 'digest', 'size_bytes'])
    .where('version_id', '=', query.versionId);
  const prefix = query.prefix.replace(/\/+$/, '');
  if (prefix !== '') {
    const folder = `${prefix}/`;
    const length = [...folder].length;
    select = select.where((eb) =>
      eb.or([eb('path', '=', prefix), eb(sql<string>`substr(path, 1, ${length})`, '=', folder)]),
    );
  }
  const files = (await select.execute()).map(toPinnedFile);
  // Sorted here, not by ORDER BY: a PostgreSQL collation such as en_US orders
  // `a-b` and `a/b` differently from SQLite's binary one.
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
