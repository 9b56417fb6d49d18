import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '@cairn/contract';
import type { BlobInfo, BlobStore, Digest, PutResult } from '../../modules/artifacts/blob.store.js';
import { OpenFileCache } from './open-file-cache.js';
import {
  assertDigest,
  assertRange,
  shortRange,
  BLOB_IO_CHUNK_BYTES,
  digestMismatch,
  HashingStream,
  hexOf,
  verifiedStream,
} from './verifying-stream.js';

export interface FsBlobStoreOptions {
  root: string;
}

/** Temp files older than this belong to a crashed upload, not to one still running. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const FAN_OUT_DIR = /^[0-9a-f]{2}$/;
const BLOB_FILE = /^[0-9a-f]{64}$/;
/** link(2) failures that mean "this filesystem has no hard links", not "something is wrong". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Blobs on a local filesystem: `root/sha256/ab/cd/<hex>`, written through
 * `root/tmp/` so a crash never leaves a partial file under a digest.
 */
export class FsBlobStore implements BlobStore {
  readonly location: string;
  /** Settles (never rejects) when the best-effort sweep of stale temp files is done. */
  readonly swept: Promise<void>;
  readonly #root: string;
  readonly #tmpDir: string;
  readonly #handles = new OpenFileCache();

  constructor(options: FsBlobStoreOptions) {
    this.#root = resolve(options.root);
    this.#tmpDir = join(this.#root, 'tmp');
    this.location = `file:${this.#root}`;
    this.swept = sweepStaleTemps(this.#tmpDir, Date.now());
  }

  static async open(options: FsBlobStoreOptions): Promise<FsBlobStore> {
    // Create the folder now, so a path that cannot be written stops the server at start, not at the first upload.
    try {
      await mkdir(resolve(options.root), { recursive: true });
    } catch (error) {
      throw new CairnError(
        'UNAVAILABLE',
        `blob folder ${options.root} cannot be created: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const store = new FsBlobStore(options);
    await store.swept;
    return store;
  }

  async put(
    source: Readable | AsyncIterable<Uint8Array>,
    options: { expectedDigest?: Digest } = {},
  ): Promise<PutResult> {
    const expected = options.expectedDigest;
    if (expected !== undefined) assertDigest(expected, 'expectedDigest');
    await mkdir(this.#tmpDir, { recursive: true });
    const tmp = join(this.#tmpDir, `${randomUUID()}.part`);
    const hasher = new HashingStream();
    try {
      // `flush` fsyncs before close, so the bytes are durable before the file gets its name.
      const sink = createWriteStream(tmp, { flags: 'wx', flush: true, highWaterMark: BLOB_IO_CHUNK_BYTES });
      await pipeline(source, hasher, sink);
      const { digest, sizeBytes } = hasher.result;
      if (expected !== undefined && digest !== expected) throw digestMismatch(expected, digest);
      const created = await publish(tmp, this.#pathOf(digest));
      return { digest, sizeBytes, created };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(digest: Digest): Promise<Readable> {
    assertDigest(digest);
    try {
      const handle = await open(this.#pathOf(digest), 'r');
      return verifiedStream(handle.createReadStream({ highWaterMark: BLOB_IO_CHUNK_BYTES }), digest);
    } catch (error) {
      if (isMissing(error)) throw new CairnError('NOT_FOUND', `blob ${digest} not found in ${this.location}`);
      throw error;
    }
  }

  async getRange(digest: Digest, range: { offset: number; length: number }): Promise<Buffer> {
    assertDigest(digest);
    assertRange(range);
    try {
      return await this.#handles.use(this.#pathOf(digest), async (handle) => {
        const buffer = Buffer.allocUnsafe(range.length);
        let filled = 0;
        while (filled < range.length) {
          const { bytesRead } = await handle.read(
            buffer,
            filled,
            range.length - filled,
            range.offset + filled,
          );
          if (bytesRead === 0) throw shortRange(digest, range);
          filled += bytesRead;
        }
        return buffer;
      });
    } catch (error) {
      if (isMissing(error)) throw new CairnError('NOT_FOUND', `blob ${digest} not found in ${this.location}`);
      throw error;
    }
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    assertDigest(digest);
    try {
      const info = await stat(this.#pathOf(digest));
      return { digest, sizeBytes: info.size };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(digest: Digest): Promise<boolean> {
    assertDigest(digest);
    await this.#handles.forget(this.#pathOf(digest));
    try {
      await unlink(this.#pathOf(digest));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async *list(): AsyncIterable<Digest> {
    const base = join(this.#root, 'sha256');
    for (const first of await namesIn(base, FAN_OUT_DIR)) {
      for (const second of await namesIn(join(base, first), FAN_OUT_DIR)) {
        for (const hex of await namesIn(join(base, first, second), BLOB_FILE)) {
          if (hex.startsWith(first + second)) yield `sha256:${hex}`;
        }
      }
    }
  }

  #pathOf(digest: Digest): string {
    const hex = hexOf(digest);
    return join(this.#root, 'sha256', hex.slice(0, 2), hex.slice(2, 4), hex);
  }
}

/** Gives the temp file its digest name; false when another writer got there first. */
async function publish(tmp: string, target: string): Promise<boolean> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  try {
    // link() never replaces an existing name, which makes "already stored" exact even under concurrent puts.
    await link(tmp, target);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return false;
    if (code === undefined || !NO_HARD_LINKS.has(code)) throw error;
    // No hard links here: rename is still atomic; a race only rewrites identical bytes.
    if ((await stat(target).catch(() => undefined)) !== undefined) return false;
    await rename(tmp, target);
  }
  await syncDirectory(dir);
  return true;
}

/** Makes the new directory entry durable; some platforms cannot fsync a directory, which is fine. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort by design.
  }
}

async function sweepStaleTemps(tmpDir: string, now: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpDir);
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (name) => {
      const path = join(tmpDir, name);
      try {
        if (now - (await stat(path)).mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
      } catch {
        // Another process may be sweeping too.
      }
    }),
  );
}

async function namesIn(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => pattern.test(name));
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
