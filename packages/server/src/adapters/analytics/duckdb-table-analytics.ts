import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CairnError, isCairnError, type TableProfileJson } from '@cairn/contract';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { RowDiff, TableAnalytics, TableFile } from '../../modules/datasets/table-analytics.js';
import { diffTables } from './duckdb-row-diff.js';
import { duckdbMessage, type SqlSession } from './duckdb-sql.js';
import { profileTable } from './duckdb-table-profile.js';

export interface DuckDbTableAnalyticsOptions {
  /** DuckDB worker threads; the server has other work to do. */
  threads?: number;
  /** DuckDB's memory limit (`'1GB'`); past it, DuckDB spills to `tempDirectory` or fails. */
  memoryLimit?: string;
  tempDirectory?: string;
  /** Profiles and diffs run at once; more wait their turn. */
  concurrency?: number;
  /** An operation still running after this long is interrupted. */
  timeoutMs?: number;
}

const DEFAULTS = { threads: 2, memoryLimit: '1GB', concurrency: 1, timeoutMs: 5 * 60_000 };

/**
 * Profiles and diffs tables with an in-process, in-memory DuckDB. The native
 * module loads on first use, so a server that never looks at a table never
 * pays for it. Each operation gets its own connection, and with it its own
 * temporary tables, which DuckDB frees when the connection closes.
 */
export class DuckDbTableAnalytics implements TableAnalytics {
  readonly #options: Required<DuckDbTableAnalyticsOptions>;
  readonly #gate: Gate;
  readonly #active = new Set<DuckDBConnection>();
  readonly #running = new Set<Promise<unknown>>();
  #instance: Promise<DuckDBInstance> | undefined;
  #closed = false;

  constructor(options: DuckDbTableAnalyticsOptions = {}) {
    this.#options = {
      threads: options.threads ?? DEFAULTS.threads,
      memoryLimit: options.memoryLimit ?? DEFAULTS.memoryLimit,
      // Per process: two servers spilling into one folder would trip over each other's files.
      tempDirectory: options.tempDirectory ?? path.join(os.tmpdir(), `cairn-duckdb-${process.pid}`),
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
    };
    this.#gate = new Gate(this.#options.concurrency);
  }

  async profile(file: TableFile): Promise<TableProfileJson> {
    const empty = await isEmpty(file);
    if (empty)
      return { format: file.format, rows: 0, columns: [], warnings: ['the file is empty'], rejectedRows: 0 };
    return this.#track((session) => profileTable(session, file));
  }

  async diff(before: TableFile, after: TableFile, options: { key?: string }): Promise<RowDiff> {
    const sides = {
      before: { ...before, empty: await isEmpty(before) },
      after: { ...after, empty: await isEmpty(after) },
    };
    return this.#track((session) => diffTables(session, { ...sides, key: options.key }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const connection of this.#active) connection.interrupt();
    await Promise.allSettled([...this.#running]);
    const instance = await this.#instance?.catch(() => undefined);
    instance?.closeSync();
  }

  async #track<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError();
    const running = this.#gate.run(() => this.#withSession(work));
    this.#running.add(running);
    try {
      return await running;
    } finally {
      this.#running.delete(running);
    }
  }

  async #withSession<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError();
    const connection = await (await this.#open()).connect();
    this.#active.add(connection);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, this.#options.timeoutMs);
    timer.unref();
    // An interrupt only stops the statement running at that moment; the next one must not start.
    const stopped = () => timedOut || this.#closed;
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      return await work(session(connection, stopped));
    } catch (error) {
      throw translate(error, { timedOut, timeoutMs: this.#options.timeoutMs, closed: this.#closed });
    } finally {
      clearTimeout(timer);
      this.#active.delete(connection);
      connection.closeSync();
    }
  }

  #open(): Promise<DuckDBInstance> {
    this.#instance ??= openInstance(this.#options).catch((error: unknown) => {
      this.#instance = undefined;
      throw new CairnError('UNAVAILABLE', `DuckDB could not be started: ${duckdbMessage(error)}`, {
        cause: error,
      });
    });
    return this.#instance;
  }
}

async function openInstance(options: Required<DuckDbTableAnalyticsOptions>): Promise<DuckDBInstance> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  return DuckDBInstance.create(':memory:', {
    threads: String(options.threads),
    memory_limit: options.memoryLimit,
    temp_directory: options.tempDirectory,
    // Order of rows in our temporary tables never matters; not keeping it lets big loads use less memory.
    preserve_insertion_order: 'false',
    // Everything needed (CSV, Parquet, JSON) is built in: never fetch extensions from the network.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
}

function session(connection: DuckDBConnection, stopped: () => boolean): SqlSession {
  let names = 0;
  const guard = () => {
    if (stopped()) throw new Error('INTERRUPT Error: stopped before the next statement');
  };
  return {
    run: async (sql) => {
      guard();
      await connection.run(sql);
    },
    rows: async (sql) => {
      guard();
      return (await connection.runAndReadAll(sql)).getRowObjectsJS();
    },
    tempName: (prefix) => `cairn_${prefix}_${++names}`,
  };
}

const GLOB = /[*?[]/;

async function isEmpty(file: TableFile): Promise<boolean> {
  // DuckDB reads URLs and expands globs; Cairn hands it only absolute paths of its own files.
  if (!path.isAbsolute(file.path) || GLOB.test(file.path))
    throw new CairnError('INTERNAL', 'table files must be absolute paths without glob characters');
  return (await stat(file.path)).size === 0;
}

function closedError(): CairnError {
  return new CairnError('UNAVAILABLE', 'table analytics is shut down');
}

function translate(
  error: unknown,
  context: { timedOut: boolean; timeoutMs: number; closed: boolean },
): Error {
  if (isCairnError(error)) return error;
  if (context.closed) return closedError();
  if (context.timedOut)
    return new CairnError(
      'RESOURCE_EXHAUSTED',
      `table analysis took longer than ${seconds(context.timeoutMs)} and was stopped`,
      { cause: error },
    );
  const message = duckdbMessage(error);
  if (/^Out of Memory Error/.test(error instanceof Error ? error.message : ''))
    return new CairnError('RESOURCE_EXHAUSTED', `table analysis ran out of memory: ${message}`, {
      cause: error,
    });
  return new CairnError('INTERNAL', `table analysis failed: ${message}`, { cause: error });
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** At most `size` tasks at once, the rest in arrival order. */
class Gate {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#free += 1;
      else next();
    }
  }
}
