import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  formatFilter,
  parseExperimentFilter,
  parseRunFilter,
  type Comparator,
  type FilterExpr,
} from './search-filter.js';

type Compare = Extract<FilterExpr, { kind: 'compare' }>;
const cmp = (entity: Compare['entity'], key: string, op: Comparator, value: Compare['value']): Compare => ({
  kind: 'compare',
  entity,
  key,
  op,
  value,
});
const and = (...items: FilterExpr[]): FilterExpr => ({ kind: 'and', items });
const or = (...items: FilterExpr[]): FilterExpr => ({ kind: 'or', items });

function errorOf(run: () => unknown): { code: string; field: string | undefined; message: string } {
  try {
    run();
  } catch (error) {
    if (!isCairnError(error)) throw error;
    return { code: error.code, field: error.field, message: error.message };
  }
  throw new Error('expected the parser to throw');
}

describe('parseRunFilter: valid filters', () => {
  const cases: [string, FilterExpr][] = [
    ['metrics.accuracy > 0.92', cmp('metric', 'accuracy', '>', 0.92)],
    [
      "metrics.rmse < 1 and params.model = 'tree'",
      and(cmp('metric', 'rmse', '<', 1), cmp('param', 'model', '=', 'tree')),
    ],
    [
      'params.model = "LogisticRegression" and params.lambda = "0.001" and metrics.error <= 0.05',
      and(
        cmp('param', 'model', '=', 'LogisticRegression'),
        cmp('param', 'lambda', '=', '0.001'),
        cmp('metric', 'error', '<=', 0.05),
      ),
    ],
    ["attributes.status = 'FINISHED'", cmp('attribute', 'status', '=', 'FINISHED')],
    ['attributes.status = "FAILED"', cmp('attribute', 'status', '=', 'FAILED')],
    ['tags."mlflow.user" LIKE \'%bob%\'', cmp('tag', 'mlflow.user', 'LIKE', '%bob%')],
    ["tags.`mlflow.user` like '%bob%'", cmp('tag', 'mlflow.user', 'LIKE', '%bob%')],
    ["tags.mlflow.runName = 'r1'", cmp('tag', 'mlflow.runName', '=', 'r1')],
    ["attributes.run_id IN ('a','b')", cmp('attribute', 'run_id', 'IN', ['a', 'b'])],
    ['attributes.run_id not   in ( \'a\' , "b" )', cmp('attribute', 'run_id', 'NOT IN', ['a', 'b'])],
    ["run_name ILIKE '%X%'", cmp('attribute', 'run_name', 'ILIKE', '%X%')],
    ['metrics.`f1 score` >= -1.5e-3', cmp('metric', 'f1 score', '>=', -1.5e-3)],
    ['metric."log-loss" != 2', cmp('metric', 'log-loss', '!=', 2)],
    ['metrics.a <> .5', cmp('metric', 'a', '!=', 0.5)],
    ['metrics.a=1', cmp('metric', 'a', '=', 1)],
    ["parameters.lr = '0.1'", cmp('param', 'lr', '=', '0.1')],
    ["param.lr = '0.1'", cmp('param', 'lr', '=', '0.1')],
    ["parameter.lr = '0.1'", cmp('param', 'lr', '=', '0.1')],
    ["tag.env = 'prod'", cmp('tag', 'env', '=', 'prod')],
    ["attr.user_id = 'bob'", cmp('attribute', 'user_id', '=', 'bob')],
    ["run.status != 'KILLED'", cmp('attribute', 'status', '!=', 'KILLED')],
    ["attribute.artifact_uri LIKE 's3://%'", cmp('attribute', 'artifact_uri', 'LIKE', 's3://%')],
    ["lifecycle_stage = 'active'", cmp('attribute', 'lifecycle_stage', '=', 'active')],
    ['start_time > 1700000000000', cmp('attribute', 'start_time', '>', 1700000000000)],
    ['attributes.created >= 5', cmp('attribute', 'start_time', '>=', 5)],
    ['Created < 5', cmp('attribute', 'start_time', '<', 5)],
    ['end_time <= 10', cmp('attribute', 'end_time', '<=', 10)],
    ['tags.x IS NULL', cmp('tag', 'x', 'IS NULL', null)],
    ['params.x is not null', cmp('param', 'x', 'IS NOT NULL', null)],
    ["datasets.name = 'train'", cmp('dataset', 'name', '=', 'train')],
    ["dataset.digest IN ('abc')", cmp('dataset', 'digest', 'IN', ['abc'])],
    ["datasets.context ILIKE 'TRAIN%'", cmp('dataset', 'context', 'ILIKE', 'TRAIN%')],
    ["METRICS.acc > 1 AnD Params.m = 'x'", and(cmp('metric', 'acc', '>', 1), cmp('param', 'm', '=', 'x'))],
    // strings: doubled quotes, backslash escapes, other backslashes kept for LIKE
    ["tags.t = 'it''s'", cmp('tag', 't', '=', "it's")],
    ["tags.t = 'it\\'s'", cmp('tag', 't', '=', "it's")],
    ['tags.t = "say ""hi"""', cmp('tag', 't', '=', 'say "hi"')],
    ["tags.t = 'a\\\\b'", cmp('tag', 't', '=', 'a\\b')],
    ["tags.t LIKE '100\\%'", cmp('tag', 't', 'LIKE', '100\\%')],
    ["tags.t = ''", cmp('tag', 't', '=', '')],
    ['tags.`a``b` = "x"', cmp('tag', 'a`b', '=', 'x')],
    // OR, precedence and parentheses
    [
      "status = 'FAILED' or metrics.acc > 0.9 and params.m = 'x'",
      or(
        cmp('attribute', 'status', '=', 'FAILED'),
        and(cmp('metric', 'acc', '>', 0.9), cmp('param', 'm', '=', 'x')),
      ),
    ],
    [
      "(status = 'FAILED' OR metrics.acc > 0.9) AND params.m = 'x'",
      and(
        or(cmp('attribute', 'status', '=', 'FAILED'), cmp('metric', 'acc', '>', 0.9)),
        cmp('param', 'm', '=', 'x'),
      ),
    ],
    [
      '((metrics.a = 1 and metrics.b = 2) and (metrics.c = 3)) and metrics.d = 4',
      and(
        cmp('metric', 'a', '=', 1),
        cmp('metric', 'b', '=', 2),
        cmp('metric', 'c', '=', 3),
        cmp('metric', 'd', '=', 4),
      ),
    ],
    [
      'metrics.a = 1 or (metrics.b = 2 or metrics.c = 3)',
      or(cmp('metric', 'a', '=', 1), cmp('metric', 'b', '=', 2), cmp('metric', 'c', '=', 3)),
    ],
    ['  ((( metrics.a = 1 )))  ', cmp('metric', 'a', '=', 1)],
    ['\n\tmetrics.a\n>\n1\n', cmp('metric', 'a', '>', 1)],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(parseRunFilter(text)).toEqual(expected);
  });

  it('returns undefined for an empty or blank filter', () => {
    expect(parseRunFilter('')).toBeUndefined();
    expect(parseRunFilter('  \n\t ')).toBeUndefined();
  });
});

