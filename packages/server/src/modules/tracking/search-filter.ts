import { CairnError } from '@cairn/contract';

/**
 * The MLflow search grammar for runs and experiments, as a superset: MLflow's
 * `expr AND expr` plus `OR` and parentheses (AND binds tighter than OR).
 *
 *   filter     := or
 *   or         := and ( OR and )*
 *   and        := primary ( AND primary )*
 *   primary    := '(' or ')' | comparison
 *   comparison := identifier comparator value
 *   identifier := prefix '.' key | attribute          (prefix: metrics, params, tags, attributes, datasets, ...)
 *   key        := [A-Za-z0-9_.]+ | `quoted` | "quoted"
 *   value      := number | 'string' | "string" | '(' string (',' string)* ')' | (nothing, after IS [NOT] NULL)
 *
 * Keywords are case-insensitive. Quoted strings and keys escape their quote
 * character by doubling it (`'it''s'`) or with a backslash (`'it\'s'`); `\\` is
 * a backslash and any other backslash is kept as written, so LIKE patterns can
 * escape wildcards (`'100\%'`). Pure: no I/O, no SQL.
 */

export type FilterEntity = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';
export type Comparator =
  '=' | '!=' | '>' | '>=' | '<' | '<=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';
export type FilterValue = string | number | string[] | null;
export type FilterExpr =
  | { kind: 'and'; items: FilterExpr[] }
  | { kind: 'or'; items: FilterExpr[] }
  | { kind: 'compare'; entity: FilterEntity; key: string; op: Comparator; value: FilterValue };

/** Longest filter accepted, in UTF-16 code units. */
export const MAX_FILTER_LENGTH = 20_000;
/** Deepest parenthesis nesting accepted. */
export const MAX_FILTER_DEPTH = 100;

export const NUMERIC_COMPARATORS: readonly Comparator[] = ['=', '!=', '>', '>=', '<', '<='];
export const STRING_COMPARATORS: readonly Comparator[] = [
  '=',
  '!=',
  'LIKE',
  'ILIKE',
  'IN',
  'NOT IN',
  'IS NULL',
  'IS NOT NULL',
];
export const DATASET_COMPARATORS: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];

export interface AttributeSpec {
  /** The canonical attribute name stored in the AST (`created` → `start_time`). */
  readonly name: string;
  readonly type: 'string' | 'number';
}

/** What one searchable subject (runs, experiments) lets a filter or an order_by name. */
export interface SearchSubject {
  /** Plural, for messages ("runs cannot be ordered by …"). */
  readonly name: string;
  /** Singular, for messages ("unknown run attribute …"). */
  readonly noun: string;
  /** An example identifier list for "expected …" messages. */
  readonly hint: string;
  /** Entity prefix in lower case, without the dot. */
  readonly prefixes: ReadonlyMap<string, FilterEntity>;
  /** Attribute names as a user may write them (case-sensitive). */
  readonly attributes: ReadonlyMap<string, AttributeSpec>;
  readonly datasetKeys: readonly string[];
}

const str = (name: string): [string, AttributeSpec] => [name, { name, type: 'string' }];
const num = (name: string, alias = name): [string, AttributeSpec] => [alias, { name, type: 'number' }];

export const RUN_SEARCH: SearchSubject = {
  name: 'runs',
  noun: 'run',
  hint: 'an identifier such as metrics.acc, params.lr, tags."mlflow.user", datasets.name or status',
  prefixes: new Map<string, FilterEntity>([
    ['metrics', 'metric'],
    ['metric', 'metric'],
    ['params', 'param'],
    ['param', 'param'],
    ['parameters', 'param'],
    ['parameter', 'param'],
    ['tags', 'tag'],
    ['tag', 'tag'],
    ['attributes', 'attribute'],
    ['attribute', 'attribute'],
    ['attr', 'attribute'],
    ['run', 'attribute'],
    ['datasets', 'dataset'],
    ['dataset', 'dataset'],
  ]),
  attributes: new Map([
    str('run_id'),
    str('run_name'),
    str('status'),
    str('user_id'),
    str('artifact_uri'),
    str('lifecycle_stage'),
    num('start_time'),
    num('end_time'),
    num('start_time', 'created'),
    num('start_time', 'Created'),
  ]),
  datasetKeys: ['name', 'digest', 'context'],
};

