import { compress, compressSync } from 'lz4-napi';
import { encodeDelta, serializeDelta, type BlockIndex } from './block-delta.js';
import type { ChunkEncoding } from './entities.js';

/** Bytes compressed first to learn whether a chunk is worth compressing at all. */
const SAMPLE_BYTES = 4096;
/** A sample must shrink at least this much, or the chunk is stored as it is (random or already compressed data). */
const WORTHWHILE_RATIO = 0.9;

export interface EncodedForm {
  encoding: ChunkEncoding;
  payload: Uint8Array;
}

/**
 * Picks the smallest stored form of a new chunk: as it is, lz4, or a delta
 * against the base's block index. lz4 runs on the libuv thread pool (the
 * async binding), so compression uses the second core while this thread
 * goes on chunking and hashing.
 */
export async function encodeChunkAsync(plain: Buffer, index: BlockIndex | undefined): Promise<EncodedForm> {
  let best: EncodedForm = { encoding: 'raw', payload: plain };
  if (index !== undefined) {
    const delta = serializeDelta(encodeDelta(plain, index));
    if (delta.length < best.payload.length) best = { encoding: 'delta', payload: delta };
  }
  // A delta that already removed nine tenths of the chunk leaves little for lz4 to win.
  if (best.payload.length * 10 <= plain.length || !worthCompressing(plain)) return best;
  const packed = await compress(plain);
  return packed.length < best.payload.length ? { encoding: 'lz4', payload: packed } : best;
}

function worthCompressing(plain: Buffer): boolean {
  if (plain.length <= SAMPLE_BYTES) return true;
  const start = (plain.length - SAMPLE_BYTES) >>> 1;
  const sample = plain.subarray(start, start + SAMPLE_BYTES);
  return compressSync(sample).length <= sample.length * WORTHWHILE_RATIO;
}
