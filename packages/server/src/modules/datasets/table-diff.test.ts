import type { ColumnProfileJson, TableProfileJson } from '@cairn/contract';
import { describe, expect, it } from 'vitest';
import { tableFormatOf } from './table-analytics.js';
import { schemaChanges, statShifts } from './table-diff.js';

function column(name: string, fields: Partial<ColumnProfileJson> = {}): ColumnProfileJson {
  return {
    name,
    type: 'DOUBLE',
    kind: 'numeric',
    nulls: 0,
    distinct: 100,
    min: 0,
    max: 10,
    mean: 5,
    std: 2,
    quantiles: null,
    histogram: null,
    topValues: null,
    ...fields,
  };
}

function table(columns: ColumnProfileJson[], rows = 1000): TableProfileJson {
  return { format: 'csv', rows, columns, warnings: [], rejectedRows: 0 };
}

describe('schemaChanges', () => {
  it('lists removed, retyped and added columns', () => {
    const before = table([
      column('id', { type: 'BIGINT' }),
      column('gone'),
      column('price', { type: 'BIGINT' }),
    ]);
    const after = table([
      column('id', { type: 'BIGINT' }),
      column('price'),
      column('new', { type: 'VARCHAR' }),
    ]);
    expect(schemaChanges(before, after)).toEqual([
      { column: 'gone', change: 'removed', from: 'DOUBLE', to: null },
      { column: 'price', change: 'retyped', from: 'BIGINT', to: 'DOUBLE' },
      { column: 'new', change: 'added', from: null, to: 'VARCHAR' },
    ]);
  });

  it('is empty for the same schema', () => {
    const profile = table([column('a'), column('b')]);
    expect(schemaChanges(profile, profile)).toEqual([]);
  });
});

describe('statShifts', () => {
  it('finds nothing between equal profiles', () => {
    const profile = table([column('a'), column('b', { kind: 'string', type: 'VARCHAR', topValues: [] })]);
    expect(statShifts(profile, profile)).toEqual([]);
  });

  it('measures a mean shift in standard deviations of the before table', () => {
    const shifts = statShifts(table([column('x')]), table([column('x', { mean: 8 })]));
    expect(shifts).toEqual([{ column: 'x', stat: 'mean', from: 5, to: 8, score: 1.5 }]);
  });

  it('falls back to relative change for a constant column', () => {
    const before = table([column('x', { std: 0, mean: 4, min: 4, max: 4 })]);
    const after = table([column('x', { std: 0, mean: 5, min: 4, max: 4 })]);
    expect(statShifts(before, after)).toEqual([{ column: 'x', stat: 'mean', from: 4, to: 5, score: 0.25 }]);
  });

  it('scores a doubled std as 1 and ranks shifts across columns, biggest first', () => {
    const before = table([column('a'), column('b'), column('c', { nulls: 0 })]);
    const after = table([column('a', { std: 4 }), column('b', { mean: 5.4 }), column('c', { nulls: 300 })]);
    expect(statShifts(before, after).map((s) => [s.column, s.stat, s.score])).toEqual([
      ['a', 'std', 1],
      ['c', 'nullRate', 0.3],
      ['b', 'mean', expect.closeTo(0.2, 10)],
    ]);
  });

  it('ignores small distinct-count changes that HyperLogLog would produce anyway', () => {
    const before = table([column('a', { distinct: 1000 })]);
    expect(statShifts(before, table([column('a', { distinct: 1050 })]))).toEqual([]);
    expect(statShifts(before, table([column('a', { distinct: 2000 })]))).toEqual([
      { column: 'a', stat: 'distinct', from: 1000, to: 2000, score: 1 },
    ]);
  });

  it('reports the value whose share moved most', () => {
    const strings = { kind: 'string', type: 'VARCHAR', mean: null, std: null, min: null, max: null };
    const before = table([
      column('color', {
        ...strings,
        topValues: [
          { value: 'red', count: 600 },
          { value: 'blue', count: 400 },
        ],
      }),
    ]);
    const after = table([
      column('color', {
        ...strings,
        topValues: [
          { value: 'red', count: 300 },
          { value: 'blue', count: 400 },
          { value: 'green', count: 300 },
        ],
      }),
    ]);
    expect(statShifts(before, after)).toEqual([
      {
        column: 'color',
        stat: 'topValues',
        from: 'red (60.0%)',
        to: 'red (30.0%)',
        score: expect.closeTo(0.3, 10),
      },
    ]);
  });

  it('bounds the share of a value that fell out of a full top-10 list', () => {
    const strings = { kind: 'string', type: 'VARCHAR', mean: null, std: null, min: null, max: null };
    const ten = (first: string) => [
      { value: first, count: 500 },
      ...Array.from({ length: 9 }, (_, i) => ({ value: `v${i}`, count: 50 })),
    ];
    const shifts = statShifts(
      table([column('s', { ...strings, topValues: ten('old') })]),
      table([column('s', { ...strings, topValues: ten('new') })]),
    );
    // "old" had 50%; after, it is not listed, so it has at most 5% (the smallest listed share).
    expect(shifts).toEqual([
      {
        column: 's',
        stat: 'topValues',
        from: 'old (50.0%)',
        to: 'old (≤ 5.0%)',
        score: expect.closeTo(0.45, 10),
      },
    ]);
  });

  it('compares a boolean mean as the share of true values', () => {
    const flags = { kind: 'boolean', type: 'BOOLEAN', std: null, min: false, max: true, distinct: 2 };
    const shifts = statShifts(
      table([column('f', { ...flags, mean: 0.1 })]),
      table([column('f', { ...flags, mean: 0.4 })]),
    );
    expect(shifts).toEqual([
      { column: 'f', stat: 'mean', from: 0.1, to: 0.4, score: expect.closeTo(0.3, 10) },
    ]);
  });

  it('skips columns whose kind changed and honours the limit', () => {
    const before = table([column('a'), column('b'), column('c')]);
    const after = table([
      column('a', { kind: 'string', type: 'VARCHAR', mean: null, std: null }),
      column('b', { mean: 9, std: 8 }),
      column('c', { mean: 9 }),
    ]);
    const shifts = statShifts(before, after, 2);
    expect(shifts).toHaveLength(2);
    expect(shifts.every((s) => s.column !== 'a')).toBe(true);
    expect(shifts[0]?.score).toBeGreaterThanOrEqual(shifts[1]?.score ?? Infinity);
  });
});

describe('tableFormatOf', () => {
  it.each([
    ['data/train.csv', 'csv'],
    ['data/TRAIN.CSV', 'csv'],
    ['x.tsv', 'csv'],
    ['x.parquet', 'parquet'],
    ['x.PQ', 'parquet'],
    ['logs/a.jsonl', 'jsonl'],
    ['logs/a.ndjson', 'jsonl'],
    ['model.onnx', undefined],
    ['csv', undefined],
    ['dir.csv/readme', undefined],
    ['.csv', undefined],
  ])('%s → %s', (path, format) => {
    expect(tableFormatOf(path)).toBe(format);
  });
});
