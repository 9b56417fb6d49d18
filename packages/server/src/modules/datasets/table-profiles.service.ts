import { CairnError, isCairnError, type TableJson, type TableProfileJson } from '@cairn/contract';
import type { Digest } from '../artifacts/index.js';
import {
  authorizedDataset,
  checkFilePath,
  resolveVersion,
  type DatasetsContext,
} from './datasets-context.js';
import type { DatasetVersionRecord, TableFormat, TableProfileRecord, VersionFile } from './entities.js';
import type { ObjectFiles, TableObject } from './object-files.js';
import { tableFormatOf, type TableAnalytics } from './table-analytics.js';
import type { VersionCommitted } from './uploads.service.js';

/** Tables listed with a version at most; one table is asked for by path. */
export const MAX_LISTED_TABLES = 1000;
/** How often the worker looks for work nobody told it about (another replica's commits). */
const POLL_MS = 60_000;
/** The pause after a failure that may pass (database or DuckDB unavailable). */
const BACKOFF_MS = 10_000;
const WAIT_STEP_MS = 200;

export interface TableProfilesDeps {
  analytics: TableAnalytics;
  files: ObjectFiles;
  pollMs?: number;
}

/**
 * Schema and statistics of every tabular file (CSV, Parquet, JSON lines) of
 * every version, kept per file object: the same bytes in a later version are
 * not profiled again. A commit queues `pending` rows; one worker in the server
 * profiles them in order, one at a time, so an add never waits for DuckDB. The
 * queue is the table itself, so rows a restart left pending are picked up at
 * start. A diff that needs a profile still pending computes it on the spot,
 * sharing the worker's run when the worker has the same object in hand.
 */
export class TableProfilesService {
  readonly #running = new Map<Digest, Promise<TableProfileRecord>>();
  readonly #pollMs: number;
  #loop: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #onError: (error: unknown, message: string) => void = () => undefined;

  constructor(
    private readonly ctx: DatasetsContext,
    private readonly deps: TableProfilesDeps,
  ) {
    this.#pollMs = deps.pollMs ?? POLL_MS;
  }

  /** For `onCommitted` hooks: never throws, never delays the commit that calls it. */
  readonly versionAdded: VersionCommitted = (_dataset, _version, files) => this.#enqueueQuietly(files);

  #enqueueQuietly(files: readonly VersionFile[]): void {
    this.enqueue(files).catch((error: unknown) => this.#onError(error, 'queueing table profiles failed'));
  }

  /** Queues a profile for each tabular file whose object has none yet. */
  async enqueue(files: readonly VersionFile[]): Promise<void> {
    const wanted = tableObjects(files);
    if (wanted.size === 0) return;
    const known = new Set((await this.ctx.store.getProfiles([...wanted.keys()])).map((p) => p.objectDigest));
    const fresh = [...wanted].filter(([digest]) => !known.has(digest));
    if (fresh.length === 0) return;
    const at = this.ctx.clock.now();
    await this.ctx.transactor.run(async (stores) => {
      for (const [digest, format] of fresh) {
        await stores.datasets.upsertProfile({
          objectDigest: digest,
          format,
          status: 'pending',
          profile: null,
          error: null,
          updatedAt: at,
        });
      }
    });
    this.#wake?.();
  }

  start(options: { onError: (error: unknown, message: string) => void }): void {
    if (this.#loop !== undefined) return;
    this.#onError = options.onError;
    this.#stopped = false;
    this.#loop = this.#work();
  }

  /** Lets the profile in hand finish (close the analytics first to cut it short). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  async #work(): Promise<void> {
    while (!this.#stopped) {
      let pause = 0;
      try {
        const [next] = await this.ctx.store.listProfilesByStatus('pending', 1);
        if (next === undefined) pause = this.#pollMs;
        else await this.profileNow({ digest: next.objectDigest, format: next.format });
      } catch (error) {
        if (this.#stopped) break;
        this.#onError(error, 'table profiling failed; retrying later');
        pause = BACKOFF_MS;
      }
      if (pause > 0 && !this.#stopped) await this.#idle(pause);
    }
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wake = done;
    });
  }

  /**
   * Profiles the object now and stores the outcome; one run per object at a
   * time, however many ask. A file that cannot be read as its format is
   * stored as `failed` with the reason; only a shut-down or unavailable
   * DuckDB leaves the row pending (and rejects).
   */
  profileNow(object: TableObject): Promise<TableProfileRecord> {
    let running = this.#running.get(object.digest);
    if (running === undefined) {
      running = this.#profile(object).finally(() => this.#running.delete(object.digest));
      this.#running.set(object.digest, running);
    }
    return running;
  }

  async #profile(object: TableObject): Promise<TableProfileRecord> {
    let outcome: Pick<TableProfileRecord, 'status' | 'profile' | 'error'>;
    try {
      const profile = await this.deps.files.use(object, (file) =>
        this.deps.analytics.profile({ path: file, format: object.format }),
      );
      outcome = { status: 'done', profile, error: null };
    } catch (error) {
      if (!isCairnError(error) || error.code === 'UNAVAILABLE') throw error;
      outcome = { status: 'failed', profile: null, error: error.message };
    }
    const record: TableProfileRecord = {
      objectDigest: object.digest,
      format: object.format,
      ...outcome,
      updatedAt: this.ctx.clock.now(),
    };
    await this.ctx.transactor.run((stores) => stores.datasets.upsertProfile(record));
    return record;
  }

