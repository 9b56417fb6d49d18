import { CairnError } from '@cairn/contract';
import type { DeltaOp, DeltaOps } from './delta-format.js';
import { bucketOf, rollTableFor, StrongHasher, WEAK_TABLE, weakChecksum } from './rolling-checksum.js';

export type { DeltaOp, DeltaOps } from './delta-format.js';
export { parseDelta, serializeDelta } from './delta-format.js';

/**
 * rsync-style block matching (Tridgell & Mackerras): the base is cut into
 * fixed blocks and indexed by fingerprint; the target is scanned at every
 * byte offset, so data shifted by inserts or deletes still matches.
 */

const MIN_BLOCK_SIZE = 256;
export const MAX_INDEXED_BLOCKS = 8_388_608;
/** Int32 words per block outside the hash table: weak, strong1, strong2. */
const WORDS_PER_BLOCK = 3;
const MIN_TABLE_SIZE = 16;
/** Filter words per hash-table slot, as a power of two (1/4: 8 bits a slot, 16–32 a block). */
const SLOTS_PER_FILTER_WORD_LOG2 = 2;

/**
 * Block size for a base of `baseSize` bytes: 256, doubled until the base has
 * at most 8 Mi full blocks.
 *
 * Small blocks are what make deltas of tables pay: an edited CSV row spoils
 * the one or two blocks around it, so a 1% scattered-row edit costs roughly
 * (changed rows × ~1.5 blocks) of literal bytes — a few % of the file at 256
 * bytes, where 2 KiB blocks (rsync's default for large files) would make
 * nearly every block literal (at 512 bytes a 1 GiB table edited this way
 * already stores 5.4%, at 256 about 3%). Each block costs 22–32 bytes of index
 * (12 of fingerprints, 8–16 of hash table at load ≤ 0.5, 2–4 of filter), so
 * the cap keeps an index under ~260 MB whatever the base's size: files up to
 * 2 GiB keep 256-byte blocks, larger ones get larger blocks.
 */
export function blockSizeFor(baseSize: number): number {
  let blockSize = MIN_BLOCK_SIZE;
  while (Math.floor(baseSize / blockSize) > MAX_INDEXED_BLOCKS) blockSize *= 2;
  return blockSize;
}

/** A `BlockIndex` as a structured-cloneable value: posting it to a worker shares the memory, copying nothing. */
export interface SharedBlockIndex {
  buffer: SharedArrayBuffer;
  baseSize: number;
  blockSize: number;
  blockCount: number;
  tableSize: number;
}

/**
 * Fingerprints of every full block of a base, and an open-addressing table
 * from weak checksum to block number (+1; 0 marks an empty slot).
 *
 * In front of the table sits a Bloom filter (two bits per block, both in one
 * 32-bit word; 16–32 bits per block) that turns away ~98% of the target
 * offsets matching nothing with one load and a well-predicted branch. Without
 * it half the lookups land on an occupied slot at random, and the branch
 * mispredictions alone held scans of new data to a few tens of MB/s.
 *
 * Layout of the one shared buffer, all 32-bit words: weak[blockCount],
 * strong1[blockCount], strong2[blockCount], table[tableSize],
 * filter[tableSize / 4].
 */
export class BlockIndex {
  readonly weak: Int32Array;
  readonly strong1: Int32Array;
  readonly strong2: Int32Array;
  readonly table: Int32Array;
  readonly filter: Int32Array;
  /** 32 - log2(table size), for `bucketOf`. */
  readonly tableShift: number;
  /** 32 - log2(filter words), for `bucketOf`. */
  readonly filterShift: number;

  private constructor(private readonly shared: SharedBlockIndex) {
    const { buffer, blockCount, tableSize } = shared;
    this.tableShift = 32 - Math.log2(tableSize);
    this.filterShift = this.tableShift + SLOTS_PER_FILTER_WORD_LOG2;
    this.weak = new Int32Array(buffer, 0, blockCount);
    this.strong1 = new Int32Array(buffer, blockCount * 4, blockCount);
    this.strong2 = new Int32Array(buffer, blockCount * 8, blockCount);
    this.table = new Int32Array(buffer, blockCount * 12, tableSize);
    this.filter = new Int32Array(buffer, (blockCount * 3 + tableSize) * 4, filterWords(tableSize));
  }