export const EXPERIMENT_SEARCH: SearchSubject = {
  name: 'experiments',
  noun: 'experiment',
  hint: 'an identifier such as name, creation_time or tags."owner"',
  prefixes: new Map<string, FilterEntity>([
    ['attributes', 'attribute'],
    ['attribute', 'attribute'],
    ['attr', 'attribute'],
    ['tags', 'tag'],
    ['tag', 'tag'],
  ]),
  attributes: new Map([str('name'), str('experiment_id'), num('creation_time'), num('last_update_time')]),
  datasetKeys: [],
};

const ENTITY_PREFIX: Readonly<Record<FilterEntity, string>> = {
  metric: 'metrics',
  param: 'params',
  tag: 'tags',
  attribute: 'attributes',
  dataset: 'datasets',
};

/**
 * A position in a search text, with error reporting in the shape
 * `Invalid <what> "<text>": <message> at position <n>` (0-based).
 * Shared by the filter and order_by parsers.
 */
export class SearchCursor {
  pos = 0;

  constructor(
    readonly text: string,
    readonly what: string,
    readonly field: string,
  ) {}

  fail(message: string, at: number = this.pos): never {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Invalid ${this.what} "${excerpt(this.text, at)}": ${message} at position ${at}`,
      { field: this.field },
    );
  }

  get atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(offset = 0): string | undefined {
    return this.text[this.pos + offset];
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  /** Consumes `word` (case-insensitive) when it stands at the cursor as a whole word. */
  acceptKeyword(word: string): boolean {
    const end = this.pos + word.length;
    const candidate = this.text.slice(this.pos, end);
    if (!/^[A-Za-z]+$/.test(candidate) || candidate.toLowerCase() !== word) return false;
    if (isWordChar(this.text[end])) return false;
    this.pos = end;
    return true;
  }

  /** The match of a sticky regex at the cursor, without consuming it. */
  match(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.pos;
    return pattern.exec(this.text)?.[0];
  }

  /** A short rendering of what stands at `at`, for "found …" messages. */
  describe(at: number = this.pos): string {
    if (at >= this.text.length) return 'the end of the text';
    const match = /^\S{1,20}/.exec(this.text.slice(at, at + 20));
    return `'${match?.[0] ?? this.text[at]}'`;
  }

  /** Reads a quoted string or key; the cursor stands on the opening quote. */
  readQuoted(what: string): string {
    const quote = this.text[this.pos] ?? '';
    const open = this.pos;
    let value = '';
    let i = this.pos + 1;
    const { text } = this;
    for (;;) {
      if (i >= text.length)
        this.fail(`unterminated ${what}: missing closing ${quote} for the ${quote} opened`, open);
      const c = text[i] as string;
      if (c === quote) {
        if (text[i + 1] === quote) {
          value += quote;
          i += 2;
          continue;
        }
        this.pos = i + 1;
        return value;
      }
      if (c === '\\' && i + 1 < text.length) {
        const next = text[i + 1] as string;
        if (next === quote || next === '\\') {
          value += next;
          i += 2;
          continue;
        }
      }
      value += c;
      i += 1;
    }
  }
}

export interface ParsedIdentifier {
  entity: FilterEntity;
  key: string;
  /** The identifier as written, for messages. */
  text: string;
  attribute: AttributeSpec | undefined;
}

/** Reads `prefix.key` or a bare attribute name at the cursor and validates it against the subject. */
export function readIdentifier(cursor: SearchCursor, subject: SearchSubject): ParsedIdentifier {
  const start = cursor.pos;
  const word = cursor.match(/[A-Za-z_][A-Za-z0-9_]*/y);
  if (word === undefined) {
    cursor.fail(`expected ${identifierHint(subject)}, found ${cursor.describe()}`);
  }
  cursor.pos += word.length;
  let entity: FilterEntity = 'attribute';
  let key = word;
  let keyStart = start;
  if (cursor.peek() === '.') {
    const prefixed = subject.prefixes.get(word.toLowerCase());
    if (prefixed === undefined) {
      cursor.fail(
        `unknown entity '${word}': expected one of ${[...new Set(subject.prefixes.values())].map((e) => `${ENTITY_PREFIX[e]}.`).join(', ')}`,
        start,
      );
    }
    entity = prefixed;
    cursor.pos += 1;
    keyStart = cursor.pos;
    const c = cursor.peek();
    if (c === '`' || c === '"') {
      key = cursor.readQuoted('key');
      if (key === '') cursor.fail(`empty key after '${word}.'`, keyStart);
    } else {
      const bare = cursor.match(/[A-Za-z0-9_.]+/y);
      if (bare === undefined) cursor.fail(`expected a key after '${word}.', found ${cursor.describe()}`);
      key = bare;
      cursor.pos += bare.length;
    }
  } else if (subject.prefixes.has(word.toLowerCase()) && !subject.attributes.has(word)) {
    cursor.fail(`expected '.' and a key after '${word}'`, cursor.pos);
  }
  const text = cursor.text.slice(start, cursor.pos);
  let attribute: AttributeSpec | undefined;
  if (entity === 'attribute') {
    attribute = subject.attributes.get(key);
    if (attribute === undefined) {
      const valid = [...subject.attributes.keys()].join(', ');
      cursor.fail(`unknown ${subject.noun} attribute '${key}': expected one of ${valid}`, keyStart);
    }
    key = attribute.name;
  } else if (entity === 'dataset' && !subject.datasetKeys.includes(key)) {
    cursor.fail(
      `unknown dataset field '${key}': expected one of ${subject.datasetKeys.join(', ')}`,
      keyStart,
    );
  }
  return { entity, key, text, attribute };
}