  /** The stored profile, or one computed now when it is still pending. */
  async profileOf(object: TableObject): Promise<TableProfileRecord> {
    const [stored] = await this.ctx.store.getProfiles([object.digest]);
    if (stored !== undefined && stored.status !== 'pending') return stored;
    return this.profileNow(object);
  }

  /** The tabular files of a version with their profiles as they stand, in path order. */
  async tablesOf(version: DatasetVersionRecord, options: { path?: string } = {}): Promise<TableJson[]> {
    const files = (await this.#tableFiles(version, options.path)).slice(0, MAX_LISTED_TABLES);
    const profiles = new Map(
      (await this.ctx.store.getProfiles([...new Set(files.map((f) => f.digest))])).map((p) => [
        p.objectDigest,
        p,
      ]),
    );
    // Versions committed before profiling existed, or whose queueing failed, are queued now.
    const unqueued = files.filter((f) => !profiles.has(f.digest));
    if (unqueued.length > 0) this.#enqueueQuietly(unqueued);
    return files.map((file) => tableJson(file, profiles.get(file.digest)));
  }

  /** Waits (up to `timeoutMs`) until no table of the version is pending, then answers its tables. */
  async waitForProfiles(version: DatasetVersionRecord, timeoutMs: number): Promise<TableJson[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tables = await this.tablesOf(version);
      if (!tables.some((t) => t.status === 'pending') || Date.now() >= deadline) return tables;
      await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_STEP_MS, deadline - Date.now())));
    }
  }

  /** `GET …/versions/REF/tables?path=`: the version's tables, or the one at `path`. */
  async versionTables(input: { name: unknown; ref: unknown; path?: unknown }): Promise<TableJson[]> {
    const version = await this.#authorizedVersion(input, 'datasets.tables.list');
    const path = input.path === undefined || input.path === '' ? undefined : checkFilePath(input.path);
    return this.tablesOf(version, path === undefined ? {} : { path });
  }

  /**
   * The profile of NAME@REF PATH, computed now if still pending: what
   * monitoring takes as the reference a model's inputs are compared with.
   */
  async referenceProfile(input: { name: unknown; ref: unknown; path: unknown }): Promise<{
    version: DatasetVersionRecord;
    table: TableJson;
  }> {
    const version = await this.#authorizedVersion(input, 'datasets.tables.get');
    const path = checkFilePath(input.path);
    const [file] = await this.#tableFiles(version, path);
    if (file === undefined) {
      throw new CairnError('NOT_FOUND', `version ${version.version} has no table at ${path}`, {
        field: 'path',
      });
    }
    return { version, table: tableJson(file, await this.profileOf(file)) };
  }

  async #authorizedVersion(
    input: { name: unknown; ref: unknown },
    action: string,
  ): Promise<DatasetVersionRecord> {
    const dataset = await authorizedDataset(this.ctx, { name: input.name, permission: 'read', action });
    return resolveVersion({ store: this.ctx.store, dataset }, input.ref);
  }

  async #tableFiles(version: DatasetVersionRecord, path?: string): Promise<Array<VersionFile & TableObject>> {
    const files =
      path === undefined
        ? await this.ctx.store.allVersionFiles(version.versionId)
        : [await this.ctx.store.getVersionFile(version.versionId, path)].filter((f) => f !== undefined);
    return files.flatMap((file) => {
      const format = tableFormatOf(file.path);
      return format === undefined ? [] : [{ ...file, format }];
    });
  }
}

/** Tabular objects among files, each once (the format of its first path wins). */
function tableObjects(files: readonly VersionFile[]): Map<Digest, TableFormat> {
  const objects = new Map<Digest, TableFormat>();
  for (const file of files) {
    const format = tableFormatOf(file.path);
    if (format !== undefined && !objects.has(file.digest)) objects.set(file.digest, format);
  }
  return objects;
}

function tableJson(file: VersionFile & TableObject, profile: TableProfileRecord | undefined): TableJson {
  return {
    path: file.path,
    digest: file.digest,
    format: file.format,
    status: profile?.status ?? 'pending',
    profile: profile?.status === 'done' ? (profile.profile as TableProfileJson) : null,
    error: profile?.error ?? null,
  };
}
