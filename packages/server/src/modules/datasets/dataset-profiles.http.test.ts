import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Value } from '@sinclair/typebox/value';
import { DatasetDiffJson, TableJson } from '@cairn/contract';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSqlStores } from '../../adapters/sql/sql-stores.js';
import { describeEachDatabase } from '../../testing/test-databases.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';

const API = '/api/v1';

/** id, name, score, zip; `edit` may rewrite or drop (null) row i. */
function people(rows: number, edit: (i: number, cells: string[]) => string[] | null = (_i, c) => c): Buffer {
  const lines = ['id,name,score,zip'];
  for (let i = 0; i < rows; i++) {
    const cells = edit(i, [String(i), `name_${i}`, String(i % 100), String(10_000 + i)]);
    if (cells !== null) lines.push(cells.join(','));
  }
  return Buffer.from(lines.join('\n') + '\n');
}

const V1 = people(1000);
/*
 * v2: ids 0–19 removed, 50 scores changed (100–149), 30 rows added, zip
 * retyped BIGINT → DOUBLE with the same values, and a new boolean column.
 */
const V2 = Buffer.from(
  [
    'id,name,score,zip,flag',
    ...[...people(1030).toString().trim().split('\n').slice(1)].flatMap((line) => {
      const [id, name, score, zip] = line.split(',') as [string, string, string, string];
      const i = Number(id);
      if (i < 20) return [];
      const newScore = i >= 100 && i < 150 ? '500' : score;
      return [`${id},${name},${newScore},${zip}.0,${i % 2 === 0}`];
    }),
  ].join('\n') + '\n',
);