describe('parseRunFilter: invalid filters', () => {
  const cases: [string, RegExp][] = [
    ['metrics.acc >', /expected a value after '>' at position 13$/],
    ['metrics.acc', /expected a comparator .* after metrics\.acc, found the end of the text at position 11/],
    ["metrics.acc > '0.9'", /metrics\.acc compares with numbers, found the string '0\.9' at position 14/],
    ['params.lr = 0.1', /params\.lr compares with quoted strings, found the number 0\.1 at position 12/],
    ["metrics.acc LIKE '%1'", /metrics\.acc does not support LIKE: use =, !=, >, >=, <, <= at position 12/],
    ["start_time LIKE '1%'", /start_time does not support LIKE/],
    ['start_time = "x"', /compares with numbers/],
    [
      "foo = 'x'",
      /unknown run attribute 'foo': expected one of run_id, run_name, status, .*start_time, end_time/,
    ],
    ["attributes.foo = 'x'", /unknown run attribute 'foo'.* at position 11/],
    [
      "bogus.x = 'y'",
      /unknown entity 'bogus': expected one of metrics\., params\., tags\., attributes\., datasets\. at position 0/,
    ],
    ["datasets.size = 'x'", /unknown dataset field 'size': expected one of name, digest, context/],
    ['datasets.name IS NULL', /datasets\.name does not support IS NULL/],
    ['metrics > 1', /expected '\.' and a key after 'metrics' at position 7/],
    ['metrics. > 1', /expected a key after 'metrics\.'/],
    ['metrics.`` > 1', /empty key/],
    ["tags.`open = 'x'", /unterminated key/],
    ["tags.x = 'open", /unterminated string: missing closing ' .* at position 9/],
    ['tags.x = open', /expected a number or a quoted string after '=', found 'open'/],
    ['tags.x = `y`', /backtick-quoted name/],
    ['tags.x IN ()', /IN needs at least one value/],
    ["tags.x IN ('a',)", /expected a quoted string in the IN list/],
    ["tags.x IN ('a' 'b')", /expected ',' or '\)' in the IN list/],
    ["tags.x IN 'a'", /expected '\(' and a list of quoted strings after IN/],
    ['tags.x IN (1)', /expected a quoted string in the IN list/],
    ["tags.x = ('a')", /only allowed after IN or NOT IN/],
    ["tags.x NOT 'a'", /expected IN after NOT/],
    ['tags.x IS', /expected NULL or NOT NULL after IS/],
    ['tags.x IS NOT', /expected NULL after IS NOT/],
    ['metrics.a = 1 and', /expected a comparison after AND at position 17/],
    ['metrics.a = 1 or', /expected a comparison after OR/],
    ['and metrics.a = 1', /unknown run attribute 'and'/],
    [
      'metrics.a = 1 metrics.b = 2',
      /expected AND, OR or the end of the filter, found 'metrics\.b' at position 14/,
    ],
    ['metrics.a = 1)', /unbalanced '\)'.* at position 13/],
    [
      '(metrics.a = 1',
      /expected '\)' to close the '\(' at position 0, AND or OR, found the end of the text at position 14/,
    ],
    ['()', /empty parentheses/],
    ['metrics.a = 1 and ()', /empty parentheses/],
    ['metrics.a = 1.2.3', /malformed number/],
    ['metrics.a = 1x', /malformed number/],
    ['metrics.a = 1e999', /out of range/],
    ['metrics.a == 1', /expected a number or a quoted string after '='/],
    ["'metrics.a' = 1", /expected an identifier such as metrics\.acc/],
    ['metrics.a = 1 &', /expected AND, OR or the end of the filter/],
  ];
  it.each(cases)('%s', (text, pattern) => {
    const error = errorOf(() => parseRunFilter(text));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.field).toBe('filter');
    expect(error.message).toMatch(/^Invalid filter "/);
    expect(error.message).toMatch(pattern);
  });

  it('gives the exact message of the documented example', () => {
    expect(errorOf(() => parseRunFilter('metrics.acc >')).message).toBe(
      `Invalid filter "metrics.acc >": expected a value after '>' at position 13`,
    );
  });

  it('limits nesting depth and length', () => {
    const deep = `${'('.repeat(MAX_FILTER_DEPTH + 1)}metrics.a = 1${')'.repeat(MAX_FILTER_DEPTH + 1)}`;
    expect(errorOf(() => parseRunFilter(deep)).message).toMatch(/nest deeper than 100/);
    const ok = `${'('.repeat(MAX_FILTER_DEPTH)}metrics.a = 1${')'.repeat(MAX_FILTER_DEPTH)}`;
    expect(parseRunFilter(ok)).toEqual(cmp('metric', 'a', '=', 1));
    expect(errorOf(() => parseRunFilter('('.repeat(100_000))).code).toBe('INVALID_ARGUMENT');
    const long = Array.from({ length: 2000 }, (_, i) => `metrics.m${i} = 1`).join(' and ');
    expect(long.length).toBeGreaterThan(MAX_FILTER_LENGTH);
    expect(errorOf(() => parseRunFilter(long)).message).toMatch(/the limit is 20000/);
  });

  it('quotes the part of a long filter around the error', () => {
    const text = `${'metrics.b = 2 and '.repeat(20)}metrics.c = 'x' and ${'metrics.b = 2 and '.repeat(20)}metrics.d = 1`;
    const { message } = errorOf(() => parseRunFilter(text));
    expect(message.length).toBeLessThan(250);
    expect(message).toMatch(
      /^Invalid filter "\.\.\.[^"]*metrics\.c = 'x'[^"]*\.\.\.": metrics\.c compares with numbers/,
    );
    expect(message).toMatch(/at position 372$/);
  });
});

describe('parseExperimentFilter', () => {
  it.each<[string, FilterExpr]>([
    ["name = 'a'", cmp('attribute', 'name', '=', 'a')],
    ["attributes.name LIKE 'exp-%'", cmp('attribute', 'name', 'LIKE', 'exp-%')],
    ['creation_time > 10', cmp('attribute', 'creation_time', '>', 10)],
    ['attribute.last_update_time <= 10', cmp('attribute', 'last_update_time', '<=', 10)],
    ["experiment_id IN ('1', '2')", cmp('attribute', 'experiment_id', 'IN', ['1', '2'])],
    [
      "tags.owner = 'bob' or tags.`team name` ILIKE '%ml%'",
      or(cmp('tag', 'owner', '=', 'bob'), cmp('tag', 'team name', 'ILIKE', '%ml%')),
    ],
  ])('%s', (text, expected) => {
    expect(parseExperimentFilter(text)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['metrics.acc > 1', /unknown entity 'metrics': expected one of attributes\., tags\./],
    [
      "status = 'FAILED'",
      /unknown experiment attribute 'status': expected one of name, experiment_id, creation_time, last_update_time/,
    ],
    ["creation_time = '1'", /compares with numbers/],
    ["datasets.name = 'x'", /unknown entity 'datasets'/],
  ])('rejects %s', (text, pattern) => {
    const error = errorOf(() => parseExperimentFilter(text));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(pattern);
  });
});

// ---------------------------------------------------------------------------
// Property tests

const keyArb = fc.oneof(
  fc.constantFrom(
    'acc',
    'mlflow.runName',
    'f1 score',
    'a`b',
    "it's",
    'back\\slash',
    'x"y',
    'and',
    'or',
    '1.2',
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.string({ minLength: 1, maxLength: 6, unit: 'binary' }),
);
const stringArb = fc.oneof(
  fc.constantFrom('', "'", "''", '\\', "\\'", '%a_', 'x\\', '"', 'a\nb'),
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 6, unit: 'binary' }),
);
const numberArb = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e21, 5e-7, -1.5, Number.MAX_VALUE, Number.MIN_VALUE),
);
const numericOp = fc.constantFrom<Comparator>('=', '!=', '>', '>=', '<', '<=');
const stringOp = fc.constantFrom<Comparator>('=', '!=', 'LIKE', 'ILIKE');