  get baseSize(): number {
    return this.shared.baseSize;
  }
  get blockSize(): number {
    return this.shared.blockSize;
  }
  get blockCount(): number {
    return this.shared.blockCount;
  }

  toShared(): SharedBlockIndex {
    return { ...this.shared };
  }

  static fromShared(shared: SharedBlockIndex): BlockIndex {
    const { buffer, baseSize, blockSize, blockCount, tableSize } = shared;
    const valid =
      buffer instanceof SharedArrayBuffer &&
      Number.isSafeInteger(baseSize) &&
      baseSize >= 0 &&
      blockSize === blockSizeFor(baseSize) &&
      blockCount === Math.floor(baseSize / blockSize) &&
      tableSize === tableSizeFor(blockCount) &&
      buffer.byteLength === bufferBytes(blockCount, tableSize);
    if (!valid) throw new CairnError('INTERNAL', 'not a shared block index');
    return new BlockIndex({ buffer, baseSize, blockSize, blockCount, tableSize });
  }
}

function tableSizeFor(blockCount: number): number {
  let size = MIN_TABLE_SIZE;
  while (size < blockCount * 2) size *= 2;
  return size;
}

const filterWords = (tableSize: number): number => tableSize >>> SLOTS_PER_FILTER_WORD_LOG2;

/** The two bits a weak checksum sets in its filter word, from a multiplier independent of `bucketOf`'s. */
function filterBits(weak: number): number {
  const m = Math.imul(weak, 0x85ebca6b);
  return (1 << (m >>> 27)) | (1 << ((m >>> 22) & 31));
}

const bufferBytes = (blockCount: number, tableSize: number): number =>
  (blockCount * WORDS_PER_BLOCK + tableSize + filterWords(tableSize)) * 4;

/**
 * Builds the index of a base streamed in pieces of any size. Memory is the
 * index plus one block; the bytes themselves are not kept.
 */
export class BlockIndexBuilder {
  private readonly index: BlockIndex;
  private readonly hasher: StrongHasher;
  private readonly pending: Uint8Array;
  private pendingLength = 0;
  private received = 0;
  private blocks = 0;
  private finished = false;

  constructor(private readonly baseSize: number) {
    if (!Number.isSafeInteger(baseSize) || baseSize < 0) {
      throw new CairnError('INTERNAL', `invalid base size ${baseSize}`);
    }
    const blockSize = blockSizeFor(baseSize);
    const blockCount = Math.floor(baseSize / blockSize);
    const tableSize = tableSizeFor(blockCount);
    const buffer = new SharedArrayBuffer(bufferBytes(blockCount, tableSize));
    this.index = BlockIndex.fromShared({ buffer, baseSize, blockSize, blockCount, tableSize });
    this.hasher = new StrongHasher(blockSize);
    this.pending = new Uint8Array(blockSize);
  }

  push(bytes: Uint8Array): void {
    if (this.finished) throw new CairnError('INTERNAL', 'block index already finished');
    if (bytes.length > this.baseSize - this.received) {
      throw new CairnError('DATA_LOSS', `base yielded more than its ${this.baseSize} bytes`);
    }
    this.received += bytes.length;
    const blockSize = this.index.blockSize;
    let at = 0;
    while (at < bytes.length) {
      if (this.pendingLength === 0 && bytes.length - at >= blockSize) {
        this.add(bytes, at);
        at += blockSize;
        continue;
      }
      // A block split across pieces is assembled first; the tail after the last full block only ever lands here.
      const take = Math.min(blockSize - this.pendingLength, bytes.length - at);
      this.pending.set(bytes.subarray(at, at + take), this.pendingLength);
      this.pendingLength += take;
      at += take;
      if (this.pendingLength === blockSize) {
        this.add(this.pending, 0);
        this.pendingLength = 0;
      }
    }
  }

