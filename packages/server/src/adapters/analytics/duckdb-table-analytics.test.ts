import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCairnError, TableProfileJson, type TableFormat } from '@cairn/contract';
import { DuckDBInstance } from '@duckdb/node-api';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaChanges } from '../../modules/datasets/table-diff.js';
import { DuckDbTableAnalytics } from './duckdb-table-analytics.js';

let dir: string;
let analytics: DuckDbTableAnalytics;
let scratch: DuckDBInstance;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-table-analytics-'));
  analytics = new DuckDbTableAnalytics({ tempDirectory: path.join(dir, 'spill') });
  scratch = await DuckDBInstance.create(':memory:');
});

afterAll(async () => {
  await analytics.close();
  scratch.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer, format: TableFormat = 'csv') {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return { path: target, format };
}

/** Writes a file with DuckDB itself, for Parquet and for big generated tables. */
async function copy(name: string, query: string, format: 'csv' | 'parquet') {
  const target = path.join(dir, name);
  const connection = await scratch.connect();
  try {
    await connection.run(`COPY (${query}) TO '${target}' (FORMAT ${format})`);
  } finally {
    connection.closeSync();
  }
  return { path: target, format };
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isCairnError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the call to fail');
}

const PEOPLE = [
  'id,name,score,joined,active',
  '1,alice,3.5,2024-01-02,true',
  '2,bob,,2024-02-03,false',
  '3,,7.5,,true',
  '4,alice,1.0,2023-12-31,true',
  '5,carol,8.0,2024-03-01,',
].join('\n');

describe('DuckDbTableAnalytics.profile', () => {
  it('describes numbers, strings, nulls, dates and booleans of a CSV', async () => {
    const profile = await analytics.profile(file('people.csv', PEOPLE));
    expect(Value.Check(TableProfileJson, profile)).toBe(true);
    expect(profile).toMatchObject({ format: 'csv', rows: 5, warnings: [], rejectedRows: 0 });
    const byName = Object.fromEntries(profile.columns.map((c) => [c.name, c]));
    expect(profile.columns.map((c) => [c.name, c.type, c.kind])).toEqual([
      ['id', 'BIGINT', 'numeric'],
      ['name', 'VARCHAR', 'string'],
      ['score', 'DOUBLE', 'numeric'],
      ['joined', 'DATE', 'temporal'],
      ['active', 'BOOLEAN', 'boolean'],
    ]);
    expect(byName['id']).toMatchObject({ nulls: 0, distinct: 5, min: 1, max: 5, mean: 3 });
    expect(byName['id']?.std).toBeCloseTo(Math.sqrt(2.5), 10);
    expect(byName['id']?.quantiles).toMatchObject({ p50: 3, p25: 2, p75: 4 });
    const histogram = byName['score']?.histogram ?? [];
    expect(histogram).toHaveLength(20);
    expect(histogram[0]).toMatchObject({ lower: 1, count: 1 });
    expect(histogram.at(-1)).toMatchObject({ upper: 8, count: 1 });
    expect(histogram.reduce((sum, bin) => sum + bin.count, 0)).toBe(4);
    expect(byName['score']).toMatchObject({ nulls: 1, min: 1, max: 8, mean: 5 });
    expect(byName['name']).toMatchObject({
      nulls: 1,
      distinct: 3,
      min: 'alice',
      max: 'carol',
      mean: null,
      histogram: null,
      topValues: [
        { value: 'alice', count: 2 },
        { value: 'bob', count: 1 },
        { value: 'carol', count: 1 },
      ],
    });
    expect(byName['joined']).toMatchObject({
      nulls: 1,
      min: '2023-12-31',
      max: '2024-03-01',
      quantiles: null,
    });
    expect(byName['active']).toMatchObject({ nulls: 1, min: false, max: true, mean: 0.75 });
  });

  it('reports ragged CSV rows instead of failing', async () => {
    const ragged = [
      'a,b,c',
      '1,x,2',
      '2,y,3',
      '3,z',
      '4,w,5,extra',
      '5,v,6',
      ...Array.from({ length: 20 }, (_, i) => `${i + 6},q,${i}`),
    ];
    const profile = await analytics.profile(file('ragged.csv', ragged.join('\n')));
    expect(profile.rows).toBe(23);
    expect(profile.rejectedRows).toBe(2);
    expect(profile.warnings).toEqual([
      '2 rows have a different number of fields than the header and were skipped; first at line 4',
    ]);
    expect(profile.columns.map((c) => c.type)).toEqual(['BIGINT', 'VARCHAR', 'BIGINT']);
  });

  it('reads a tab-separated file through the CSV reader', async () => {
    const profile = await analytics.profile(file('tabs.tsv', 'a\tb\n1\tx\n2\ty\n'));
    expect(profile.columns.map((c) => c.name)).toEqual(['a', 'b']);
    expect(profile.rows).toBe(2);
  });

  it('profiles Parquet with wide integers, decimals, NaN and infinities as plain JSON numbers', async () => {
    const parquet = await copy(
      'numbers.parquet',
      `SELECT i::BIGINT * 1000000000000 AS big, i::UBIGINT * 1000000000000000000 AS huge,
              (i / 4)::DECIMAL(18, 3) AS price,
              CASE i WHEN 1 THEN 'NaN'::DOUBLE WHEN 2 THEN 'inf'::DOUBLE ELSE i::DOUBLE END AS x,
              TIMESTAMP '2024-01-01 10:00:00' + INTERVAL (i) HOUR AS at
         FROM range(1, 11) t(i)`,
      'parquet',
    );
    const profile = await analytics.profile(parquet);
    expect(Value.Check(TableProfileJson, profile)).toBe(true);
    const byName = Object.fromEntries(profile.columns.map((c) => [c.name, c]));
    expect(byName['big']).toMatchObject({ type: 'BIGINT', min: 1e12, max: 1e13, mean: 5.5e12 });
    // Beyond 2^53 a JS number is the nearest double, which is all a profile needs.
    expect(byName['huge']).toMatchObject({ type: 'UBIGINT', min: 1e18, max: 1e19 });
    expect(byName['price']).toMatchObject({ type: 'DECIMAL(18,3)', min: 0.25, max: 2.5 });
    // Statistics skip NaN and infinity, which JSON cannot carry.
    expect(byName['x']).toMatchObject({ nulls: 0, min: 3, max: 10 });
    expect(JSON.stringify(profile)).not.toMatch(/NaN|Infinity/);
    expect(byName['at']).toMatchObject({
      kind: 'temporal',
      min: '2024-01-01T11:00:00',
      max: '2024-01-01T20:00:00',
    });
  });

  it('profiles JSON Lines, nested values as "other" and bad lines as a warning', async () => {
    const lines = [
      '{"a": 1, "tags": ["x"], "meta": {"k": 1}}',
      '{"a": 2, "tags": []}',
      'not json',
      '{"a": 3}',
    ];
    const profile = await analytics.profile(file('rows.jsonl', lines.join('\n'), 'jsonl'));
    expect(profile.rows).toBe(4);
    expect(profile.columns.map((c) => [c.name, c.kind])).toEqual([
      ['a', 'numeric'],
      ['tags', 'other'],
      ['meta', 'other'],
    ]);
    expect(profile.warnings).toEqual([
      'the file has lines that are not valid JSON, read as rows of nulls; first at line 3',
    ]);
    const clean = await analytics.profile(file('clean.jsonl', '{"a": 1}\n{"a": 2}\n', 'jsonl'));
    expect(clean).toMatchObject({ rows: 2, warnings: [] });
  });

  it('answers an empty file with an empty profile and a header-only CSV with columns and no rows', async () => {
    expect(await analytics.profile(file('empty.csv', ''))).toEqual({
      format: 'csv',
      rows: 0,
      columns: [],
      warnings: ['the file is empty'],
      rejectedRows: 0,
    });
    const header = await analytics.profile(file('header.csv', 'a,b\n'));
    expect(header.rows).toBe(0);
    expect(header.columns.map((c) => [c.name, c.nulls, c.distinct])).toEqual([
      ['a', 0, 0],
      ['b', 0, 0],
    ]);
  });

  it('turns a binary file named .csv and a corrupt Parquet file into INVALID_ARGUMENT', async () => {
    const noise = Buffer.alloc(5000);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i >> 3) * 31) % 256;
    const binary = await failure(analytics.profile(file('noise.csv', noise)));
    expect(binary.code).toBe('INVALID_ARGUMENT');
    expect(binary.message).toMatch(/^cannot read the file as CSV: /);
    const corrupt = await failure(analytics.profile(file('corrupt.parquet', noise, 'parquet')));
    expect(corrupt.code).toBe('INVALID_ARGUMENT');
    expect(corrupt.message).toMatch(/^cannot read the file as Parquet: /);
    // Cairn's temporary paths stay out of messages.
    expect(corrupt.message).not.toContain(dir);
  });

  it('quotes hostile column names', async () => {
    const header = ['"we""ird"', 'with space', 'ünïcødé ✓', `"'; DROP TABLE x; --"`, 'select'].join(',');
    const profile = await analytics.profile(
      file('hostile.csv', `${header}\n1,a,2.5,x,true\n2,b,3.5,y,false\n`),
    );
    expect(profile.columns.map((c) => c.name)).toEqual([
      'we"ird',
      'with space',
      'ünïcødé ✓',
      "'; DROP TABLE x; --",
      'select',
    ]);
    expect(profile.columns[2]).toMatchObject({ min: 2.5, max: 3.5 });
  });
});

