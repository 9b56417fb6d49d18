import { createHash } from 'node:crypto';
import type { Digest } from '../artifacts/index.js';
import type { BlockIndex } from './block-delta.js';
import { BlockIndexBuilder } from './block-delta.js';
import { encodeChunk } from './chunk-codec.js';
import type { ChunkReader } from './chunk-reader.js';
import { ContentChunker } from './content-chunker.js';
import type { DatasetStore } from './datasets.store.js';
import type { ObjectChunk } from './entities.js';
import type { PackWriter } from './pack-writer.js';

/**
 * A delta chain this deep is the most a read ever follows: version after
 * version of scattered edits costs a few percent each until the chain is
 * this long, then one version stores its chunks whole again (as git packs do).
 */
export const MAX_DELTA_DEPTH = 4;
/** Below this a base is not worth indexing: the whole file is a handful of chunks anyway. */
const MIN_DELTA_BASE_BYTES = 256 * 1024;
/** Chunks looked up in the store together (one query per batch). */
const LOOKUP_BATCH = 64;
/** Batches being looked up and encoded at once: enough to keep the thread pool busy, bounded memory. */
const BATCHES_IN_FLIGHT = 4;
/**
 * New chunks in a row that found nothing to copy from the base before deltas
 * are only probed for: scanning unrelated data against a big index costs far
 * more than it could save (tens of MB/s), yet an edited file whose changes end
 * should find its matches again.
 */
const DELTA_MISSES_BEFORE_PROBING = 8;
const DELTA_PROBE_EVERY = 16;

/** The same path in the parent version: what a changed file is delta-encoded against. */
export interface DeltaBase {
  digest: Digest;
  sizeBytes: number;
  depth: number;
}

export interface IngestedFile {
  digest: Digest;
  sizeBytes: number;
  chunks: ObjectChunk[];
  depth: number;
  /** Chunks already in the store that this file uses (to pin for the upload's lifetime). */
  reused: Digest[];
}

export interface IngestDeps {
  store: DatasetStore;
  reader: ChunkReader;
  writer: PackWriter;
}

interface Piece {
  digest: Digest;
  bytes: Buffer;
}

/**
 * Streams one file in: splits it into content-defined chunks, hashes the file
 * and every chunk, stores only chunks the store lacks (each as whole, lz4 or
 * a delta against the base, whichever is smallest), and returns the file's
 * object. Memory stays bounded: a few batches of chunks plus the open pack.
 */
export async function ingestFile(
  deps: IngestDeps,
  source: AsyncIterable<Uint8Array>,
  base?: DeltaBase,
): Promise<IngestedFile> {
  const index = base !== undefined && usableBase(base) ? await indexBase(deps.reader, base) : undefined;
  const chunker = new ContentChunker();
  const fileHash = createHash('sha256');
  const chunks: ObjectChunk[] = [];
  const reused = new Set<Digest>();
  let depth = 0;
  let offset = 0;
  let batch: Piece[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let deltaMisses = 0;
  let newChunks = 0;
  const deltaIndex = (): BlockIndex | undefined => {
    newChunks++;
    if (index === undefined) return undefined;
    return deltaMisses < DELTA_MISSES_BEFORE_PROBING || newChunks % DELTA_PROBE_EVERY === 0
      ? index
      : undefined;
  };

  const storeBatch = async (pieces: Piece[]): Promise<void> => {
    const known = new Map<Digest, number>();
    const unseen = pieces.map((p) => p.digest).filter((d) => deps.writer.depthOf(d) === undefined);
    for (const row of unseen.length > 0 ? await deps.store.getChunks(unseen) : []) {
      known.set(row.digest, row.depth);
      reused.add(row.digest);
    }
    await Promise.all(
      pieces.map(async (piece) => {
        const held = deps.writer.depthOf(piece.digest) ?? known.get(piece.digest);
        if (held !== undefined) {
          depth = Math.max(depth, held);
          return;
        }
        const tried = deltaIndex();
        const encoded = await encodeChunk(piece.bytes, tried === undefined ? {} : { index: tried });
        const isDelta = encoded.encoding === 'delta';
        if (tried !== undefined) deltaMisses = isDelta ? 0 : deltaMisses + 1;
        const chunkDepth = isDelta ? base!.depth + 1 : 0;
        depth = Math.max(depth, chunkDepth);
        await deps.writer.add({
          digest: piece.digest,
          sizeBytes: piece.bytes.length,
          encoding: encoded.encoding,
          baseObject: isDelta ? base!.digest : null,
          depth: chunkDepth,
          payload: encoded.payload,
        });
      }),
    );
  };

  const dispatch = async (): Promise<void> => {
    if (batch.length === 0) return;
    const job = storeBatch(batch).catch((error: unknown) => {
      failure ??= error;
    });
    batch = [];
    inflight.add(job);
    void job.finally(() => inflight.delete(job));
    while (inflight.size >= BATCHES_IN_FLIGHT) await Promise.race(inflight);
    if (failure !== undefined) throw failure;
  };

  const take = (bytes: Buffer): void => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    chunks.push({ digest, offset, sizeBytes: bytes.length });
    offset += bytes.length;
    batch.push({ digest, bytes });
  };

  try {
    for await (const data of source) {
      fileHash.update(data);
      for (const piece of chunker.push(data)) take(piece);
      if (batch.length >= LOOKUP_BATCH) await dispatch();
    }
    for (const piece of chunker.end()) take(piece);
    await dispatch();
  } finally {
    // A broken stream still waits for the batches in flight, so nothing writes after the request ends.
    await Promise.allSettled(inflight);
  }
  if (failure !== undefined) throw failure;
  return {
    digest: `sha256:${fileHash.digest('hex')}`,
    sizeBytes: offset,
    chunks,
    depth,
    reused: [...reused],
  };
}

function usableBase(base: DeltaBase): boolean {
  return base.sizeBytes >= MIN_DELTA_BASE_BYTES && base.depth + 1 < MAX_DELTA_DEPTH;
}

/** Reads the base file (verified, chunk by chunk) into a block index for delta matching. */
async function indexBase(reader: ChunkReader, base: DeltaBase): Promise<BlockIndex> {
  const builder = new BlockIndexBuilder(base.sizeBytes);
  const chunks = await reader.objectChunks(base.digest);
  await reader.prefetchRows(chunks.map((c) => c.digest));
  for (const chunk of chunks) builder.push(await reader.read(chunk.digest));
  return builder.finish();
}