  finish(): BlockIndex {
    if (this.received !== this.baseSize) {
      throw new CairnError('DATA_LOSS', `base yielded ${this.received} bytes, expected ${this.baseSize}`);
    }
    this.finished = true;
    return this.index;
  }

  private add(bytes: Uint8Array, start: number): void {
    const { weak, strong1, strong2, table, filter, blockSize } = this.index;
    const block = this.blocks++;
    const w = weakChecksum(bytes, start, blockSize);
    this.hasher.hash(bytes, start);
    const { h1, h2 } = this.hasher;
    weak[block] = w;
    strong1[block] = h1;
    strong2[block] = h2;
    const word = bucketOf(w, this.index.filterShift);
    filter[word] = (filter[word] as number) | filterBits(w);
    const mask = table.length - 1;
    let slot = bucketOf(w, this.index.tableShift);
    for (;;) {
      const entry = table[slot] as number;
      if (entry === 0) {
        table[slot] = block + 1;
        return;
      }
      const other = entry - 1;
      // A repeat of an indexed block adds nothing: copies point at the first.
      if (weak[other] === w && strong1[other] === h1 && strong2[other] === h2) return;
      slot = (slot + 1) & mask;
    }
  }
}

/**
 * Describes `target` as copies of base blocks and literal bytes. Where the
 * last copy ended at base block i, block i + 1 is tried first by strong hash
 * alone — long unchanged runs then cost one hash per block and come out as a
 * single copy op. Elsewhere the weak checksum rolls byte by byte and the
 * strong hash is computed only on a weak hit.
 */
export function encodeDelta(target: Uint8Array, index: BlockIndex): DeltaOps {
  const out = new OpsWriter(target, index.baseSize);
  const blockSize = index.blockSize;
  const last = target.length - blockSize;
  if (index.blockCount === 0 || last < 0) {
    out.literal(0, target.length);
    return out.finish(target.length);
  }
  const scanner = new Scanner(index, target);
  let pos = 0;
  let literalStart = 0;
  let next = -1;
  while (pos <= last) {
    if (next >= 0 && scanner.matchesBlock(pos, next)) {
      out.copy({ offset: next * blockSize, length: blockSize });
    } else {
      pos = scanner.seek(pos);
      if (pos < 0) break;
      next = scanner.found;
      out.literal(literalStart, pos);
      out.copy({ offset: next * blockSize, length: blockSize });
    }
    pos += blockSize;
    literalStart = pos;
    next++;
  }
  out.literal(literalStart, target.length);
  return out.finish(target.length);
}

/** The matching machinery of one `encodeDelta` call, kept apart so the rolling loop stays small enough to optimise well. */
class Scanner {
  /** The base block of the last match. */
  found = -1;
  private readonly hasher: StrongHasher;
  private readonly roll: Int32Array;
  private hashedAt = -1;

  constructor(
    private readonly index: BlockIndex,
    private readonly target: Uint8Array,
  ) {
    this.hasher = new StrongHasher(index.blockSize);
    this.roll = rollTableFor(index.blockSize);
  }

  /** Whether the block at `pos` equals base block `block`, by strong hash. */
  matchesBlock(pos: number, block: number): boolean {
    if (block >= this.index.blockCount) return false;
    this.strongAt(pos);
    return this.hasher.h1 === this.index.strong1[block] && this.hasher.h2 === this.index.strong2[block];
  }

  /** The first offset from `pos` whose block matches a base block (then in `found`), or -1. */
  seek(pos: number): number {
    const target = this.target;
    const { filter, filterShift, blockSize } = this.index;
    const roll = this.roll;
    const weakTable = WEAK_TABLE;
    const last = target.length - blockSize;
    let a = 0;
    let b = 0;
    for (let i = pos; i < pos + blockSize; i++) {
      a = (a + (weakTable[target[i]!] as number)) & 0xffff;
      b = (b + a) & 0xffff;
    }
    for (;;) {
      const w = (b << 16) | a;
      const bits = filterBits(w);
      if (((filter[bucketOf(w, filterShift)] as number) & bits) === bits && this.lookup(w, pos)) return pos;
      if (pos === last) return -1;
      const leaving = target[pos] as number;
      const entering = target[pos + blockSize] as number;
      a = (a - (weakTable[leaving] as number) + (weakTable[entering] as number)) & 0xffff;
      b = (b - (roll[leaving] as number) + a) & 0xffff;
      pos++;
    }
  }