function stringComparison(
  entity: Compare['entity'],
  key: fc.Arbitrary<string>,
  nullable: boolean,
): fc.Arbitrary<Compare> {
  const options: fc.Arbitrary<Compare>[] = [
    fc.tuple(key, stringOp, stringArb).map(([k, op, v]) => cmp(entity, k, op, v)),
    fc
      .tuple(
        key,
        fc.constantFrom<Comparator>('IN', 'NOT IN'),
        fc.array(stringArb, { minLength: 1, maxLength: 4 }),
      )
      .map(([k, op, v]) => cmp(entity, k, op, v)),
  ];
  if (nullable) {
    options.push(
      fc
        .tuple(key, fc.constantFrom<Comparator>('IS NULL', 'IS NOT NULL'))
        .map(([k, op]) => cmp(entity, k, op, null)),
    );
  }
  return fc.oneof(...options);
}

const compareArb: fc.Arbitrary<Compare> = fc.oneof(
  fc.tuple(keyArb, numericOp, numberArb).map(([k, op, v]) => cmp('metric', k, op, v)),
  stringComparison('param', keyArb, true),
  stringComparison('tag', keyArb, true),
  stringComparison(
    'attribute',
    fc.constantFrom('run_id', 'run_name', 'status', 'user_id', 'artifact_uri', 'lifecycle_stage'),
    true,
  ),
  fc
    .tuple(fc.constantFrom('start_time', 'end_time'), numericOp, numberArb)
    .map(([k, op, v]) => cmp('attribute', k, op, v)),
  stringComparison('dataset', fc.constantFrom('name', 'digest', 'context'), false),
);

