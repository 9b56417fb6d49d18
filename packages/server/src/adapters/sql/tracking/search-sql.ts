import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { OrderClause } from '../../../modules/tracking/order-by.js';
import type { Comparator, FilterExpr, FilterValue } from '../../../modules/tracking/search-filter.js';

/**
 * Search filters and order_by clauses as SQL fragments for the run search
 * (`selectFrom('runs as r')`) and the experiment search
 * (`selectFrom('experiments as e')`); the registry searches
 * (`registry/registry-search-sql.ts`) reuse `compile` and the leaf renderers
 * exported here. One text for SQLite and PostgreSQL:
 * only correlated `exists`/scalar subqueries, `like … escape`, `lower()`,
 * `cast(… as double precision)` and `coalesce`. Every user value is a bound
 * parameter; only fixed identifiers are written into the SQL text.
 *
 * Semantics (MLflow's, plus OR):
 * - metrics compare the latest value of the key; a run without the key never
 *   matches. A NaN value (`is_nan = 1`) matches only `!=`, as in IEEE 754.
 * - params/tags: `=`, `!=`, LIKE, IN … need the key present (so `!=` means
 *   "has the key with another value"); `IS NULL` means the key is absent.
 * - LIKE is case-sensitive on both dialects (the SQLite connection runs
 *   `PRAGMA case_sensitive_like = ON`); `\` escapes `%`, `_` and itself.
 *   ILIKE is `lower(x) like lower(pattern)`; note SQLite's `lower()` folds
 *   ASCII letters only.
 * - datasets: each comparison asks "has some dataset input whose field …";
 *   `context` is the input tag `mlflow.data.context`.
 * - numeric attributes compare as double precision; a NULL `end_time`
 *   matches nothing.
 * - ordering by a metric puts numbers first, then NaN, then runs without the
 *   key, in both directions; params/tags put runs without the key last.
 *   Text ordering follows the database collation (binary on SQLite).
 */

type Condition = RawBuilder<SqlBool>;

/** An attribute a filter may name, as the SQL expression it compares. */
export interface ColumnSpec {
  readonly column: RawBuilder<unknown>;
  readonly numeric: boolean;
  readonly nullable: boolean;
}

export const column = (name: string, numeric = false, nullable = false): ColumnSpec => ({
  column: sql.raw(name),
  numeric,
  nullable,
});

const RUN_COLUMNS: Readonly<Record<string, ColumnSpec>> = {
  run_id: column('r.run_uuid'),
  run_name: column('r.run_name'),
  status: column('r.status'),
  user_id: column('r.user_id'),
  artifact_uri: column('r.artifact_uri'),
  lifecycle_stage: column('r.lifecycle_stage'),
  start_time: column('r.start_ms', true),
  end_time: column('r.end_ms', true, true),
};

const EXPERIMENT_COLUMNS: Readonly<Record<string, ColumnSpec>> = {
  name: column('e.name'),
  experiment_id: column('e.experiment_id'),
  creation_time: column('e.creation_ms', true),
  last_update_time: column('e.last_update_ms', true),
};

const DATASET_CONTEXT_TAG = 'mlflow.data.context';

export function runFilterSql(expr: FilterExpr): RawBuilder<SqlBool> {
  return compile(expr, runComparison);
}

export function experimentFilterSql(expr: FilterExpr): RawBuilder<SqlBool> {
  return compile(expr, experimentComparison);
}

export type Comparison = Extract<FilterExpr, { kind: 'compare' }>;

/** AND/OR of the leaves, each rendered by `leaf`; shared by every search (runs, experiments, registry). */
export function compile(expr: FilterExpr, leaf: (c: Comparison) => Condition): Condition {
  switch (expr.kind) {
    case 'compare':
      return leaf(expr);
    case 'and':
      if (expr.items.length === 0) return sql<SqlBool>`1 = 1`;
      return sql<SqlBool>`(${sql.join(
        expr.items.map((item) => compile(item, leaf)),
        sql` and `,
      )})`;
    case 'or':
      if (expr.items.length === 0) return sql<SqlBool>`1 = 0`;
      return sql<SqlBool>`(${sql.join(
        expr.items.map((item) => compile(item, leaf)),
        sql` or `,
      )})`;
  }
}

