import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CairnError, type FileChunksJson } from '@cairn/contract';
import { readFrames } from './chunk-frames.js';
import { cacheFileFor, defaultCacheDir, StatCache } from './checkout-stat-cache.js';
import { eachLimited, isInside, sha256File } from './dataset-paths.js';
import type { DatasetRef, DatasetsResource } from './datasets.js';

/**
 * `cairn data checkout`: writes a version's files below a folder (Node only).
 * Files already there with the right content are left alone — known by the
 * stat cache, else by hashing — and the rest are fetched as chunks, verified
 * chunk by chunk and as a whole, written to a temporary name and renamed into
 * place, so a failure never leaves a partial file. Files the version does not
 * have are left alone too, and reported as `extra`.
 */

export interface CheckoutProgress {
  /** `checking` the files already there, then `fetching` the others. */
  phase: 'checking' | 'fetching';
  filesDone: number;
  filesTotal: number;
  /** Bytes fetched and written so far, of those to fetch. */
  bytesDone: number;
  bytesTotal: number;
  path?: string;
}

export interface CheckoutOptions {
  onProgress?: (progress: CheckoutProgress) => void;
  /** Hash every file already there instead of trusting the stat cache. */
  verifyAll?: boolean;
  /** Where the stat cache lives; `$XDG_CACHE_HOME/cairn/checkouts` by default. */
  cacheDir?: string;
}

export interface CheckoutResult {
  dataset: string;
  version: number;
  /** The folder, absolute. */
  dir: string;
  /** Version paths written (missing or changed). */
  written: string[];
  /** Files already there with the right content. */
  skipped: number;
  bytesWritten: number;
  /** Files in the folder that the version does not have (left alone). */
  extra: string[];
}

/** One chunk-read request: at most this many digests, or about this many bytes. */
const BATCH_DIGESTS = 256;
const BATCH_BYTES = 16 * 1024 * 1024;
const REQUESTS_IN_FLIGHT = 3;
const HASH_CONCURRENCY = 4;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

const dataLoss = (message: string): CairnError => new CairnError('DATA_LOSS', message);
const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * The local path of a version path, refused (DATA_LOSS: the server sent it)
 * when absolute, holding `..`, `.` or empty segments, or leaving `root`.
 */
export function checkoutTarget(root: string, filePath: string): string {
  const segments = filePath.split('/');
  const bad =
    filePath === '' ||
    filePath.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..') ||
    (path.sep === '\\' && /[\\:]/.test(filePath));
  const target = path.join(root, ...segments);
  if (bad || !isInside(root, target) || target === root) {
    throw dataLoss(`refusing the version path "${filePath}": it would be written outside the folder`);
  }
  return target;
}

/** The manifest's own promises, checked before anything is written: contiguous chunks adding up to the size. */
function checkManifest(file: FileChunksJson): void {
  if (!DIGEST.test(file.digest)) throw dataLoss(`${file.path}: "${file.digest}" is not a sha256 digest`);
  let offset = 0;
  for (const chunk of file.chunks) {
    if (!DIGEST.test(chunk.digest) || chunk.offset !== offset || chunk.size <= 0) {
      throw dataLoss(`${file.path}: the chunk list is inconsistent at offset ${offset}`);
    }
    offset += chunk.size;
  }
  if (offset !== file.size) {
    throw dataLoss(`${file.path}: its chunks add up to ${offset} bytes, not ${file.size}`);
  }
}

interface Piece {
  file: FileChunksJson;
  index: number;
}

interface Batch {
  pieces: Piece[];
  digests: string[];
  bytes: number;
}

/** Chunks to fetch in file and offset order, cut into requests. */
export function planBatches(files: readonly FileChunksJson[]): Batch[] {
  const batches: Batch[] = [];
  let current: Batch = { pieces: [], digests: [], bytes: 0 };
  let seen = new Set<string>();
  for (const file of files) {
    file.chunks.forEach((chunk, index) => {
      const isNew = !seen.has(chunk.digest);
      const full =
        current.pieces.length > 0 &&
        isNew &&
        (current.digests.length >= BATCH_DIGESTS || current.bytes + chunk.size > BATCH_BYTES);
      if (full) {
        batches.push(current);
        current = { pieces: [], digests: [], bytes: 0 };
        seen = new Set();
      }
      if (!seen.has(chunk.digest)) {
        seen.add(chunk.digest);
        current.digests.push(chunk.digest);
        current.bytes += chunk.size;
      }
      current.pieces.push({ file, index });
    });
  }
  if (current.pieces.length > 0) batches.push(current);
  return batches;
}

function where(batch: Batch, digest: string): string {
  const piece = batch.pieces.find((p) => p.file.chunks[p.index]?.digest === digest);
  if (piece === undefined) return digest;
  return `${digest} of ${piece.file.path} (offset ${piece.file.chunks[piece.index]?.offset ?? 0})`;
}

