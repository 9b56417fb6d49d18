import { CairnError } from '@cairn/contract';
import {
  EXPERIMENT_SEARCH,
  RUN_SEARCH,
  SearchCursor,
  readIdentifier,
  type SearchSubject,
} from './search-filter.js';

/**
 * MLflow `order_by` clauses: `<identifier> [ASC|DESC]`, the identifier written
 * as in a filter (`metrics.acc DESC`, `params.lr`, tags.`my key` ASC,
 * `attributes.start_time`, bare `start_time`). ASC is the default.
 */
export interface OrderClause {
  entity: 'metric' | 'param' | 'tag' | 'attribute';
  key: string;
  ascending: boolean;
}

export const MAX_ORDER_BY_CLAUSES = 10;
const MAX_CLAUSE_LENGTH = 1_000;

export function parseRunOrderBy(clauses: readonly string[]): OrderClause[] {
  return parseOrderBy(clauses, RUN_SEARCH);
}

/** Experiments order by `name`, `experiment_id`, `creation_time`, `last_update_time` or a tag. */
export function parseExperimentOrderBy(clauses: readonly string[]): OrderClause[] {
  return parseOrderBy(clauses, EXPERIMENT_SEARCH);
}

export function parseOrderBy(clauses: readonly string[], subject: SearchSubject): OrderClause[] {
  if (clauses.length > MAX_ORDER_BY_CLAUSES) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Invalid order_by: ${clauses.length} clauses given, at most ${MAX_ORDER_BY_CLAUSES} are allowed`,
      { field: 'order_by' },
    );
  }
  return clauses.map((clause) => parseClause(clause, subject));
}

function parseClause(text: string, subject: SearchSubject): OrderClause {
  if (typeof text !== 'string' || text.length > MAX_CLAUSE_LENGTH) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Invalid order_by clause: each clause must be a string of at most ${MAX_CLAUSE_LENGTH} characters`,
      { field: 'order_by' },
    );
  }
  const c: SearchCursor = new SearchCursor(text, 'order_by clause', 'order_by');
  c.skipSpace();
  if (c.atEnd) c.fail('expected an identifier such as metrics.acc or start_time, found an empty clause');
  const identStart = c.pos;
  const ident = readIdentifier(c, subject);
  if (ident.entity === 'dataset') c.fail(`${subject.name} cannot be ordered by dataset fields`, identStart);
  c.skipSpace();
  let ascending = true;
  if (!c.atEnd) {
    if (c.acceptKeyword('desc')) ascending = false;
    else if (!c.acceptKeyword('asc'))
      c.fail(`expected ASC, DESC or the end of the clause, found ${c.describe()}`);
    c.skipSpace();
    if (!c.atEnd) c.fail(`expected the end of the clause, found ${c.describe()}`);
  }
  return { entity: ident.entity, key: ident.key, ascending };
}