  private lookup(w: number, pos: number): boolean {
    const { weak, strong1, strong2, table, tableShift } = this.index;
    const mask = table.length - 1;
    let slot = bucketOf(w, tableShift);
    for (let entry = table[slot] as number; entry !== 0; entry = table[slot] as number) {
      const block = entry - 1;
      if (weak[block] === w) {
        this.strongAt(pos);
        if (strong1[block] === this.hasher.h1 && strong2[block] === this.hasher.h2) {
          this.found = block;
          return true;
        }
      }
      slot = (slot + 1) & mask;
    }
    return false;
  }

  private strongAt(pos: number): void {
    if (this.hashedAt === pos) return;
    this.hasher.hash(this.target, pos);
    this.hashedAt = pos;
  }
}

/** Collects ops, merging a copy that continues the previous one, and literal ranges of the target. */
class OpsWriter {
  private readonly ops: DeltaOp[] = [];
  private readonly ranges: number[] = [];
  private literalBytes = 0;

  constructor(
    private readonly target: Uint8Array,
    private readonly baseSize: number,
  ) {}

  literal(start: number, end: number): void {
    if (end <= start) return;
    this.ops.push({ kind: 'literal', length: end - start });
    this.ranges.push(start, end);
    this.literalBytes += end - start;
  }

  copy(range: { offset: number; length: number }): void {
    const previous = this.ops[this.ops.length - 1];
    if (previous?.kind === 'copy' && previous.offset + previous.length === range.offset) {
      previous.length += range.length;
    } else {
      this.ops.push({ kind: 'copy', offset: range.offset, length: range.length });
    }
  }

  finish(targetSize: number): DeltaOps {
    const literals = new Uint8Array(this.literalBytes);
    let at = 0;
    for (let i = 0; i < this.ranges.length; i += 2) {
      const piece = this.target.subarray(this.ranges[i], this.ranges[i + 1]);
      literals.set(piece, at);
      at += piece.length;
    }
    return { baseSize: this.baseSize, targetSize, ops: this.ops, literals };
  }
}

/**
 * Rebuilds a target from a parsed delta. `readBase` is asked only for ranges
 * inside `delta.baseSize`; what it returns is checked, since a base object
 * shorter than recorded must not pass as a good chunk.
 */
export async function applyDelta(
  delta: DeltaOps,
  readBase: (offset: number, length: number) => Promise<Uint8Array>,
  expectedSize: number,
): Promise<Uint8Array> {
  const described = delta.ops.reduce((sum, op) => sum + op.length, 0);
  if (described !== expectedSize || delta.targetSize !== expectedSize) {
    throw new CairnError(
      'DATA_LOSS',
      `corrupt delta: ops describe ${described} bytes, expected ${expectedSize}`,
    );
  }
  const output = new Uint8Array(expectedSize);
  let at = 0;
  let literalAt = 0;
  for (const op of delta.ops) {
    if (op.kind === 'literal') {
      if (literalAt + op.length > delta.literals.length) {
        throw new CairnError('DATA_LOSS', 'corrupt delta: literal bytes run out');
      }
      output.set(delta.literals.subarray(literalAt, literalAt + op.length), at);
      literalAt += op.length;
    } else {
      if (op.offset < 0 || op.offset + op.length > delta.baseSize) {
        throw new CairnError('DATA_LOSS', `corrupt delta: copy ${op.offset}+${op.length} beyond the base`);
      }
      const bytes = await readBase(op.offset, op.length);
      if (bytes.length !== op.length) {
        throw new CairnError(
          'DATA_LOSS',
          `delta base returned ${bytes.length} bytes at offset ${op.offset}, expected ${op.length}`,
        );
      }
      output.set(bytes, at);
    }
    at += op.length;
  }
  if (literalAt !== delta.literals.length) {
    throw new CairnError('DATA_LOSS', 'corrupt delta: literal bytes left over');
  }
  return output;
}