/** A file being written: its temporary name, handle and running hash. */
interface OpenFile {
  temp: string;
  handle: FileHandle;
  hash: ReturnType<typeof createHash>;
  written: number;
}

class Checkout {
  readonly written: string[] = [];
  bytesWritten = 0;
  private readonly partials = new Map<string, OpenFile>();
  private readonly safeDirs = new Set<string>();
  private readonly progress: CheckoutProgress;

  constructor(
    private readonly ctx: {
      datasets: DatasetsResource;
      name: string;
      root: string;
      cache: StatCache;
      onProgress?: (progress: CheckoutProgress) => void;
    },
    fetch: { files: FileChunksJson[]; filesTotal: number; filesDone: number },
  ) {
    this.progress = {
      phase: 'fetching',
      filesDone: fetch.filesDone,
      filesTotal: fetch.filesTotal,
      bytesDone: 0,
      bytesTotal: fetch.files.reduce((sum, f) => sum + f.size, 0),
    };
  }

  /** Fetches and writes every file, a few requests ahead of the writing. */
  async run(files: readonly FileChunksJson[]): Promise<void> {
    try {
      for (const file of files) if (file.size === 0) await this.finish(file, await this.begin(file));
      const batches = planBatches(files);
      const pending: Array<Promise<Map<string, Buffer>>> = [];
      const start = (i: number): void => {
        const batch = batches[i];
        if (batch === undefined) return;
        const request = this.fetchBatch(batch);
        // Awaited in order below; this only keeps an early failure from going unhandled.
        request.catch(() => undefined);
        pending[i] = request;
      };
      for (let i = 0; i < REQUESTS_IN_FLIGHT; i++) start(i);
      for (let i = 0; i < batches.length; i++) {
        const chunks = await (pending[i] as Promise<Map<string, Buffer>>);
        delete pending[i];
        start(i + REQUESTS_IN_FLIGHT);
        await this.apply(batches[i] as Batch, chunks);
      }
    } finally {
      await this.discardPartials();
    }
  }

