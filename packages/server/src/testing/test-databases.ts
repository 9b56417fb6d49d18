import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { openDatabase, type MetadataDatabase } from '../adapters/sql/database.js';

export type TestDialect = 'sqlite' | 'postgres';

export const TEST_PG_URL = process.env['CAIRN_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRE_PG = process.env['CAIRN_REQUIRE_PG'] === '1' || process.env['CAIRN_REQUIRE_PG'] === 'true';

let pgReachable: Promise<boolean> | undefined;

async function probePostgres(): Promise<boolean> {
  let lastError: unknown;
  // A loaded 2-core machine can be slow to accept; try a few times before deciding.
  for (let attempt = 0; attempt < 3; attempt++) {
    const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  if (REQUIRE_PG) {
    throw new Error(
      `CAIRN_REQUIRE_PG is set but PostgreSQL at ${TEST_PG_URL} is unreachable: ${(lastError as Error).message}`,
    );
  }
  console.warn(`PostgreSQL probe failed: ${(lastError as Error).message}`);
  return false;
}

export function isPostgresReachable(): Promise<boolean> {
  pgReachable ??= probePostgres();
  return pgReachable;
}

/** A fresh database URL of the dialect, private to the caller; `drop()` removes it. */
export interface TestDatabaseUrl {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabaseUrl(dialect: TestDialect): Promise<TestDatabaseUrl> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-test-'));
    return {
      url: `sqlite:${path.join(dir, 'cairn.db')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`;
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function openTestDatabase(
  dialect: TestDialect,
): Promise<MetadataDatabase & { drop(): Promise<void> }> {
  const target = await createTestDatabaseUrl(dialect);
  const database = openDatabase(target.url);
  try {
    await database.migrate();
  } catch (error) {
    await database.close().catch(() => undefined);
    await target.drop().catch(() => undefined);
    throw error;
  }
  return Object.assign(database, {
    drop: async () => {
      await database.close();
      await target.drop();
    },
  });
}

const pgAvailable = await (async () => {
  const reachable = await isPostgresReachable();
  if (!reachable) {
    console.warn(
      `\n⚠  PostgreSQL at ${TEST_PG_URL} is unreachable: PostgreSQL suites are SKIPPED. ` +
        'Set CAIRN_REQUIRE_PG=1 to make this an error.\n',
    );
  }
  return reachable;
})();

/**
 * Runs a suite once per dialect, each on a fresh migrated database (a temp
 * SQLite file; a new PostgreSQL schema), so test files run in parallel without
 * clean-up. The PostgreSQL copy is skipped with a notice only when the server
 * is unreachable and CAIRN_REQUIRE_PG is unset.
 */
export function describeEachDatabase(
  name: string,
  suite: (context: { dialect: TestDialect; database: () => MetadataDatabase }) => void,
): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const run = dialect === 'postgres' && !pgAvailable ? describe.skip : describe;
    run(`${name} [${dialect}]`, () => {
      let database: (MetadataDatabase & { drop(): Promise<void> }) | undefined;
      beforeAll(async () => {
        database = await openTestDatabase(dialect);
      });
      afterAll(async () => {
        await database?.drop();
      });
      suite({
        dialect,
        database: () => {
          if (database === undefined) throw new Error('test database is not open yet');
          return database;
        },
      });
    });
  }
}