function runComparison(c: Comparison): Condition {
  switch (c.entity) {
    case 'metric': {
      const where = sql`m_f.run_uuid = r.run_uuid and m_f.key = ${c.key}`;
      const value = sql`m_f.value`;
      const number = numberParam(c.value, c);
      const test =
        c.op === '!='
          ? sql`(m_f.is_nan = 1 or ${value} <> ${number})`
          : sql`m_f.is_nan = 0 and ${value} ${numericOperator(c.op)} ${number}`;
      return sql<SqlBool>`exists (select 1 from latest_metrics m_f where ${where} and ${test})`;
    }
    case 'param':
      return keyValueComparison(RUN_PARAMS, c);
    case 'tag':
      return keyValueComparison(RUN_TAGS, c);
    case 'attribute':
      return attributeComparison(RUN_COLUMNS, c);
    case 'dataset': {
      const from = sql`from inputs i_f join datasets d_f on d_f.dataset_uuid = i_f.source_id`;
      if (c.key === 'name' || c.key === 'digest') {
        const target = sql.raw(`d_f.${c.key}`);
        return sql<SqlBool>`exists (select 1 ${from} where i_f.destination_id = r.run_uuid and ${valueTest(target, c)})`;
      }
      if (c.key === 'context') {
        return sql<SqlBool>`exists (select 1 ${from} join input_tags t_f on t_f.input_uuid = i_f.input_uuid and t_f.key = ${DATASET_CONTEXT_TAG} where i_f.destination_id = r.run_uuid and ${valueTest(sql`t_f.value`, c)})`;
      }
      throw unsupported(c);
    }
  }
}

function experimentComparison(c: Comparison): Condition {
  if (c.entity === 'tag') {
    return keyValueComparison(EXPERIMENT_TAGS, c);
  }
  if (c.entity === 'attribute') return attributeComparison(EXPERIMENT_COLUMNS, c);
  throw unsupported(c);
}

/** A table of (owner, key, value) rows: params, tags, experiment_tags, registry tags. */
export interface KeyValueTable {
  /** `select 1 from <table> kv_f where kv_f.<owner> = <outer owner>`, without the key test. */
  readonly rows: RawBuilder<unknown>;
}

const RUN_PARAMS: KeyValueTable = { rows: sql`select 1 from params kv_f where kv_f.run_uuid = r.run_uuid` };
const RUN_TAGS: KeyValueTable = { rows: sql`select 1 from tags kv_f where kv_f.run_uuid = r.run_uuid` };
const EXPERIMENT_TAGS: KeyValueTable = {
  rows: sql`select 1 from experiment_tags kv_f where kv_f.experiment_id = e.experiment_id`,
};

export function keyValueComparison(table: KeyValueTable, c: Comparison): Condition {
  const rows = sql`${table.rows} and kv_f.key = ${c.key}`;
  if (c.op === 'IS NULL') return sql<SqlBool>`not exists (${rows})`;
  if (c.op === 'IS NOT NULL') return sql<SqlBool>`exists (${rows})`;
  return sql<SqlBool>`exists (${rows} and ${valueTest(sql`kv_f.value`, c)})`;
}

export function attributeComparison(columns: Readonly<Record<string, ColumnSpec>>, c: Comparison): Condition {
  const spec = Object.hasOwn(columns, c.key) ? columns[c.key] : undefined;
  if (spec === undefined) throw unsupported(c);
  if (c.op === 'IS NULL') return sql<SqlBool>`${spec.column} is null`;
  if (c.op === 'IS NOT NULL') return sql<SqlBool>`${spec.column} is not null`;
  if (spec.numeric) {
    return sql<SqlBool>`${spec.column} ${numericOperator(c.op)} ${numberParam(c.value, c)}`;
  }
  return valueTest(spec.column, c);
}

/** A string comparison of `target` (never IS [NOT] NULL, handled by the caller). */
export function valueTest(target: RawBuilder<unknown>, c: Comparison): Condition {
  const { op, value } = c;
  switch (op) {
    case '=':
      return sql<SqlBool>`${target} = ${stringParam(value, c)}`;
    case '!=':
      return sql<SqlBool>`${target} <> ${stringParam(value, c)}`;
    case 'LIKE':
      return sql<SqlBool>`${target} like ${likePattern(stringParam(value, c))} escape '\\'`;
    case 'ILIKE':
      return sql<SqlBool>`lower(${target}) like lower(cast(${likePattern(stringParam(value, c))} as text)) escape '\\'`;
    case 'IN':
    case 'NOT IN': {
      if (!Array.isArray(value) || value.length === 0) throw unsupported(c);
      const list = sql.join(value.map((v) => sql`${v}`));
      return op === 'IN' ? sql<SqlBool>`${target} in (${list})` : sql<SqlBool>`${target} not in (${list})`;
    }
    default:
      throw unsupported(c);
  }
}

function numericOperator(op: Comparator): RawBuilder<unknown> {
  switch (op) {
    case '=':
    case '>':
    case '>=':
    case '<':
    case '<=':
      return sql.raw(op);
    case '!=':
      return sql.raw('<>');
    default:
      throw new Error(`comparator ${op} does not apply to numbers`);
  }
}

function numberParam(value: FilterValue, c: Comparison): RawBuilder<unknown> {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw unsupported(c);
  return sql`cast(${value} as double precision)`;
}

function stringParam(value: FilterValue, c: Comparison): string {
  if (typeof value !== 'string') throw unsupported(c);
  return value;
}

/** PostgreSQL refuses a pattern ending in a lone escape character; SQLite matches nothing. Make it literal on both. */
function likePattern(pattern: string): string {
  const trailing = /\\*$/.exec(pattern)?.[0].length ?? 0;
  return trailing % 2 === 1 ? `${pattern}\\` : pattern;
}

