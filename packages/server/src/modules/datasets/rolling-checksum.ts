/**
 * The two block fingerprints of the rsync algorithm (Tridgell & Mackerras,
 * 1996): a weak checksum cheap enough to slide over every byte offset of the
 * new data, and a strong hash checked only where the weak one hits.
 *
 * Neither is ever stored on disk — an index is rebuilt from the base bytes
 * whenever a delta is made — so both may change freely between releases.
 */

/**
 * Adler-style sums over a substitution table rather than over raw bytes: CSV
 * and other text use a few dozen byte values, whose plain sums crowd into a
 * narrow range and collide constantly. Sums of 16-bit pseudo-random values
 * spread evenly over both halves of the checksum whatever the input alphabet.
 * Values come from a fixed-seed generator (splitmix32) so the table is
 * reproducible without being written out.
 */
export const WEAK_TABLE: Int32Array = (() => {
  const table = new Int32Array(256);
  let state = 0x2545f491;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = (z ^ (z >>> 16)) & 0xffff;
  }
  return table;
})();

/**
 * The weak checksum of `blockSize` bytes from `start`, as a signed 32-bit
 * integer: `a` (sum of table values) in the low half, `b` (each value
 * weighted by its distance from the window's end) in the high half — the
 * form that rolls by one byte in O(1), see `rollTableFor`.
 */
export function weakChecksum(bytes: Uint8Array, start: number, blockSize: number): number {
  let a = 0;
  let b = 0;
  const end = start + blockSize;
  for (let i = start; i < end; i++) {
    a = (a + (WEAK_TABLE[bytes[i]!] as number)) & 0xffff;
    b = (b + a) & 0xffff;
  }
  return (b << 16) | a;
}

/**
 * `blockSize * WEAK_TABLE[x] mod 2^16` for each byte value: what a byte
 * leaving the window takes out of `b`. Rolling from window `[p, p+B)` to
 * `[p+1, p+B+1)` with `out = bytes[p]`, `in = bytes[p+B]`:
 *   a' = a - T[out] + T[in];   b' = b - B·T[out] + a'   (all mod 2^16)
 */
export function rollTableFor(blockSize: number): Int32Array {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = Math.imul(blockSize, WEAK_TABLE[i] as number) & 0xffff;
  return table;
}

/** Spreads a weak checksum over a power-of-two hash table (Fibonacci hashing); `shift` = 32 - log2(size). */
export function bucketOf(weak: number, shift: number): number {
  return Math.imul(weak, 0x9e3779b1) >>> shift;
}

/**
 * A 64-bit block hash made of two 32-bit multiply-mix hashes with unrelated
 * constants and seeds (MurmurHash3's x86_32 body, and the same shape with
 * its finaliser constants), so a collision needs both to collide at once.
 * Not cryptographic: a false match only costs a chunk that fails its sha256
 * check, and the caller verifies every decoded chunk.
 *
 * A class with result fields so the hot loops get two numbers back without
 * allocating.
 */
export class StrongHasher {
  h1 = 0;
  h2 = 0;

  /** `blockSize` must be a multiple of 4: the hash reads little-endian 32-bit words. */
  constructor(readonly blockSize: number) {}

  hash(bytes: Uint8Array, start: number): void {
    let h1 = 0x3c6ef372;
    let h2 = 0x1b873593 ^ 0x5bd1e995;
    const end = start + this.blockSize;
    for (let i = start; i < end; i += 4) {
      const k =
        (bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24);
      let k1 = Math.imul(k, 0xcc9e2d51);
      k1 = Math.imul((k1 << 15) | (k1 >>> 17), 0x1b873593);
      h1 ^= k1;
      h1 = (Math.imul((h1 << 13) | (h1 >>> 19), 5) + 0xe6546b64) | 0;
      let k2 = Math.imul(k, 0x85ebca6b);
      k2 = Math.imul((k2 << 13) | (k2 >>> 19), 0xc2b2ae35);
      h2 ^= k2;
      h2 = (Math.imul((h2 << 17) | (h2 >>> 15), 9) + 0x52dce729) | 0;
    }
    this.h1 = fmix32(h1 ^ this.blockSize);
    this.h2 = fmix32(h2 ^ Math.imul(this.blockSize, 0x27d4eb2f));
  }
}

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
