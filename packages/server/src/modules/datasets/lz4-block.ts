import { CairnError } from '@cairn/contract';
import { compress, compressSync, uncompress, uncompressSync } from 'lz4-napi';

/**
 * LZ4 block format as lz4-napi writes it: a 4-byte little-endian size of the
 * plain bytes, then the compressed block.
 */
const SIZE_PREFIX = 4;
const SAMPLE_BYTES = 4096;
/** A sample must shrink by at least this share for the whole input to be worth compressing. */
const MIN_SAMPLE_SAVING = 0.1;
/** Below this, the size prefix and token overhead leave nothing to win. */
const MIN_INPUT = 64;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The LZ4 form of `plain` when it is smaller, else null. Random-looking data
 * (already compressed files, images) is common in datasets and compressing it
 * whole would be wasted work, so a sample from the middle — headers are not
 * typical of the rest — decides first.
 */
export function lz4CompressIfSmaller(plain: Uint8Array): Uint8Array | null {
  if (!worthCompressing(plain)) return null;
  const compressed = compressSync(asBuffer(plain));
  return compressed.length < plain.length ? compressed : null;
}

/**
 * `lz4CompressIfSmaller` on the libuv thread pool (lz4-napi's async binding),
 * so compressing uses another core while the caller goes on chunking and hashing.
 */
export async function lz4CompressIfSmallerAsync(plain: Uint8Array): Promise<Uint8Array | null> {
  if (!worthCompressing(plain)) return null;
  const compressed = await compress(asBuffer(plain));
  return compressed.length < plain.length ? compressed : null;
}

function worthCompressing(plain: Uint8Array): boolean {
  if (plain.length < MIN_INPUT) return false;
  if (plain.length <= SAMPLE_BYTES) return true;
  const input = asBuffer(plain);
  const start = Math.floor((input.length - SAMPLE_BYTES) / 2);
  const sample = compressSync(input.subarray(start, start + SAMPLE_BYTES));
  return sample.length - SIZE_PREFIX <= SAMPLE_BYTES * (1 - MIN_SAMPLE_SAVING);
}

/**
 * Decompresses, insisting on exactly `expectedSize` bytes. The size prefix is
 * checked before lz4-napi sees the input, because it allocates whatever the
 * prefix claims: a hostile 4 GiB claim must not become a 4 GiB allocation.
 */
export function lz4DecompressExact(
  stored: Uint8Array,
  options: { expectedSize: number; what: string },
): Uint8Array {
  const { expectedSize, what } = options;
  checkClaimedSize(stored, options);
  let plain: Buffer;
  try {
    plain = uncompressSync(asBuffer(stored));
  } catch (error) {
    throw new CairnError('DATA_LOSS', `${what}: lz4 data is corrupt (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (plain.length !== expectedSize) {
    throw new CairnError(
      'DATA_LOSS',
      `${what}: lz4 data decoded to ${plain.length} bytes, expected ${expectedSize}`,
    );
  }
  return plain;
}

/** `lz4DecompressExact` on the thread pool, so reads decode several chunks at once on both cores. */
export async function lz4DecompressExactAsync(
  stored: Uint8Array,
  options: { expectedSize: number; what: string },
): Promise<Uint8Array> {
  const { expectedSize, what } = options;
  checkClaimedSize(stored, options);
  let plain: Buffer;
  try {
    plain = await uncompress(asBuffer(stored));
  } catch (error) {
    throw new CairnError('DATA_LOSS', `${what}: lz4 data is corrupt (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (plain.length !== expectedSize) {
    throw new CairnError(
      'DATA_LOSS',
      `${what}: lz4 data decoded to ${plain.length} bytes, expected ${expectedSize}`,
    );
  }
  return plain;
}

/** The size prefix must be exactly the size expected, before lz4-napi allocates what it claims. */
function checkClaimedSize(stored: Uint8Array, options: { expectedSize: number; what: string }): void {
  const { expectedSize, what } = options;
  if (stored.length <= SIZE_PREFIX) throw new CairnError('DATA_LOSS', `${what}: lz4 data is truncated`);
  const claimed = (stored[0]! | (stored[1]! << 8) | (stored[2]! << 16) | (stored[3]! << 24)) >>> 0;
  if (claimed !== expectedSize) {
    throw new CairnError('DATA_LOSS', `${what}: lz4 data claims ${claimed} bytes, expected ${expectedSize}`);
  }
}
