import { createHash } from 'node:crypto';
import { CairnError } from '@cairn/contract';
import type { BlobStore, Digest } from '../artifacts/index.js';
import { decodeChunk } from './chunk-codec.js';
import type { DatasetStore } from './datasets.store.js';
import type { ChunkRecord, ObjectChunk } from './entities.js';
import { ByteBudgetCache } from './byte-budget-cache.js';

/** Decoded chunks kept for re-reads: delta bases are read in runs, so a modest cache absorbs them. */
const DECODED_CACHE_BYTES = 64 * 1024 * 1024;
const ROW_CACHE_ENTRIES = 200_000;
const OBJECT_CACHE_ENTRIES = 256;

/**
 * Reads chunks back: finds the stored bytes in their pack, decodes them
 * (following delta bases, whose depth is bounded when written), and checks
 * the result against the chunk's sha256 — every read is verified.
 */
export class ChunkReader {
  readonly #store: DatasetStore;
  readonly #blobs: BlobStore;
  readonly #rows = new ByteBudgetCache<Digest, ChunkRecord>(ROW_CACHE_ENTRIES);
  readonly #decoded = new ByteBudgetCache<Digest, Buffer>(DECODED_CACHE_BYTES);
  readonly #objects = new ByteBudgetCache<Digest, ObjectChunk[]>(OBJECT_CACHE_ENTRIES);

  constructor(deps: { store: DatasetStore; blobs: BlobStore }) {
    this.#store = deps.store;
    this.#blobs = deps.blobs;
  }

  /** Loads rows for many chunks in one query (before reading them one by one). */
  async prefetchRows(digests: readonly Digest[]): Promise<void> {
    const wanted = digests.filter((d) => this.#rows.get(d) === undefined);
    if (wanted.length === 0) return;
    for (const row of await this.#store.getChunks(wanted)) this.#rows.set(row.digest, row, 1);
  }

  async row(digest: Digest): Promise<ChunkRecord> {
    const cached = this.#rows.get(digest);
    if (cached !== undefined) return cached;
    const [row] = await this.#store.getChunks([digest]);
    if (row === undefined) throw new CairnError('DATA_LOSS', `chunk ${digest} is not in the store`);
    this.#rows.set(digest, row, 1);
    return row;
  }

  /** The stored (encoded) bytes, as they sit in the pack — for export. */
  async stored(digest: Digest): Promise<{ row: ChunkRecord; payload: Buffer }> {
    const row = await this.row(digest);
    try {
      return { row, payload: await this.#slice(row) };
    } catch (error) {
      if (!(error instanceof CairnError) || error.code !== 'NOT_FOUND') throw error;
    }
    // Garbage collection may have copied the chunk to a new pack and removed the old one since
    // the row was read: the row in the store says where it lives now.
    const [fresh] = await this.#store.getChunks([digest]);
    if (fresh === undefined) throw new CairnError('DATA_LOSS', `chunk ${digest} is not in the store`);
    this.#rows.set(digest, fresh, 1);
    try {
      return { row: fresh, payload: await this.#slice(fresh) };
    } catch (error) {
      if (!(error instanceof CairnError) || error.code !== 'NOT_FOUND') throw error;
      throw new CairnError(
        'DATA_LOSS',
        `chunk ${digest} is lost: its pack ${fresh.packDigest} is not in the blob store`,
      );
    }
  }

  #slice(row: ChunkRecord): Promise<Buffer> {
    return this.#blobs.getRange(row.packDigest, { offset: row.packOffset, length: row.storedBytes });
  }

  /** The chunk's plain bytes, verified against its digest. */
  async read(digest: Digest): Promise<Buffer> {
    const cached = this.#decoded.get(digest);
    if (cached !== undefined) return cached;
    const { row, payload } = await this.stored(digest);
    let plain: Uint8Array;
    try {
      plain = await decodeChunk(
        { encoding: row.encoding, payload, sizeBytes: row.sizeBytes },
        row.baseObject === null
          ? undefined
          : (offset, length) => this.readObjectRange(row.baseObject!, { offset, length }),
      );
    } catch (error) {
      throw corrupt(digest, (error as Error).message);
    }
    const bytes = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
    if (sha256(bytes) !== digest) throw corrupt(digest, 'its bytes do not hash to its digest');
    this.#decoded.set(digest, bytes, bytes.length);
    return bytes;
  }

  async objectChunks(objectDigest: Digest): Promise<ObjectChunk[]> {
    const cached = this.#objects.get(objectDigest);
    if (cached !== undefined) return cached;
    const chunks = await this.#store.getObjectChunks(objectDigest);
    this.#objects.set(objectDigest, chunks, 1);
    return chunks;
  }

  /** Bytes [offset, offset + length) of a file object, assembled from its verified chunks. */
  async readObjectRange(objectDigest: Digest, range: { offset: number; length: number }): Promise<Buffer> {
    const chunks = await this.objectChunks(objectDigest);
    const out = Buffer.allocUnsafe(range.length);
    const end = range.offset + range.length;
    let written = 0;
    for (let i = firstChunkAt(chunks, range.offset); i < chunks.length && written < range.length; i++) {
      const chunk = chunks[i]!;
      if (chunk.offset >= end) break;
      const bytes = await this.read(chunk.digest);
      const from = Math.max(range.offset, chunk.offset) - chunk.offset;
      const to = Math.min(end, chunk.offset + chunk.sizeBytes) - chunk.offset;
      bytes.copy(out, written, from, to);
      written += to - from;
    }
    if (written !== range.length) {
      throw new CairnError('DATA_LOSS', `file object ${objectDigest} is shorter than a delta that reads it`);
    }
    return out;
  }
}

/** Index of the chunk holding `offset` (binary search over ascending offsets). */
function firstChunkAt(chunks: readonly ObjectChunk[], offset: number): number {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (chunks[mid]!.offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function sha256(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function corrupt(digest: Digest, why: string): CairnError {
  return new CairnError('DATA_LOSS', `chunk ${digest} is corrupt: ${why}`);
}