describe('DuckDbTableAnalytics.diff', () => {
  const before = ['id,name,amount,note', '1,alice,10,a', '2,bob,20,b', '3,carol,30,c', '4,dave,40,d'].join(
    '\n',
  );
  // 1 unchanged (amount now DOUBLE, same value), 2 changed, 3 removed, 4 unchanged, 5 added; note dropped.
  const after = ['id,name,amount,extra', '1,alice,10.0,x', '2,bob,21.5,y', '4,dave,40,z', '5,erin,50,w'].join(
    '\n',
  );

  it('matches rows by key: added, removed, changed, with a retyped column compared by value', async () => {
    const b = file('before.csv', before);
    const a = file('after.csv', after);
    expect(await analytics.diff(b, a, { key: 'id' })).toEqual({
      rowsAdded: 1,
      rowsRemoved: 1,
      rowsChanged: 1,
      rowsBefore: 4,
      rowsAfter: 4,
      key: 'id',
    });
    const profiles = [await analytics.profile(b), await analytics.profile(a)] as const;
    expect(schemaChanges(...profiles)).toEqual([
      { column: 'amount', change: 'retyped', from: 'BIGINT', to: 'DOUBLE' },
      { column: 'note', change: 'removed', from: 'VARCHAR', to: null },
      { column: 'extra', change: 'added', from: null, to: 'VARCHAR' },
    ]);
  });

  it('compares rows by content without a key', async () => {
    const b = file('content-before.csv', 'x,y\n1,a\n1,a\n2,b\n3,c\n');
    const a = file('content-after.csv', 'x,y\n1,a\n2,b\n3,C\n4,d\n');
    expect(await analytics.diff(b, a, {})).toEqual({
      rowsAdded: 2,
      rowsRemoved: 2,
      rowsChanged: 0,
      rowsBefore: 4,
      rowsAfter: 4,
      key: null,
    });
  });

  it('pairs repeated keys as multisets', async () => {
    const b = file('dup-before.csv', 'k,v\n1,a\n1,b\n2,c\n');
    const a = file('dup-after.csv', 'k,v\n1,a\n1,z\n1,y\n2,c\n');
    // Key 1: two rows before, three after → one added; of the two pairs, "a" matches and "b" → "z" changed.
    expect(await analytics.diff(b, a, { key: 'k' })).toMatchObject({
      rowsAdded: 1,
      rowsRemoved: 0,
      rowsChanged: 1,
    });
  });

  it('rejects a key column that is not in both tables, naming the usable ones', async () => {
    const b = file('key-before.csv', before);
    const a = file('key-after.csv', after);
    const missing = await failure(analytics.diff(b, a, { key: 'note' }));
    expect(missing).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'key column "note" is not a column of both tables; columns in both: "id", "name", "amount"',
    });
    expect(await analytics.diff(b, a, { key: 'ID' })).toMatchObject({ key: 'id', rowsChanged: 1 });
  });

  it('diffs by a hostile key column', async () => {
    const header = '"k ""q"" ✓",v';
    const b = file('hostile-before.csv', `${header}\n1,a\n2,b\n`);
    const a = file('hostile-after.csv', `${header}\n1,a\n2,c\n3,d\n`);
    expect(await analytics.diff(b, a, { key: 'k "q" ✓' })).toMatchObject({
      rowsAdded: 1,
      rowsRemoved: 0,
      rowsChanged: 1,
      key: 'k "q" ✓',
    });
  });

  it('treats an empty side as a table without rows', async () => {
    const empty = file('diff-empty.csv', '');
    const full = file('diff-full.csv', 'id,v\n1,a\n2,b\n');
    expect(await analytics.diff(empty, full, { key: 'id' })).toMatchObject({
      rowsAdded: 2,
      rowsRemoved: 0,
      rowsAfter: 2,
    });
    expect(await analytics.diff(full, empty, {})).toMatchObject({
      rowsAdded: 0,
      rowsRemoved: 2,
      rowsBefore: 2,
    });
  });

  it('diffs 200k-row tables', async () => {
    const rows = (changed: boolean) =>
      `SELECT i AS id, 'name ' || i AS name, ${changed ? 'CASE WHEN i % 100 = 7 THEN i * 2 ELSE i END' : 'i'} AS value
         FROM range(${changed ? 1000 : 0}, 200000) t(i)`;
    const b = await copy('big-before.csv', rows(false), 'csv');
    const a = await copy(
      'big-after.csv',
      `${rows(true)} UNION ALL SELECT i, 'new', 0 FROM range(200000, 205000) t(i)`,
      'csv',
    );
    expect(await analytics.diff(b, a, { key: 'id' })).toEqual({
      rowsAdded: 5000,
      rowsRemoved: 1000,
      rowsChanged: 1990,
      rowsBefore: 200000,
      rowsAfter: 204000,
      key: 'id',
    });
    const profile = await analytics.profile(a);
    expect(profile.rows).toBe(204000);
    expect(profile.columns[0]).toMatchObject({ min: 1000, max: 204999, nulls: 0 });
  });
});

describe('DuckDbTableAnalytics lifecycle', () => {
  it('stops an operation that runs past its time limit', async () => {
    const hasty = new DuckDbTableAnalytics({ tempDirectory: path.join(dir, 'spill-3'), timeoutMs: 1 });
    try {
      const big = await copy('slow.csv', `SELECT i, 'text ' || i AS s FROM range(200000) t(i)`, 'csv');
      const stopped = await failure(hasty.profile(big));
      expect(stopped).toEqual({
        code: 'RESOURCE_EXHAUSTED',
        message: 'table analysis took longer than 1 ms and was stopped',
      });
    } finally {
      await hasty.close();
    }
  });

  it('refuses work after close', async () => {
    const closing = new DuckDbTableAnalytics({ tempDirectory: path.join(dir, 'spill-2') });
    const csv = file('life.csv', 'a\n1\n');
    await closing.profile(csv);
    await closing.close();
    expect((await failure(closing.profile(csv))).code).toBe('UNAVAILABLE');
  });
});