function identifierHint(subject: SearchSubject): string {
  return subject.hint;
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

/** The text, or for a long one the 120 characters around `at`. */
function excerpt(text: string, at: number): string {
  if (text.length <= 120) return text;
  const start = Math.max(0, Math.min(at - 60, text.length - 120));
  const end = start + 120;
  return `${start > 0 ? '...' : ''}${text.slice(start, end)}${end < text.length ? '...' : ''}`;
}

/** Parses a run search filter; `undefined` for an empty or blank filter. */
export function parseRunFilter(text: string): FilterExpr | undefined {
  return parseFilter(text, RUN_SEARCH);
}

/** Parses an experiment search filter; `undefined` for an empty or blank filter. */
export function parseExperimentFilter(text: string): FilterExpr | undefined {
  return parseFilter(text, EXPERIMENT_SEARCH);
}

export function parseFilter(text: string, subject: SearchSubject): FilterExpr | undefined {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `Invalid filter: it is ${text.length} characters long, the limit is ${MAX_FILTER_LENGTH}`,
      { field: 'filter' },
    );
  }
  if (text.trim() === '') return undefined;
  return new FilterParser(new SearchCursor(text, 'filter', 'filter'), subject).parse();
}

class FilterParser {
  constructor(
    private readonly c: SearchCursor,
    private readonly subject: SearchSubject,
  ) {}

  parse(): FilterExpr {
    const expr = this.or(0, 'the start of the filter');
    this.c.skipSpace();
    if (!this.c.atEnd) {
      if (this.c.peek() === ')') this.c.fail("unbalanced ')': no '(' to close");
      this.c.fail(`expected AND, OR or the end of the filter, found ${this.c.describe()}`);
    }
    return expr;
  }

