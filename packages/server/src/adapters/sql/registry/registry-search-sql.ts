import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { FilterExpr, OrderClause } from '../../../modules/tracking/index.js';
import {
  attributeComparison,
  column,
  compile,
  keyValueComparison,
  type ColumnSpec,
  type Comparison,
  type KeyValueTable,
} from '../tracking/search-sql.js';

/**
 * The registered-model and model-version searches as one statement each,
 * reusing the filter leaves of the run search (`tracking/search-sql.ts`), so
 * LIKE/ILIKE, IN, NULL tests and numeric casts mean the same everywhere.
 * Tag order keys are LEFT JOINs (a missing tag sorts last in both directions);
 * every statement ends in a unique tie-breaker so offset paging is stable.
 */

interface RegistrySearchTarget {
  /** Plural, for messages. */
  readonly name: string;
  /** `select … from …` with the outer aliases the columns and tag tables refer to. */
  readonly from: RawBuilder<unknown>;
  readonly columns: Readonly<Record<string, ColumnSpec>>;
  readonly tags: KeyValueTable;
  /** `left join <tag table> <alias> on <alias>.<owner> = <outer owner>`; the key test is added. */
  readonly tagJoin: (alias: RawBuilder<unknown>) => RawBuilder<unknown>;
  /**
   * Appended after the caller's clauses, each unless the caller ordered by
   * that attribute already. Together they are unique (model names are unique;
   * version numbers are unique within a model).
   */
  readonly tieBreakers: ReadonlyArray<{ key: string; ascending: boolean }>;
}

const MODELS: RegistrySearchTarget = {
  name: 'registered models',
  from: sql`select m.* from registered_models m`,
  columns: {
    name: column('m.name'),
    creation_timestamp: column('m.creation_ms', true),
    last_updated_timestamp: column('m.last_update_ms', true),
  },
  tags: { rows: sql`select 1 from registered_model_tags kv_f where kv_f.model_id = m.model_id` },
  tagJoin: (alias) => sql`left join registered_model_tags ${alias} on ${alias}.model_id = m.model_id`,
  tieBreakers: [{ key: 'name', ascending: true }],
};

const VERSIONS: RegistrySearchTarget = {
  name: 'model versions',
  // The model's name travels with every version record.
  from: sql`select v.*, m.name as model_name from model_versions v join registered_models m on m.model_id = v.model_id`,
  columns: {
    name: column('m.name'),
    version_number: column('v.version', true),
    run_id: column('v.run_id', false, true),
    source_path: column('v.source'),
    current_stage: column('v.stage'),
    format: column('v.format'),
    creation_timestamp: column('v.creation_ms', true),
    last_updated_timestamp: column('v.last_update_ms', true),
  },
  tags: { rows: sql`select 1 from model_version_tags kv_f where kv_f.version_id = v.version_id` },
  tagJoin: (alias) => sql`left join model_version_tags ${alias} on ${alias}.version_id = v.version_id`,
  // MLflow's default order: name, then newest version first.
  tieBreakers: [
    { key: 'name', ascending: true },
    { key: 'version_number', ascending: false },
  ],
};

export interface RegistrySearchInput {
  filter: FilterExpr | undefined;
  orderBy: readonly OrderClause[];
  /** Rows to return; the store passes the page size + 1. */
  limit: number;
  offset: number;
  /** Only rows of models in these projects (the caller's readable ones); all when absent. */
  projectIds?: readonly string[] | undefined;
}

/** `select m.* from registered_models m …`: rows of `registered_models`. */
export function modelSearchSql(input: RegistrySearchInput): RawBuilder<Record<string, unknown>> {
  return searchSql(MODELS, input);
}

/** `select v.*, m.name as model_name …`: rows of `model_versions` with the model's name. */
export function versionSearchSql(input: RegistrySearchInput): RawBuilder<Record<string, unknown>> {
  return searchSql(VERSIONS, input);
}

function searchSql(
  target: RegistrySearchTarget,
  input: RegistrySearchInput,
): RawBuilder<Record<string, unknown>> {
  const joins: RawBuilder<unknown>[] = [];
  const items: RawBuilder<unknown>[] = [];
  const ordered = new Set<string>();
  input.orderBy.forEach((clause, index) => {
    const dir = sql.raw(clause.ascending ? 'asc' : 'desc');
    if (clause.entity === 'tag') {
      const alias = sql.raw(`o${index}`);
      joins.push(sql`${target.tagJoin(alias)} and ${alias}.key = ${clause.key}`);
      items.push(sql`(${alias}.value is null) asc`, sql`${alias}.value ${dir}`);
      return;
    }
    const spec =
      clause.entity === 'attribute' && Object.hasOwn(target.columns, clause.key)
        ? target.columns[clause.key]
        : undefined;
    if (spec === undefined)
      throw new Error(`${target.name} cannot be ordered by ${clause.entity} ${clause.key}`);
    if (spec.nullable) items.push(sql`(${spec.column} is null) asc`);
    items.push(sql`${spec.column} ${dir}`);
    ordered.add(clause.key);
  });
  for (const tie of target.tieBreakers) {
    const spec = target.columns[tie.key];
    if (spec === undefined || ordered.has(tie.key)) continue;
    items.push(sql`${spec.column} ${sql.raw(tie.ascending ? 'asc' : 'desc')}`);
  }
  const conditions: RawBuilder<unknown>[] = [];
  if (input.projectIds !== undefined) conditions.push(inProjects(input.projectIds));
  if (input.filter !== undefined) conditions.push(compile(input.filter, (c) => comparison(target, c)));
  const where =
    conditions.length === 0
      ? sql``
      : sql`where ${sql.join(
          conditions.map((c) => sql`(${c})`),
          sql` and `,
        )}`;
  return sql<
    Record<string, unknown>
  >`${target.from} ${sql.join(joins, sql` `)} ${where} order by ${sql.join(items)} limit ${input.limit} offset ${input.offset}`;
}

/** Both targets select from `registered_models m`; an empty list matches nothing. */
function inProjects(projectIds: readonly string[]): RawBuilder<unknown> {
  if (projectIds.length === 0) return sql`1 = 0`;
  return sql`m.project_id in (${sql.join(projectIds.map((id) => sql`${id}`))})`;
}

function comparison(target: RegistrySearchTarget, c: Comparison): RawBuilder<SqlBool> {
  if (c.entity === 'tag') return keyValueComparison(target.tags, c);
  if (c.entity === 'attribute') return attributeComparison(target.columns, c);
  throw new Error(`${target.name} cannot be filtered by ${c.entity}.${c.key}`);
}
