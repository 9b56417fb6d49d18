import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import { openDatabase } from './adapters/sql/database.js';
import { createSqlTransactor } from './adapters/sql/sql-stores.js';
import { dataDirLocations, verifyAuditStore } from './audit-store-verify.js';
import { createTestDatabaseUrl, isPostgresReachable, TEST_PG_URL } from './testing/test-databases.js';

const codeOf = async (work: () => Promise<unknown>): Promise<string> => {
  try {
    await work();
    return 'ok';
  } catch (error) {
    if (isCairnError(error)) return error.code;
    throw error;
  }
};

const dialects = (await isPostgresReachable()) ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

describe.each(dialects)('verifyAuditStore [%s]', (dialect) => {
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const drop of drops) await drop();
  });

  it('checks a chain written through the transactor, and writes nothing itself', async () => {
    const target = await createTestDatabaseUrl(dialect);
    drops.push(target.drop);
    const database = openDatabase(target.url);
    await database.migrate();
    const transactor = createSqlTransactor(database, { now: () => 1_700_000_000_000 });
    for (let i = 0; i < 30; i++) {
      await transactor.run(async ({ audit }) => {
        audit.record({ action: 'test.write', target: { kind: 'thing', id: String(i) }, details: { i } });
      });
    }
    const before = dialect === 'sqlite' ? statSync(target.url.slice('sqlite:'.length)).mtimeMs : Number.NaN;
    const progress: number[] = [];
    expect(await verifyAuditStore({ dbUrl: target.url, onProgress: (n) => progress.push(n) })).toEqual({
      ok: true,
      events: 30,
      firstSeq: 1,
      lastSeq: 30,
      lastHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      checkpoints: 0,
    });
    expect(progress[progress.length - 1]).toBe(30);
    if (dialect === 'sqlite') expect(statSync(target.url.slice('sqlite:'.length)).mtimeMs).toBe(before);
    await database.close();
  });

  it('refuses a database that is not a Cairn one, without creating anything in it', async () => {
    if (dialect === 'sqlite') {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-verify-'));
      drops.push(async () => rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'other.db');
      new BetterSqlite3(file).exec('create table notes (id integer)');
      expect(await codeOf(() => verifyAuditStore({ dbUrl: `sqlite:${file}` }))).toBe('FAILED_PRECONDITION');
      const tables = new BetterSqlite3(file, { readonly: true })
        .prepare("select name from sqlite_master where type = 'table'")
        .all();
      expect(tables).toEqual([{ name: 'notes' }]);
      const missing = path.join(dir, 'missing.db');
      expect(await codeOf(() => verifyAuditStore({ dbUrl: `sqlite:${missing}` }))).toBe('NOT_FOUND');
      expect(() => statSync(missing)).toThrow();
      writeFileSync(path.join(dir, 'cairn.db'), '');
      expect(dataDirLocations(dir).dbUrl).toBe(`sqlite:${path.join(dir, 'cairn.db')}`);
    } else {
      const schema = `t_empty_${Date.now().toString(36)}`;
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      await client.query(`create schema ${schema}`);
      drops.push(async () => {
        await client.query(`drop schema if exists ${schema} cascade`);
        await client.end();
      });
      const url = new URL(TEST_PG_URL);
      url.searchParams.set('schema', schema);
      expect(await codeOf(() => verifyAuditStore({ dbUrl: url.toString() }))).toBe('FAILED_PRECONDITION');
      const tables = await client.query(
        `select table_name from information_schema.tables where table_schema = $1`,
        [schema],
      );
      expect(tables.rows).toEqual([]);
      url.searchParams.set('schema', 'Bad-Name');
      expect(await codeOf(() => verifyAuditStore({ dbUrl: url.toString() }))).toBe('INVALID_ARGUMENT');
    }
    expect(await codeOf(() => verifyAuditStore({ dbUrl: 'mysql://localhost/x' }))).toBe('INVALID_ARGUMENT');
  });
});