describeEachDatabase('dataset table profiles and diffs', ({ database }) => {
  let t: TestApp;
  let scratch: string;

  beforeAll(async () => {
    t = await createTestApp(database());
    scratch = mkdtempSync(path.join(os.tmpdir(), 'cairn-profiles-test-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function add(name: string, files: Record<string, Buffer>): Promise<any> {
    if ((await call(t.app, 'GET', `${API}/datasets/${name}`)).status === 404) {
      expect((await call(t.app, 'POST', `${API}/datasets`, { name })).status).toBe(200);
    }
    const begun = await call(t.app, 'POST', `${API}/datasets/${name}/uploads`, {});
    expect(begun.status).toBe(200);
    for (const [p, bytes] of Object.entries(files)) {
      const put = await t.app.inject({
        method: 'PUT',
        url: `${API}/datasets/${name}/uploads/${begun.body.uploadId}/files?path=${encodeURIComponent(p)}`,
        payload: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(put.statusCode, put.body).toBe(200);
    }
    const committed = await call(
      t.app,
      'POST',
      `${API}/datasets/${name}/uploads/${begun.body.uploadId}/commit`,
      {
        message: 'add',
      },
    );
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    return committed.body.version;
  }

  /** The version's tables once none is pending (the worker profiles in the background). */
  async function settledTables(name: string, ref: string | number): Promise<any[]> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const got = await call(t.app, 'GET', `${API}/datasets/${name}/versions/${ref}`);
      expect(got.status, JSON.stringify(got.body)).toBe(200);
      for (const table of got.body.tables)
        expect(Value.Check(TableJson, table), JSON.stringify(table)).toBe(true);
      if (!got.body.tables.some((table: any) => table.status === 'pending')) return got.body.tables;
      if (Date.now() > deadline) throw new Error(`tables of ${name}@${ref} still pending`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function diff(name: string, query: string) {
    const got = await call(t.app, 'GET', `${API}/datasets/${name}/diff?${query}`);
    if (got.status === 200)
      expect(Value.Check(DatasetDiffJson, got.body), JSON.stringify(got.body)).toBe(true);
    return got;
  }

  async function parquet(query: string): Promise<Buffer> {
    const target = path.join(scratch, `${Math.random().toString(36).slice(2)}.parquet`);
    const instance = await DuckDBInstance.create(':memory:');
    try {
      const connection = await instance.connect();
      await connection.run(`COPY (${query}) TO '${target}' (FORMAT parquet)`);
      connection.closeSync();
    } finally {
      instance.closeSync();
    }
    return readFileSync(target);
  }

  it('profiles the tables of each version in the background, and only tables', async () => {
    const readme = Buffer.from('people, weekly\n');
    const v1 = await add('people', { 'data/people.csv': V1, 'README.md': readme });
    const first = await call(t.app, 'GET', `${API}/datasets/people/versions/${v1.version}`);
    expect(first.body.tables).toHaveLength(1);
    expect(['pending', 'done']).toContain(first.body.tables[0].status);

    const [table] = await settledTables('people', 1);
    expect(table).toMatchObject({ path: 'data/people.csv', format: 'csv', status: 'done', error: null });
    expect(table.profile.rows).toBe(1000);
    expect(table.profile.columns.map((c: any) => [c.name, c.type])).toEqual([
      ['id', 'BIGINT'],
      ['name', 'VARCHAR'],
      ['score', 'BIGINT'],
      ['zip', 'BIGINT'],
    ]);

    const one = await call(t.app, 'GET', `${API}/datasets/people/versions/1/tables?path=data/people.csv`);
    expect(one.status).toBe(200);
    expect(one.body.tables).toEqual([table]);
    const none = await call(t.app, 'GET', `${API}/datasets/people/versions/1/tables?path=README.md`);
    expect(none.body.tables).toEqual([]);
    const reference = await t.app.cairn.services.tableProfiles.referenceProfile({
      name: 'people',
      ref: 'latest',
      path: 'data/people.csv',
    });
    expect(reference.table).toEqual(table);
  });

  it('diffs two versions: files, rows by key and by content, schema changes and shifts', async () => {
    await add('people', {
      'data/people.csv': V2,
      'README.md': Buffer.from('people, weekly\n'),
      'extra.csv': V1,
    });
    await settledTables('people', 2);

    const byKey = await diff('people', 'from=1&to=2&key=id');
    expect(byKey.status, JSON.stringify(byKey.body)).toBe(200);
    expect(byKey.body.from).toEqual({ dataset: 'people', version: 1 });
    expect(byKey.body.to).toEqual({ dataset: 'people', version: 2 });
    // A table new in v2 is a file added, not a table entry.
    expect(byKey.body.files).toEqual({ added: ['extra.csv'], removed: [], modified: ['data/people.csv'] });
    expect(byKey.body.tables).toHaveLength(1);
    const table = byKey.body.tables[0];
    expect(table).toMatchObject({
      path: 'data/people.csv',
      key: 'id',
      rowsAdded: 30,
      rowsRemoved: 20,
      rowsChanged: 50,
      rowsBefore: 1000,
      rowsAfter: 1010,
    });
    expect(table.error).toBeUndefined();
    expect(table.schemaChanges).toEqual([
      { column: 'zip', change: 'retyped', from: 'BIGINT', to: 'DOUBLE' },
      { column: 'flag', change: 'added', from: null, to: 'BOOLEAN' },
    ]);
    expect(table.statShifts.length).toBeGreaterThan(0);
    const scores = table.statShifts.map((s: any) => s.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(table.statShifts.some((s: any) => s.column === 'score' && s.stat === 'mean')).toBe(true);

    const byContent = await diff('people', 'from=1&to=latest');
    expect(byContent.body.tables[0]).toMatchObject({
      key: null,
      rowsAdded: 80,
      rowsRemoved: 70,
      rowsChanged: 0,
    });

    const backwards = await diff('people', 'from=2&to=1&key=id');
    expect(backwards.body.files).toEqual({
      added: [],
      removed: ['extra.csv'],
      modified: ['data/people.csv'],
    });
    expect(backwards.body.tables[0]).toMatchObject({ rowsAdded: 20, rowsRemoved: 30, rowsChanged: 50 });
  });

  it('answers an empty diff for identical versions', async () => {
    const same = await diff('people', 'from=2&to=2&key=id');
    expect(same.status).toBe(200);
    expect(same.body.files).toEqual({ added: [], removed: [], modified: [] });
    expect(same.body.tables).toEqual([]);
  });

  it('refuses bad references and a key no changed table has', async () => {
    expect((await diff('people', 'from=1&to=9')).status).toBe(404);
    expect((await diff('people', 'from=1&to=nosuchalias')).status).toBe(404);
    expect((await diff('people', 'from=1&to=-x')).status).toBe(400);
    expect((await diff('people', 'to=2')).status).toBe(400);
    expect((await diff('nobody', 'from=1&to=2')).status).toBe(404);
    const badKey = await diff('people', 'from=1&to=2&key=nope');
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.message).toMatch(/nope/);
    expect((await call(t.app, 'GET', `${API}/datasets/people/versions/7/tables`)).status).toBe(404);
  });

  it('keeps the diff of the other tables when the key is missing from one', async () => {
    const other = (i: number) => Buffer.from(`a,b\n${i},x\n`);
    await add('mixed', { 'keyed.csv': people(10), 'other.csv': other(1) });
    await add('mixed', { 'keyed.csv': people(11), 'other.csv': other(2) });
    const got = await diff('mixed', 'from=1&to=2&key=id');
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    const [keyed, loose] = got.body.tables;
    expect(keyed).toMatchObject({ path: 'keyed.csv', rowsAdded: 1, rowsRemoved: 0, rowsChanged: 0 });
    expect(loose).toMatchObject({
      path: 'other.csv',
      rowsAdded: 0,
      rowsRemoved: 0,
      rowsChanged: 0,
      rowsBefore: 1,
    });
    expect(loose.error).toMatch(/key column "id"/);
  });

  it('profiles a ragged CSV with a warning, and JSON lines and Parquet', async () => {
    const ragged = Buffer.from('a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n');
    const jsonl = Buffer.from('{"x":1,"y":"a"}\n{"x":2,"y":"b"}\n{"x":3,"y":null}\n');
    const pq = await parquet(`SELECT range AS id, 'v' || (range % 7) AS label FROM range(500)`);
    await add('formats', {
      'ragged.csv': ragged,
      'rows.jsonl': jsonl,
      'table.parquet': pq,
      'notes.txt': ragged,
    });
    const tables = await settledTables('formats', 1);
    expect(tables.map((table) => [table.path, table.format])).toEqual([
      ['ragged.csv', 'csv'],
      ['rows.jsonl', 'jsonl'],
      ['table.parquet', 'parquet'],
    ]);
    const [bad, json, columnar] = tables;
    if (bad.status === 'done') {
      expect(bad.profile.warnings.length).toBeGreaterThan(0);
      expect(bad.profile.rejectedRows).toBeGreaterThan(0);
    } else {
      expect(bad).toMatchObject({ status: 'failed', profile: null });
      expect(bad.error).toMatch(/\S/);
    }
    expect(json).toMatchObject({ status: 'done' });
    expect(json.profile.rows).toBe(3);
    expect(json.profile.columns.map((c: any) => c.name)).toEqual(['x', 'y']);
    expect(columnar).toMatchObject({ status: 'done' });
    expect(columnar.profile).toMatchObject({ format: 'parquet', rows: 500 });

    // The server is still up and well after the ragged file.
    expect((await call(t.app, 'GET', `${API}/datasets/formats`)).status).toBe(200);
  });

  it('picks up profiles a restart left pending', async () => {
    const [table] = await settledTables('people', 1);
    const stores = createSqlStores(database().db, database().helpers);
    await stores.datasets.upsertProfile({
      objectDigest: table.digest,
      format: 'csv',
      status: 'pending',
      profile: null,
      error: null,
      updatedAt: Date.now(),
    });
    expect((await call(t.app, 'GET', `${API}/datasets/people/versions/1`)).body.tables[0].status).toBe(
      'pending',
    );
    // A second server on the same database and blobs starts with the queue as it finds it.
    const restarted = await createTestApp(database(), { blobs: t.app.cairn.blobs });
    try {
      const [again] = await settledTables('people', 1);
      expect(again).toEqual(table);
    } finally {
      await restarted.close();
    }
  });
});