  private or(depth: number, after: string): FilterExpr {
    const items = [this.and(depth, after)];
    for (;;) {
      this.c.skipSpace();
      if (!this.c.acceptKeyword('or')) break;
      items.push(this.and(depth, 'OR'));
    }
    return combine('or', items);
  }

  private and(depth: number, after: string): FilterExpr {
    const items = [this.primary(depth, after)];
    for (;;) {
      this.c.skipSpace();
      if (!this.c.acceptKeyword('and')) break;
      items.push(this.primary(depth, 'AND'));
    }
    return combine('and', items);
  }

  private primary(depth: number, after: string): FilterExpr {
    const { c } = this;
    c.skipSpace();
    if (c.atEnd) c.fail(`expected a comparison after ${after}`);
    if (c.peek() !== '(') return this.comparison();
    const open = c.pos;
    if (depth >= MAX_FILTER_DEPTH) c.fail(`parentheses nest deeper than ${MAX_FILTER_DEPTH} levels`);
    c.pos += 1;
    c.skipSpace();
    if (c.peek() === ')') c.fail('empty parentheses: expected a comparison');
    const inner = this.or(depth + 1, "'('");
    c.skipSpace();
    if (c.peek() !== ')') {
      c.fail(`expected ')' to close the '(' at position ${open}, AND or OR, found ${c.describe()}`);
    }
    c.pos += 1;
    return inner;
  }

  private comparison(): FilterExpr {
    const { c } = this;
    const ident = readIdentifier(c, this.subject);
    c.skipSpace();
    const opStart = c.pos;
    const op = this.comparator(ident.text);
    const allowed = comparatorsFor(ident);
    if (!allowed.includes(op)) {
      c.fail(`${ident.text} does not support ${op}: use ${allowed.join(', ')}`, opStart);
    }
    const kind = ident.entity === 'metric' || ident.attribute?.type === 'number' ? 'number' : 'string';
    let value: FilterValue;
    if (op === 'IS NULL' || op === 'IS NOT NULL') {
      value = null;
    } else if (op === 'IN' || op === 'NOT IN') {
      value = this.list(op);
    } else {
      c.skipSpace();
      const valueStart = c.pos;
      value = this.scalar(op);
      if (kind === 'number' && typeof value === 'string') {
        c.fail(`${ident.text} compares with numbers, found the string '${value}'`, valueStart);
      }
      if (kind === 'string' && typeof value === 'number') {
        c.fail(`${ident.text} compares with quoted strings, found the number ${value}`, valueStart);
      }
    }
    return { kind: 'compare', entity: ident.entity, key: ident.key, op, value };
  }

  private comparator(identText: string): Comparator {
    const { c } = this;
    const ch = c.peek();
    const two = c.text.slice(c.pos, c.pos + 2);
    if (two === '!=' || two === '<>') {
      c.pos += 2;
      return '!=';
    }
    if (two === '>=' || two === '<=') {
      c.pos += 2;
      return two;
    }
    if (ch === '=' || ch === '>' || ch === '<') {
      c.pos += 1;
      return ch;
    }
    if (c.acceptKeyword('like')) return 'LIKE';
    if (c.acceptKeyword('ilike')) return 'ILIKE';
    if (c.acceptKeyword('in')) return 'IN';
    if (c.acceptKeyword('not')) {
      c.skipSpace();
      if (c.acceptKeyword('in')) return 'NOT IN';
      c.fail(`expected IN after NOT, found ${c.describe()}`);
    }
    if (c.acceptKeyword('is')) {
      c.skipSpace();
      const negated = c.acceptKeyword('not');
      if (negated) c.skipSpace();
      if (c.acceptKeyword('null')) return negated ? 'IS NOT NULL' : 'IS NULL';
      c.fail(
        `expected ${negated ? 'NULL after IS NOT' : 'NULL or NOT NULL after IS'}, found ${c.describe()}`,
      );
    }
    return c.fail(
      `expected a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL) after ${identText}, found ${c.describe()}`,
    );
  }