const exprArb: fc.Arbitrary<FilterExpr> = fc.letrec<{ expr: FilterExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    compareArb,
    fc
      .array(tie('expr'), { minLength: 1, maxLength: 4 })
      .map((items): FilterExpr => ({ kind: 'and', items })),
    fc.array(tie('expr'), { minLength: 1, maxLength: 4 }).map((items): FilterExpr => ({ kind: 'or', items })),
  ),
})).expr;

/** The shape the parser returns: single items unwrapped, nested same-kind lists flattened. */
function normalize(expr: FilterExpr): FilterExpr {
  if (expr.kind === 'compare') return expr;
  const items: FilterExpr[] = [];
  for (const item of expr.items.map(normalize)) {
    if (item.kind === expr.kind) items.push(...item.items);
    else items.push(item);
  }
  return items.length === 1 && items[0] !== undefined ? items[0] : { kind: expr.kind, items };
}

describe('property: format then parse', () => {
  it('gives back an equivalent AST', () => {
    fc.assert(
      fc.property(exprArb, (expr) => {
        const text = formatFilter(expr);
        expect(parseRunFilter(text)).toEqual(normalize(expr));
      }),
      { numRuns: 2000 },
    );
  });
});

function expectOnlyInvalidArgument(text: string): void {
  try {
    parseRunFilter(text);
    parseExperimentFilter(text);
  } catch (error) {
    if (!isCairnError(error) || error.code !== 'INVALID_ARGUMENT' || error.field !== 'filter') throw error;
  }
}

