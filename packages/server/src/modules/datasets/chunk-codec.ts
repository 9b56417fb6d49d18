import { CairnError } from '@cairn/contract';
import { applyDelta, encodeDelta, parseDelta, serializeDelta, type BlockIndex } from './block-delta.js';
import type { ChunkEncoding } from './entities.js';
import { lz4CompressIfSmallerAsync, lz4DecompressExactAsync } from './lz4-block.js';

export interface EncodedChunk {
  encoding: ChunkEncoding;
  payload: Uint8Array;
}

export interface StoredChunk extends EncodedChunk {
  /** Plain size, from the chunk's row. */
  sizeBytes: number;
}

/** Reads `length` bytes at `offset` of a delta's base object. */
export type ReadBase = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * The smallest stored form of a chunk: raw, LZ4 (the compressed block as
 * lz4-block.ts writes it), or a delta against `index` (the base object).
 * Ties go to the form that is cheaper to read — raw, then LZ4 — since a
 * delta costs reads of its base on every decode. LZ4 runs on the thread pool.
 */
export async function encodeChunk(
  plain: Uint8Array,
  options: { index?: BlockIndex } = {},
): Promise<EncodedChunk> {
  let delta: Uint8Array | undefined;
  const { index } = options;
  if (index !== undefined && index.blockCount > 0 && plain.length >= index.blockSize) {
    delta = serializeDelta(encodeDelta(plain, index));
  }
  // A delta that already removed nine tenths of the chunk leaves lz4 nothing worth the time.
  const compressed =
    delta !== undefined && delta.length * 10 <= plain.length ? null : await lz4CompressIfSmallerAsync(plain);
  let best: EncodedChunk = { encoding: 'raw', payload: plain };
  if (compressed !== null) best = { encoding: 'lz4', payload: compressed };
  if (delta !== undefined && delta.length < best.payload.length) best = { encoding: 'delta', payload: delta };
  return best;
}

/**
 * The plain bytes of a stored chunk, exactly `sizeBytes` of them or a
 * DATA_LOSS error. The caller still checks them against the chunk's digest.
 */
export async function decodeChunk(stored: StoredChunk, readBase?: ReadBase): Promise<Uint8Array> {
  const { encoding, payload, sizeBytes } = stored;
  switch (encoding) {
    case 'raw':
      if (payload.length !== sizeBytes) {
        throw new CairnError('DATA_LOSS', `raw chunk holds ${payload.length} bytes, expected ${sizeBytes}`);
      }
      return payload;
    case 'lz4':
      return lz4DecompressExactAsync(payload, { expectedSize: sizeBytes, what: 'lz4 chunk' });
    case 'delta': {
      if (readBase === undefined) throw new CairnError('DATA_LOSS', 'delta chunk without a base to read');
      return applyDelta(parseDelta(payload, sizeBytes), readBase, sizeBytes);
    }
    default:
      throw new CairnError('DATA_LOSS', `unknown chunk encoding ${JSON.stringify(encoding as unknown)}`);
  }
}