  private scalar(op: Comparator): string | number {
    const { c } = this;
    const ch = c.peek();
    if (ch === undefined) c.fail(`expected a value after '${op}'`);
    if (ch === "'" || ch === '"') return c.readQuoted('string');
    const number = c.match(/[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/y);
    if (number !== undefined) {
      const start = c.pos;
      c.pos += number.length;
      if (isWordChar(c.peek()) || c.peek() === '.') c.fail(`malformed number ${c.describe(start)}`, start);
      const value = Number(number);
      if (!Number.isFinite(value)) c.fail(`number ${number} is out of range`, start);
      return value;
    }
    if (ch === '`')
      c.fail(`expected a value after '${op}', found a backtick-quoted name: quote strings with ' or "`);
    if (ch === '(') c.fail(`a parenthesised list is only allowed after IN or NOT IN, not after '${op}'`);
    return c.fail(`expected a number or a quoted string after '${op}', found ${c.describe()}`);
  }

  private list(op: Comparator): string[] {
    const { c } = this;
    c.skipSpace();
    if (c.peek() !== '(')
      c.fail(`expected '(' and a list of quoted strings after ${op}, found ${c.describe()}`);
    c.pos += 1;
    const values: string[] = [];
    c.skipSpace();
    if (c.peek() === ')') c.fail(`${op} needs at least one value`);
    for (;;) {
      c.skipSpace();
      const ch = c.peek();
      if (ch !== "'" && ch !== '"')
        c.fail(`expected a quoted string in the ${op} list, found ${c.describe()}`);
      values.push(c.readQuoted('string'));
      c.skipSpace();
      if (c.peek() === ',') {
        c.pos += 1;
        continue;
      }
      if (c.peek() === ')') {
        c.pos += 1;
        return values;
      }
      c.fail(`expected ',' or ')' in the ${op} list, found ${c.describe()}`);
    }
  }
}

function comparatorsFor(ident: ParsedIdentifier): readonly Comparator[] {
  if (ident.entity === 'metric' || ident.attribute?.type === 'number') return NUMERIC_COMPARATORS;
  if (ident.entity === 'dataset') return DATASET_COMPARATORS;
  return STRING_COMPARATORS;
}

/** Joins items under `kind`, lifting children of the same kind and unwrapping a single item. */
function combine(kind: 'and' | 'or', items: FilterExpr[]): FilterExpr {
  if (items.length === 1 && items[0] !== undefined) return items[0];
  const flat: FilterExpr[] = [];
  for (const item of items) {
    if (item.kind === kind) flat.push(...item.items);
    else flat.push(item);
  }
  return { kind, items: flat };
}

/**
 * Prints a filter back in the grammar above: `parseRunFilter(formatFilter(e))`
 * gives `e` back for any valid, flattened `e`. `and`/`or` need at least one item.
 */
export function formatFilter(expr: FilterExpr): string {
  if (expr.kind === 'compare') {
    const ident = `${ENTITY_PREFIX[expr.entity]}.${formatKey(expr.key)}`;
    const { value } = expr;
    if (value === null) return `${ident} ${expr.op}`;
    if (Array.isArray(value)) return `${ident} ${expr.op} (${value.map(formatString).join(', ')})`;
    return `${ident} ${expr.op} ${typeof value === 'number' ? formatNumber(value) : formatString(value)}`;
  }
  if (expr.items.length === 0) throw new RangeError(`an '${expr.kind}' filter needs at least one item`);
  const parts = expr.items.map((item) =>
    item.kind === 'compare' || (expr.kind === 'or' && item.kind === 'and')
      ? formatFilter(item)
      : `(${formatFilter(item)})`,
  );
  return parts.join(expr.kind === 'and' ? ' AND ' : ' OR ');
}

function formatKey(key: string): string {
  return /^[A-Za-z0-9_.]+$/.test(key) ? key : `\`${key.replaceAll('\\', '\\\\').replaceAll('`', '``')}\``;
}

function formatString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

function formatNumber(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}