  private async fetchBatch(batch: Batch): Promise<Map<string, Buffer>> {
    const response = await this.ctx.datasets.readChunks(this.ctx.name, batch.digests, batch.bytes);
    const wanted = new Set(batch.digests);
    const chunks = new Map<string, Buffer>();
    const body =
      response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as WebReadableStream);
    for await (const { header, payload } of readFrames(body)) {
      if (!wanted.has(header.digest))
        throw dataLoss(`the server sent chunk ${header.digest}, which was not asked for`);
      if (header.kind === 'error') {
        // The server's message names the chunk already; this one adds the file and offset.
        const why = header.message.replace(`chunk ${header.digest} is corrupt: `, '');
        throw dataLoss(`chunk ${where(batch, header.digest)} is corrupt: ${why}`);
      }
      const actual = sha256(payload);
      if (actual !== header.digest) {
        throw dataLoss(`chunk ${where(batch, header.digest)} is corrupt: its bytes hash to ${actual}`);
      }
      chunks.set(header.digest, payload);
    }
    for (const digest of batch.digests) {
      if (!chunks.has(digest)) throw dataLoss(`the server did not send chunk ${where(batch, digest)}`);
    }
    return chunks;
  }

  private async apply(batch: Batch, chunks: Map<string, Buffer>): Promise<void> {
    for (const { file, index } of batch.pieces) {
      const chunk = file.chunks[index];
      const bytes = chunk === undefined ? undefined : chunks.get(chunk.digest);
      if (chunk === undefined || bytes === undefined) continue;
      if (bytes.length !== chunk.size) {
        throw dataLoss(
          `chunk ${chunk.digest} of ${file.path} (offset ${chunk.offset}) has ${bytes.length} bytes, not ${chunk.size}`,
        );
      }
      const partial = this.partials.get(file.path) ?? (await this.begin(file));
      for (let done = 0; done < bytes.length;) {
        done += (await partial.handle.write(bytes, done, bytes.length - done)).bytesWritten;
      }
      partial.hash.update(bytes);
      partial.written += bytes.length;
      this.progress.bytesDone += bytes.length;
      this.report(file.path);
      if (index === file.chunks.length - 1) await this.finish(file, partial);
    }
  }

  /** Opens `.<name>.cairn-tmp-<random>` beside the target, after checking no link leads out of the folder. */
  private async begin(file: FileChunksJson): Promise<OpenFile> {
    const target = checkoutTarget(this.ctx.root, file.path);
    const dir = path.dirname(target);
    await this.ensureDir(dir, file.path);
    const temp = path.join(dir, `.${path.basename(target)}.cairn-tmp-${randomBytes(6).toString('hex')}`);
    const handle = await open(temp, 'wx', 0o600);
    const partial: OpenFile = { temp, handle, hash: createHash('sha256'), written: 0 };
    this.partials.set(file.path, partial);
    return partial;
  }

  private async finish(file: FileChunksJson, partial: OpenFile): Promise<void> {
    const digest = `sha256:${partial.hash.digest('hex')}`;
    if (digest !== file.digest || partial.written !== file.size) {
      throw dataLoss(
        `${file.path}: its chunks make ${digest} (${partial.written} bytes), not ${file.digest}`,
      );
    }
    await partial.handle.chmod(file.mode & 0o777);
    await partial.handle.close();
    const target = checkoutTarget(this.ctx.root, file.path);
    await rename(partial.temp, target);
    this.partials.delete(file.path);
    this.ctx.cache.record(file.path, await lstat(target), { digest: file.digest });
    this.written.push(file.path);
    this.bytesWritten += file.size;
    this.progress.filesDone++;
    this.report(file.path);
  }

  private async ensureDir(dir: string, filePath: string): Promise<void> {
    if (this.safeDirs.has(dir)) return;
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `cannot make the folder of ${filePath}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    // A link inside the folder must not carry files out of it.
    if (!isInside(this.ctx.root, await realpath(dir))) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `${filePath}: a link in its folder path leads outside ${this.ctx.root}`,
      );
    }
    this.safeDirs.add(dir);
  }

  private async discardPartials(): Promise<void> {
    for (const partial of this.partials.values()) {
      await partial.handle.close().catch(() => undefined);
      await rm(partial.temp, { force: true });
    }
    this.partials.clear();
  }

  private report(filePath: string): void {
    this.ctx.onProgress?.({ ...this.progress, path: filePath });
  }
}

async function lstatOrUndefined(target: string): Promise<Stats | undefined> {
  try {
    return await lstat(target);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT' || (error as { code?: unknown }).code === 'ENOTDIR') {
      return undefined;
    }
    throw error;
  }
}

/** Files below `root` (POSIX paths) that are not in `known`; links are listed, not followed. */
async function extraFiles(root: string, known: ReadonlySet<string>): Promise<string[]> {
  const extra: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), rel);
      else if (!known.has(rel)) extra.push(rel);
    }
  };
  await walk(root, '');
  return extra.sort();
}

/** Writes version `ref` of `name` below `dir`; see the top of this file. */
export async function checkoutDataset(
  datasets: DatasetsResource,
  options: CheckoutOptions & { name: string; ref: DatasetRef; dir: string },
): Promise<CheckoutResult> {
  const { version } = await datasets.getVersion(options.name, options.ref);
  const files = await datasets.allFileChunks(options.name, version.version);
  let root: string;
  try {
    await mkdir(options.dir, { recursive: true });
    root = await realpath(path.resolve(options.dir));
  } catch (error) {
    throw new CairnError(
      'FAILED_PRECONDITION',
      `cannot check out into ${options.dir}: ${(error as Error).message}`,
      {
        field: 'dir',
        cause: error,
      },
    );
  }
  for (const file of files) {
    checkoutTarget(root, file.path);
    checkManifest(file);
  }
  const cache = await StatCache.load(cacheFileFor(root, options.cacheDir ?? defaultCacheDir()));
  const known = new Set(files.map((f) => f.path));
  cache.retain(known);

  const toFetch = new Array<FileChunksJson | undefined>(files.length);
  let checked = 0;
  await eachLimited(files, HASH_CONCURRENCY, async (file, i) => {
    const target = checkoutTarget(root, file.path);
    const info = await lstatOrUndefined(target);
    let same = false;
    if (info?.isDirectory() === true) {
      throw new CairnError('FAILED_PRECONDITION', `${target} is a folder, but the version has a file there`);
    }
    if (info?.isFile() === true && info.size === file.size) {
      if (options.verifyAll !== true && cache.isClean(file.path, info, file.digest)) {
        same = true;
      } else {
        // The stat from before the read is what gets recorded: a write during the read changes it.
        const checkedAtMs = Date.now();
        same = (await sha256File(target)) === file.digest;
        if (same) cache.record(file.path, info, { digest: file.digest, checkedAtMs });
      }
      if (same && (info.mode & 0o777) !== (file.mode & 0o777)) await chmod(target, file.mode & 0o777);
    }
    if (!same) toFetch[i] = file;
    checked++;
    options.onProgress?.({
      phase: 'checking',
      filesDone: checked,
      filesTotal: files.length,
      bytesDone: 0,
      bytesTotal: 0,
      path: file.path,
    });
  });

  const fetchList = toFetch.filter((f): f is FileChunksJson => f !== undefined);
  const checkout = new Checkout(
    {
      datasets,
      name: options.name,
      root,
      cache,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    },
    { files: fetchList, filesTotal: files.length, filesDone: files.length - fetchList.length },
  );
  try {
    await checkout.run(fetchList);
    await cache.settle((filePath) => lstat(checkoutTarget(root, filePath)));
  } finally {
    await cache.save();
  }
  return {
    dataset: version.dataset,
    version: version.version,
    dir: root,
    written: checkout.written,
    skipped: files.length - fetchList.length,
    bytesWritten: checkout.bytesWritten,
    extra: await extraFiles(root, known),
  };
}