const fragmentArb = fc.oneof(
  fc.constantFrom(
    'metrics.',
    'params.',
    'tags.',
    'attributes.',
    'datasets.',
    'acc',
    'status',
    'start_time',
    'name',
    '`',
    '"',
    "'",
    '\\',
    '(',
    ')',
    ',',
    '.',
    ' ',
    '=',
    '!=',
    '<',
    '>=',
    ' and ',
    ' OR ',
    ' LIKE ',
    ' ilike ',
    ' IN ',
    ' NOT ',
    ' IS ',
    ' NULL',
    '-',
    '1',
    '2.5e3',
    'e',
  ),
  fc.string({ maxLength: 3 }),
);

describe('property: arbitrary text', () => {
  it('only ever throws INVALID_ARGUMENT on random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60, unit: 'binary' }), expectOnlyInvalidArgument), {
      numRuns: 3000,
    });
  });

  it('only ever throws INVALID_ARGUMENT on grammar-shaped noise', () => {
    fc.assert(
      fc.property(fc.array(fragmentArb, { maxLength: 25 }), (parts) =>
        expectOnlyInvalidArgument(parts.join('')),
      ),
      { numRuns: 5000 },
    );
  });

  it('only ever throws INVALID_ARGUMENT on mutated valid filters', () => {
    fc.assert(
      fc.property(exprArb, fc.nat(), fc.nat(), (expr, a, b) => {
        const text = formatFilter(expr);
        const i = a % (text.length + 1);
        const j = b % (text.length + 1);
        expectOnlyInvalidArgument(text.slice(0, Math.min(i, j)) + text.slice(Math.max(i, j)));
      }),
      { numRuns: 2000 },
    );
  });
});
