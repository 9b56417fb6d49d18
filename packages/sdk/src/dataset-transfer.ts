import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  CairnError,
  DATASET_LIMITS,
  isCairnError,
  type DatasetJson,
  type DatasetVersionJson,
  type FileChunksJson,
} from '@cairn/contract';
import { encodeFrame, readFrames, type ChunkFrameHeader, type Frame } from './chunk-frames.js';
import type { DatasetRef, DatasetsResource } from './datasets.js';

export { encodeFrame, readFrames } from './chunk-frames.js';
export type {
  ChunkEncoding,
  ChunkFrameHeader,
  ErrorFrameHeader,
  Frame,
  FrameHeader,
} from './chunk-frames.js';

/**
 * Copies a dataset's history from one Cairn server to another (Node only).
 * Versions the target lacks (by digest) are sent oldest first; for each, only
 * the chunks the target lacks travel, in their stored (compressed or delta)
 * form. A delta needs its base file object on the target: normally a file of
 * the parent version, sent just before. When the target lacks it anyway (a
 * chunk first stored for another dataset), that chunk travels as its plain
 * bytes instead, so a push never depends on history it does not send.
 */

export interface PushProgress {
  /** Source version being copied. */
  version: number;
  versionsDone: number;
  versionsTotal: number;
  chunksSent: number;
  bytesSent: number;
}

export interface PushOptions {
  from: { datasets: DatasetsResource };
  to: { datasets: DatasetsResource };
  name: string;
  /** Copy this version and its ancestors only; every version by default. */
  ref?: DatasetRef;
  /** The project of a dataset this creates on the target (the target's default otherwise). */
  project?: string;
  onProgress?: (progress: PushProgress) => void;
}

export interface PushResult {
  dataset: string;
  /** Versions copied, oldest first: the number on each side. */
  versions: Array<{ from: number; to: number; digest: string }>;
  /** Versions the target already had. */
  upToDate: number;
  chunksSent: number;
  bytesSent: number;
}

/** Exports read at most this many plain bytes per request (the import body is held in memory). */
const TRANSFER_BATCH_BYTES = 32 * 1024 * 1024;
const DIGEST_BATCH = DATASET_LIMITS.maxDigestsPerRequest;

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const dataLoss = (message: string): CairnError => new CairnError('DATA_LOSS', message);

function bodyOf(response: Response): Readable {
  return response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as WebReadableStream);
}

async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (batch: T[]) => Promise<R[]>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await work(items.slice(i, i + size))));
  return out;
}

