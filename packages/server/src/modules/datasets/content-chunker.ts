/**
 * Content-defined chunking, FastCDC-style (Xia et al., USENIX ATC 2016):
 * a rolling "gear" hash picks cut points from the bytes themselves, so an
 * insert or append moves only the chunks it touches and every other chunk
 * keeps its digest — what lets dataset versions share storage.
 *
 * Sizes, and why:
 * - average 64 KiB: a 1 GiB file is ~16,000 chunks, so a version's manifest
 *   stays ~1 MB and per-chunk store round trips stay a small share of the
 *   time, while an appended or edited region still costs only ~64 KiB extra;
 * - minimum 16 KiB: bytes before it are not hashed at all (FastCDC's
 *   cut-point skipping), which is most of its speed, and tiny chunks would
 *   only add metadata;
 * - maximum 256 KiB: bounds memory per chunk and the damage of data with no
 *   cut points (long runs of one byte).
 * Normalised chunking (level 2): below the average a stricter mask (18 bits)
 * makes early cuts rare, above it a looser one (14 bits) makes late cuts
 * likely, which narrows the size spread around 64 KiB.
 *
 * These numbers and the gear table decide every chunk boundary ever stored:
 * changing any of them makes old and new versions share nothing. A test pins
 * them.
 */
export const CHUNK_SIZES = Object.freeze({ min: 16 * 1024, average: 64 * 1024, max: 256 * 1024 });

/** Cut masks use the hash's high bits: with a shift-left gear hash they mix the last 32 bytes, the low bits only the last few. */
const MASK_STRICT = (((1 << 18) - 1) << 14) | 0;
const MASK_LOOSE = (((1 << 14) - 1) << 18) | 0;

/**
 * 256 pseudo-random 32-bit values from a fixed seed (splitmix32), written as a
 * generator rather than a literal table so the origin is checkable.
 */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  let state = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    table[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return table;
})();

/**
 * Splits a byte stream into chunks as it arrives, whatever the sizes of the
 * pieces pushed: the chunks depend only on the bytes. Memory is one chunk
 * buffer (the maximum chunk size) whatever the input's length.
 */
/** The same table as signed 32-bit words: int32 arithmetic keeps the hot loop off heap numbers. */
const GEAR_INT32 = new Int32Array(GEAR.buffer, GEAR.byteOffset, GEAR.length);

export class ContentChunker {
  /** Views of the pushed pieces that make up the chunk in progress (no copies until a chunk spans pieces). */
  private parts: Uint8Array[] = [];
  private length = 0;
  private hash = 0;

  /**
   * The chunks completed by these bytes, in order. A chunk inside one pushed
   * piece is a view of it, so pieces must not be reused after being pushed
   * (stream pieces never are); a chunk spanning pieces is a fresh buffer.
   */
  push(data: Uint8Array): Buffer[] {
    const chunks: Buffer[] = [];
    let position = 0;
    while (position < data.length) {
      if (this.length < CHUNK_SIZES.min) {
        // Cut-point skipping: no cut can fall before the minimum, so these bytes are taken unhashed.
        const take = Math.min(CHUNK_SIZES.min - this.length, data.length - position);
        this.parts.push(data.subarray(position, position + take));
        this.length += take;
        position += take;
        continue;
      }
      const end = this.scan(data, position);
      if (end.index > position) this.parts.push(data.subarray(position, end.index));
      this.length = end.length;
      position = end.index;
      if (end.cut) chunks.push(this.take());
    }
    return chunks;
  }

  /** The last chunk (shorter than the minimum, possibly), or nothing when the stream ended on a cut. */
  end(): Buffer[] {
    return this.length === 0 ? [] : [this.take()];
  }

  /**
   * Hashes from `start` until a cut point or the end of `data`. The loop is
   * split where the mask changes (strict below the average size, loose above)
   * and runs in int32 arithmetic on an Int32Array view of the gear table, so
   * the hot path is one load, a shift-add and a test per byte: the cut points
   * are bit-for-bit those of the plain uint32 formulation.
   */
  private scan(data: Uint8Array, start: number): { index: number; length: number; cut: boolean } {
    const gear = GEAR_INT32;
    // The chunk's length after the byte at index i is consumed is base + i + 1.
    const base = this.length - start;
    const end = data.length;
    let hash = this.hash | 0;
    let i = start;
    const strictEnd = Math.min(end, CHUNK_SIZES.average - 1 - base);
    while (i < strictEnd) {
      hash = ((hash << 1) + gear[data[i]!]!) | 0;
      i++;
      if ((hash & MASK_STRICT) === 0) return this.cutAt(i, base);
    }
    const looseEnd = Math.min(end, CHUNK_SIZES.max - base);
    while (i < looseEnd) {
      hash = ((hash << 1) + gear[data[i]!]!) | 0;
      i++;
      if ((hash & MASK_LOOSE) === 0) return this.cutAt(i, base);
    }
    if (base + i >= CHUNK_SIZES.max) return this.cutAt(i, base);
    this.hash = hash;
    return { index: i, length: base + i, cut: false };
  }

  private cutAt(index: number, base: number): { index: number; length: number; cut: boolean } {
    this.hash = 0;
    return { index, length: base + index, cut: true };
  }

  private take(): Buffer {
    const only = this.parts.length === 1 ? this.parts[0]! : undefined;
    const chunk =
      only !== undefined
        ? Buffer.from(only.buffer, only.byteOffset, only.byteLength)
        : Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    this.hash = 0;
    return chunk;
  }
}

/** Chunks of a whole stream, yielded as they complete. */
export async function* chunkStream(source: AsyncIterable<Uint8Array>): AsyncIterable<Buffer> {
  const chunker = new ContentChunker();
  for await (const piece of source) yield* chunker.push(piece);
  yield* chunker.end();
}