function unsupported(c: Comparison): Error {
  return new Error(
    `search filter ${c.entity}.${c.key} ${c.op} ${JSON.stringify(c.value)} cannot be translated to SQL`,
  );
}

const direction = (ascending: boolean): RawBuilder<unknown> => sql.raw(ascending ? 'asc' : 'desc');

/**
 * The run search as one statement: `select r.* from runs r`, a LEFT JOIN per
 * metric/param/tag order key, the scope and filter, and ORDER BY with
 * direction, ending with the tie-breakers `r.start_ms desc, r.run_uuid asc`
 * unless those keys were given. Joins (rather than a correlated sub-query per
 * row and order key) let PostgreSQL hash-join the order keys of thousands of
 * matching runs; SQLite plans both alike.
 */
export function runSearchSql(input: {
  scope: readonly RawBuilder<SqlBool>[];
  filter: FilterExpr | undefined;
  orderBy: readonly OrderClause[];
  limit?: number;
  offset?: number;
}): RawBuilder<Record<string, unknown>> {
  const joins: RawBuilder<unknown>[] = [];
  const items: RawBuilder<unknown>[] = [];
  let hasStart = false;
  let hasId = false;
  input.orderBy.forEach((clause, index) => {
    const dir = direction(clause.ascending);
    const alias = sql.raw(`o${index}`);
    switch (clause.entity) {
      case 'metric': {
        joins.push(
          sql`left join latest_metrics ${alias} on ${alias}.run_uuid = r.run_uuid and ${alias}.key = ${clause.key}`,
        );
        // 0 = a number, 1 = NaN, 2 = no such metric: always in this order.
        items.push(sql`coalesce(${alias}.is_nan, 2) asc`, sql`${alias}.value ${dir}`);
        break;
      }
      case 'param':
      case 'tag': {
        const table = sql.raw(clause.entity === 'param' ? 'params' : 'tags');
        joins.push(
          sql`left join ${table} ${alias} on ${alias}.run_uuid = r.run_uuid and ${alias}.key = ${clause.key}`,
        );
        items.push(sql`(${alias}.value is null) asc`, sql`${alias}.value ${dir}`);
        break;
      }
      case 'attribute': {
        const spec = Object.hasOwn(RUN_COLUMNS, clause.key) ? RUN_COLUMNS[clause.key] : undefined;
        if (spec === undefined) throw new Error(`runs cannot be ordered by attribute ${clause.key}`);
        if (spec.nullable) items.push(sql`(${spec.column} is null) asc`);
        items.push(sql`${spec.column} ${dir}`);
        hasStart ||= clause.key === 'start_time';
        hasId ||= clause.key === 'run_id';
        break;
      }
    }
  });
  if (!hasStart) items.push(sql`r.start_ms desc`);
  if (!hasId) items.push(sql`r.run_uuid asc`);
  const conditions = [...input.scope, ...(input.filter === undefined ? [] : [runFilterSql(input.filter)])];
  const where = conditions.length === 0 ? sql`` : sql`where ${sql.join(conditions, sql` and `)}`;
  const page = input.limit === undefined ? sql`` : sql`limit ${input.limit} offset ${input.offset ?? 0}`;
  return sql<
    Record<string, unknown>
  >`select r.* from runs r ${sql.join(joins, sql` `)} ${where} order by ${sql.join(items)} ${page}`;
}

/**
 * ORDER BY items for the experiment search; ends with `experiment_id asc`
 * unless given. Experiment ids are decimal strings, so they order by length
 * first and then as text, which is numeric order.
 */
export function experimentOrderBySql(clauses: readonly OrderClause[]): RawBuilder<unknown>[] {
  const items: RawBuilder<unknown>[] = [];
  let hasId = false;
  for (const clause of clauses) {
    const dir = direction(clause.ascending);
    if (clause.entity === 'tag') {
      const value = sql`(select kv_o.value from experiment_tags kv_o where kv_o.experiment_id = e.experiment_id and kv_o.key = ${clause.key})`;
      items.push(sql`(${value} is null) asc`, sql`${value} ${dir}`);
      continue;
    }
    if (clause.entity === 'attribute' && clause.key === 'experiment_id') {
      items.push(sql`length(e.experiment_id) ${dir}`, sql`e.experiment_id ${dir}`);
      hasId = true;
      continue;
    }
    const spec =
      clause.entity === 'attribute' && Object.hasOwn(EXPERIMENT_COLUMNS, clause.key)
        ? EXPERIMENT_COLUMNS[clause.key]
        : undefined;
    if (spec === undefined)
      throw new Error(`experiments cannot be ordered by ${clause.entity} ${clause.key}`);
    items.push(sql`${spec.column} ${dir}`);
  }
  // MLflow's default: newest first, then by id.
  if (clauses.length === 0) items.push(sql`e.creation_ms desc`);
  if (!hasId) items.push(sql`length(e.experiment_id) asc`, sql`e.experiment_id asc`);
  return items;
}