/** Chunks in groups of at most `DIGEST_BATCH` digests and about `TRANSFER_BATCH_BYTES` bytes. */
function transferBatches(chunks: ReadonlyArray<{ digest: string; size: number }>): Array<typeof chunks> {
  const batches: Array<Array<{ digest: string; size: number }>> = [];
  let current: Array<{ digest: string; size: number }> = [];
  let bytes = 0;
  for (const chunk of chunks) {
    if (current.length > 0 && (current.length >= DIGEST_BATCH || bytes + chunk.size > TRANSFER_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(chunk);
    bytes += chunk.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

async function ensureTarget(
  target: DatasetsResource,
  source: DatasetJson,
  project: string | undefined,
): Promise<boolean> {
  try {
    await target.get(source.name);
    return false;
  } catch (error) {
    if (!isCairnError(error) || error.code !== 'NOT_FOUND') throw error;
  }
  try {
    await target.create({
      name: source.name,
      description: source.description,
      ...(project === undefined ? {} : { project }),
    });
    return true;
  } catch (error) {
    if (!isCairnError(error) || error.code !== 'ALREADY_EXISTS') throw error;
    return false;
  }
}

/** The versions to copy, oldest first: `ref` and its ancestors, or all. */
async function sourceVersions(
  source: DatasetsResource,
  options: { name: string; ref?: DatasetRef },
): Promise<{ wanted: DatasetVersionJson[]; byNumber: Map<number, DatasetVersionJson> }> {
  const all = await source.allVersions(options.name);
  const byNumber = new Map(all.map((v) => [v.version, v] as const));
  let wanted = [...all];
  if (options.ref !== undefined) {
    const { version } = await source.getVersion(options.name, options.ref);
    const chain = new Set<number>();
    for (let v: DatasetVersionJson | undefined = byNumber.get(version.version); v !== undefined;) {
      if (chain.has(v.version)) break;
      chain.add(v.version);
      v = v.parent === null ? undefined : byNumber.get(v.parent);
    }
    wanted = all.filter((v) => chain.has(v.version));
  }
  return { wanted: wanted.sort((a, b) => a.version - b.version), byNumber };
}

class ChunkCopier {
  chunksSent = 0;
  bytesSent = 0;
  private readonly presentObjects = new Set<string>();

  constructor(private readonly io: { source: DatasetsResource; target: DatasetsResource; name: string }) {}

  /** Sends the chunks of `files` that the target lacks. */
  async copy(files: readonly FileChunksJson[]): Promise<void> {
    const sizes = new Map<string, number>();
    for (const file of files) for (const chunk of file.chunks) sizes.set(chunk.digest, chunk.size);
    const { source, target, name } = this.io;
    const missing = await inBatches([...sizes.keys()], DIGEST_BATCH, (batch) =>
      target.missingChunks(name, batch),
    );
    const wanted = missing.map((digest) => ({ digest, size: sizes.get(digest) ?? 0 }));
    for (const batch of transferBatches(wanted)) {
      const digests = batch.map((c) => c.digest);
      const bytes = batch.reduce((sum, c) => sum + c.size, 0);
      const frames = await this.collect(await source.exportChunks(name, digests, bytes), digests);
      const plain = await this.deltasWithoutBase(frames);
      if (plain.length > 0) await this.replaceWithPlain(frames, plain, bytes);
      const body = Buffer.concat(frames.map((f) => encodeFrame(f.header, f.payload)));
      await target.importChunks({ name, body: () => body, sizeBytes: body.length });
      this.chunksSent += frames.length;
      this.bytesSent += frames.reduce((sum, f) => sum + f.payload.length, 0);
    }
  }

  /** Export frames, checked to be exactly the chunks asked for. */
  private async collect(response: Response, digests: readonly string[]): Promise<Frame[]> {
    const wanted = new Set(digests);
    const frames = new Map<string, Frame>();
    for await (const frame of readFrames(bodyOf(response))) {
      const { header } = frame;
      if (header.kind === 'error')
        throw dataLoss(`chunk ${header.digest} is corrupt on the source: ${header.message}`);
      if (!wanted.has(header.digest))
        throw dataLoss(`the source sent chunk ${header.digest}, which was not asked for`);
      frames.set(header.digest, frame);
    }
    const lost = digests.find((d) => !frames.has(d));
    if (lost !== undefined) throw dataLoss(`the source did not send chunk ${lost}`);
    return [...frames.values()];
  }

  /** Digests of delta frames whose base object the target does not hold. */
  private async deltasWithoutBase(frames: readonly Frame[]): Promise<string[]> {
    const deltas = frames.filter((f): f is Frame & { header: ChunkFrameHeader } => {
      const h = f.header;
      return h.kind === 'chunk' && h.encoding === 'delta' && typeof h.baseObject === 'string';
    });
    const unknown = [...new Set(deltas.map((f) => f.header.baseObject as string))].filter(
      (d) => !this.presentObjects.has(d),
    );
    const absent = new Set(
      await inBatches(unknown, DIGEST_BATCH, (batch) => this.io.target.missingObjects(batch)),
    );
    for (const d of unknown) if (!absent.has(d)) this.presentObjects.add(d);
    return deltas.filter((f) => absent.has(f.header.baseObject as string)).map((f) => f.header.digest);
  }

  /** Swaps those frames for the chunks' plain bytes (verified), stored raw on the target. */
  private async replaceWithPlain(frames: Frame[], digests: readonly string[], bytes: number): Promise<void> {
    const plain = new Map<string, Buffer>();
    for await (const { header, payload } of readFrames(
      bodyOf(await this.io.source.readChunks(this.io.name, digests, bytes)),
    )) {
      if (header.kind === 'error')
        throw dataLoss(`chunk ${header.digest} is corrupt on the source: ${header.message}`);
      if (sha256(payload) !== header.digest)
        throw dataLoss(`chunk ${header.digest} arrived corrupt from the source`);
      plain.set(header.digest, payload);
    }
    for (let i = 0; i < frames.length; i++) {
      const digest = frames[i]?.header.digest ?? '';
      const payload = plain.get(digest);
      if (!digests.includes(digest)) continue;
      if (payload === undefined) throw dataLoss(`the source did not send chunk ${digest}`);
      frames[i] = {
        header: {
          kind: 'chunk',
          digest,
          length: payload.length,
          size: payload.length,
          encoding: 'raw',
          depth: 0,
        },
        payload,
      };
    }
  }
}

/**
 * Copies `name` (or `name@ref` with its ancestors) from `from` to `to`; a
 * pull is the same call with the remote as `from`. See the top of this file.
 */
export async function pushDataset(options: PushOptions): Promise<PushResult> {
  const source = options.from.datasets;
  const target = options.to.datasets;
  const sourceDataset = await source.get(options.name);
  const { wanted, byNumber } = await sourceVersions(source, options);
  const created = await ensureTarget(target, sourceDataset, options.project);
  const present = new Set(created ? [] : (await target.allVersions(options.name)).map((v) => v.digest));
  const toCopy = wanted.filter((v) => !present.has(v.digest));
  const copier = new ChunkCopier({ source, target, name: options.name });
  const result: PushResult = {
    dataset: options.name,
    versions: [],
    upToDate: wanted.length - toCopy.length,
    chunksSent: 0,
    bytesSent: 0,
  };
  for (const version of toCopy) {
    options.onProgress?.({
      version: version.version,
      versionsDone: result.versions.length,
      versionsTotal: toCopy.length,
      chunksSent: copier.chunksSent,
      bytesSent: copier.bytesSent,
    });
    const files = await source.allFileChunks(options.name, version.version);
    await copier.copy(files);
    const parent = version.parent === null ? undefined : byNumber.get(version.parent);
    const copied = await target.importVersion(options.name, {
      message: version.message,
      author: version.author,
      createdAt: version.createdAt,
      parentDigest: parent?.digest ?? null,
      files,
    });
    result.versions.push({ from: version.version, to: copied.version, digest: copied.digest });
  }
  result.chunksSent = copier.chunksSent;
  result.bytesSent = copier.bytesSent;
  return result;
}
