import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '@cairn/contract';
import { readAhead } from './read-ahead.js';
import type { Digest } from '../artifacts/index.js';
import type { ChunkReader } from './chunk-reader.js';
import type { TableFormat } from './entities.js';

const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
/** Chunks decoded ahead of the one being written, so decoding overlaps the disk. */
const READ_AHEAD = 8;
const TEMP_MARK = '.tmp-';

/** The extension DuckDB's readers expect for each format. */
const EXTENSIONS: Readonly<Record<TableFormat, string>> = { csv: 'csv', parquet: 'parquet', jsonl: 'jsonl' };

export interface TableObject {
  digest: Digest;
  format: TableFormat;
}

interface Entry {
  sizeBytes: number;
  lastUsed: number;
  /** Users holding the file open; a held file is never evicted. */
  holds: number;
}

/**
 * File objects copied to local disk for readers that need a path (DuckDB).
 * Each copy is assembled from verified chunks, re-hashed against the
 * object's digest, and appears under its final name only when complete, so
 * a reader never sees half a file. The folder is a cache: least recently
 * used copies are deleted once it passes its byte budget, never while held.
 */
export class ObjectFiles {
  readonly #reader: ChunkReader;
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  /** One write per file, however many ask for it at once. */
  readonly #writing = new Map<string, Promise<Entry>>();
  #total = 0;
  #opened: Promise<void> | undefined;
  /** Aborts copies being written when the server shuts down: a 1 GiB copy must not hold up the exit. */
  readonly #closing = new AbortController();

  constructor(options: { reader: ChunkReader; cacheDir: string; maxBytes?: number }) {
    this.#reader = options.reader;
    this.#dir = path.join(options.cacheDir, 'objects');
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  /** Stops copies in progress (their temp files are removed) and refuses new ones. */
  close(): void {
    this.#closing.abort();
  }

  /** Runs `work` with a local copy of the object, which stays in place until `work` settles. */
  async use<T>(object: TableObject, work: (file: string) => Promise<T>): Promise<T> {
    return this.useAll([object], (files) => work(files[0]!));
  }

  /** Like `use`, for several objects at once; their copies are written side by side. */
  async useAll<T>(objects: readonly TableObject[], work: (files: string[]) => Promise<T>): Promise<T> {
    await this.#open();
    const names = objects.map((o) => `${hexOf(o.digest)}.${EXTENSIONS[o.format]}`);
    const acquired = await Promise.allSettled(
      names.map((name, i) => this.#acquire(name, objects[i]!.digest)),
    );
    const held = acquired.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    try {
      const failed = acquired.find((a) => a.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return await work(names.map((name) => path.join(this.#dir, name)));
    } finally {
      for (const entry of held) entry.holds--;
      await this.#evict();
    }
  }

  /** The entry of a complete copy, held for the caller (written first when there is none). */
  async #acquire(name: string, digest: Digest): Promise<Entry> {
    for (;;) {
      const known = this.#entries.get(name);
      if (known !== undefined) {
        known.holds++;
        known.lastUsed = Date.now();
        // The modification time orders the cache again after a restart.
        const now = new Date();
        const missing = await utimes(path.join(this.#dir, name), now, now).then(
          () => false,
          (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
        );
        if (!missing) return known;
        // Deleted behind our back (a cleaned temp folder): write it again.
        known.holds--;
        this.#forget(name, known);
        continue;
      }
      const pending = this.#writing.get(name);
      if (pending !== undefined) {
        await pending;
        continue;
      }
      const write = this.#write(name, digest).finally(() => this.#writing.delete(name));
      this.#writing.set(name, write);
      return write;
    }
  }

  /** Writes the copy and answers its entry, already held for the writer. */
  async #write(name: string, digest: Digest): Promise<Entry> {
    if (this.#closing.signal.aborted) throw shuttingDown();
    const target = path.join(this.#dir, name);
    const temp = `${target}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
    const chunks = await this.#reader.objectChunks(digest);
    await this.#reader.prefetchRows(chunks.map((c) => c.digest));
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const reader = this.#reader;
    async function* bytes(): AsyncIterable<Buffer> {
      for await (const chunk of readAhead(
        chunks.map((c) => c.digest),
        (d) => reader.read(d),
        READ_AHEAD,
      )) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        yield chunk;
      }
    }
    try {
      await pipeline(bytes(), createWriteStream(temp, { flags: 'wx' }), { signal: this.#closing.signal });
      if (`sha256:${hash.digest('hex')}` !== digest) {
        throw new CairnError('DATA_LOSS', `file object ${digest}: its chunks do not add up to its digest`);
      }
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.#closing.signal.aborted ? shuttingDown() : error;
    }
    const entry = { sizeBytes, lastUsed: Date.now(), holds: 1 };
    this.#add(name, entry);
    return entry;
  }

  #add(name: string, entry: Entry): void {
    this.#entries.set(name, entry);
    this.#total += entry.sizeBytes;
  }

  #forget(name: string, entry: Entry): void {
    if (this.#entries.get(name) !== entry) return;
    this.#entries.delete(name);
    this.#total -= entry.sizeBytes;
  }

  /** Deletes least recently used copies, not held by anyone, until the total is within budget. */
  async #evict(): Promise<void> {
    if (this.#total <= this.#maxBytes) return;
    const idle = [...this.#entries]
      .filter(([, e]) => e.holds === 0)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [name, entry] of idle) {
      if (this.#total <= this.#maxBytes) break;
      // Someone may have taken it up while an earlier file was being deleted.
      if (entry.holds > 0 || this.#entries.get(name) !== entry) continue;
      this.#forget(name, entry);
      await rm(path.join(this.#dir, name), { force: true });
    }
  }

  /** Takes stock of what a previous run left: finished copies are kept, half-written ones deleted. */
  #open(): Promise<void> {
    this.#opened ??= (async () => {
      await mkdir(this.#dir, { recursive: true });
      for (const name of await readdir(this.#dir)) {
        const file = path.join(this.#dir, name);
        if (name.includes(TEMP_MARK)) {
          await rm(file, { force: true });
          continue;
        }
        const info = await stat(file).catch(() => undefined);
        if (info?.isFile()) this.#add(name, { sizeBytes: info.size, lastUsed: info.mtimeMs, holds: 0 });
      }
      await this.#evict();
    })().catch((error: unknown) => {
      this.#opened = undefined;
      throw new CairnError(
        'UNAVAILABLE',
        `the table cache folder ${this.#dir} cannot be used: ${String(error)}`,
        {
          cause: error,
        },
      );
    });
    return this.#opened;
  }
}

function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

function shuttingDown(): CairnError {
  return new CairnError('UNAVAILABLE', 'the server is shutting down; try again once it is back');
}
