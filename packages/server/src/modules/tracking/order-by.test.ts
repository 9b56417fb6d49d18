import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_ORDER_BY_CLAUSES,
  parseExperimentOrderBy,
  parseRunOrderBy,
  type OrderClause,
} from './order-by.js';

function errorOf(run: () => unknown): { code: string; field: string | undefined; message: string } {
  try {
    run();
  } catch (error) {
    if (!isCairnError(error)) throw error;
    return { code: error.code, field: error.field, message: error.message };
  }
  throw new Error('expected the parser to throw');
}

describe('parseRunOrderBy', () => {
  it.each<[string, OrderClause]>([
    ['metrics.acc DESC', { entity: 'metric', key: 'acc', ascending: false }],
    ['metrics.acc', { entity: 'metric', key: 'acc', ascending: true }],
    ['metric.`f1 score` desc', { entity: 'metric', key: 'f1 score', ascending: false }],
    ['params.lr', { entity: 'param', key: 'lr', ascending: true }],
    ['params.lr asc', { entity: 'param', key: 'lr', ascending: true }],
    ['tags.`mlflow.user`', { entity: 'tag', key: 'mlflow.user', ascending: true }],
    ['tags."a b" DESC', { entity: 'tag', key: 'a b', ascending: false }],
    ['tags.mlflow.runName', { entity: 'tag', key: 'mlflow.runName', ascending: true }],
    ['attributes.start_time ASC', { entity: 'attribute', key: 'start_time', ascending: true }],
    ['start_time', { entity: 'attribute', key: 'start_time', ascending: true }],
    ['  end_time   DESC  ', { entity: 'attribute', key: 'end_time', ascending: false }],
    ['created DESC', { entity: 'attribute', key: 'start_time', ascending: false }],
    ['run_name', { entity: 'attribute', key: 'run_name', ascending: true }],
    ['attr.status', { entity: 'attribute', key: 'status', ascending: true }],
  ])('%s', (text, expected) => {
    expect(parseRunOrderBy([text])).toEqual([expected]);
  });

  it('keeps the clauses in order', () => {
    expect(parseRunOrderBy(['metrics.a DESC', 'params.b'])).toEqual([
      { entity: 'metric', key: 'a', ascending: false },
      { entity: 'param', key: 'b', ascending: true },
    ]);
    expect(parseRunOrderBy([])).toEqual([]);
  });

  it.each<[string, RegExp]>([
    ['', /empty clause at position 0/],
    ['   ', /empty clause/],
    [
      'metrics.acc DESCENDING',
      /expected ASC, DESC or the end of the clause, found 'DESCENDING' at position 12/,
    ],
    ['metrics.acc DESC x', /expected the end of the clause, found 'x' at position 17/],
    ['foo', /unknown run attribute 'foo': expected one of run_id/],
    ['datasets.name', /runs cannot be ordered by dataset fields at position 0/],
    ['bogus.x', /unknown entity 'bogus'/],
    ['metrics.', /expected a key after 'metrics\.'/],
    ['tags.`x', /unterminated key/],
    ['metrics.acc > 1', /expected ASC, DESC/],
  ])('rejects %j', (text, pattern) => {
    const error = errorOf(() => parseRunOrderBy([text]));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'order_by' });
    expect(error.message).toMatch(/^Invalid order_by clause "/);
    expect(error.message).toMatch(pattern);
  });

  it('limits the number of clauses', () => {
    const many = Array.from({ length: MAX_ORDER_BY_CLAUSES + 1 }, () => 'metrics.a');
    expect(errorOf(() => parseRunOrderBy(many))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'order_by',
    });
    expect(parseRunOrderBy(many.slice(1))).toHaveLength(MAX_ORDER_BY_CLAUSES);
    expect(errorOf(() => parseRunOrderBy(['x'.repeat(5000)])).code).toBe('INVALID_ARGUMENT');
  });

  it('only ever throws INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: 'binary' }), (text) => {
        try {
          parseRunOrderBy([text]);
          parseExperimentOrderBy([text]);
        } catch (error) {
          if (!isCairnError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseExperimentOrderBy', () => {
  it('accepts experiment attributes and tags', () => {
    expect(
      parseExperimentOrderBy([
        'name',
        'experiment_id DESC',
        'creation_time',
        'attributes.last_update_time desc',
        'tags.team',
      ]),
    ).toEqual([
      { entity: 'attribute', key: 'name', ascending: true },
      { entity: 'attribute', key: 'experiment_id', ascending: false },
      { entity: 'attribute', key: 'creation_time', ascending: true },
      { entity: 'attribute', key: 'last_update_time', ascending: false },
      { entity: 'tag', key: 'team', ascending: true },
    ]);
  });

  it('rejects run fields', () => {
    expect(errorOf(() => parseExperimentOrderBy(['start_time'])).message).toMatch(
      /unknown experiment attribute 'start_time': expected one of name, experiment_id, creation_time, last_update_time/,
    );
    expect(errorOf(() => parseExperimentOrderBy(['metrics.acc'])).message).toMatch(
      /unknown entity 'metrics'/,
    );
  });
});
