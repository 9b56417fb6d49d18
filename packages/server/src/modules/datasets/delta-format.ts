import { CairnError } from '@cairn/contract';
import { lz4CompressIfSmaller, lz4DecompressExact } from './lz4-block.js';

/** Copy `length` bytes of the base from `offset`, or take the next `length` literal bytes. */
export type DeltaOp = { kind: 'copy'; offset: number; length: number } | { kind: 'literal'; length: number };

/** A target described against a base: ops in target order, and every literal byte concatenated. */
export interface DeltaOps {
  /** Size of the base object the copies read from; every copy lies within it. */
  baseSize: number;
  targetSize: number;
  ops: DeltaOp[];
  literals: Uint8Array;
}

/**
 * Payload layout, version 1 (stored in packs, so only ever added to):
 *
 *   u8      format (1)
 *   u8      flags: bit 0 = the literal section is LZ4 (lz4-block.ts); other bits 0
 *   varint  baseSize
 *   varint  opCount
 *   opCount × { varint length·2 + kind (0 literal, 1 copy); copy only: varint offset }
 *   literal section: the rest of the payload
 *
 * Varints are unsigned LEB128, canonical (no trailing zero groups), at most
 * 2^53 - 1. Copy offsets are absolute: a chunk has few ops, and absolute
 * values leave nothing to get wrong.
 */
const FORMAT_V1 = 1;
const FLAG_LZ4 = 1;
const MAX_VARINT_BYTES = 8;

const dataLoss = (message: string): CairnError => new CairnError('DATA_LOSS', `corrupt delta: ${message}`);

export function serializeDelta(delta: DeltaOps): Uint8Array {
  const compressed = lz4CompressIfSmaller(delta.literals);
  const literals = compressed ?? delta.literals;
  const head = new ByteWriter(16 + delta.ops.length * 8);
  head.byte(FORMAT_V1);
  head.byte(compressed === null ? 0 : FLAG_LZ4);
  head.varint(delta.baseSize);
  head.varint(delta.ops.length);
  for (const op of delta.ops) {
    if (op.kind === 'copy') {
      head.varint(op.length * 2 + 1);
      head.varint(op.offset);
    } else {
      head.varint(op.length * 2);
    }
  }
  const payload = new Uint8Array(head.length + literals.length);
  payload.set(head.bytes(), 0);
  payload.set(literals, head.length);
  return payload;
}

/**
 * Reads a delta payload, trusting none of it: it comes from a pack on disk or
 * from another server's export. Every count and length is bounded by what is
 * left of the payload or of `expectedSize` before it is used, so a hostile
 * payload costs at most its own length in work and `expectedSize` in memory.
 */
export function parseDelta(payload: Uint8Array, expectedSize: number): DeltaOps {
  const reader = new ByteReader(payload);
  if (payload.length < 2) throw dataLoss('payload is truncated');
  const format = reader.byte();
  if (format !== FORMAT_V1) throw dataLoss(`unknown format ${format}`);
  const flags = reader.byte();
  if ((flags & ~FLAG_LZ4) !== 0) throw dataLoss(`unknown flags ${flags}`);
  const baseSize = reader.varint('base size');
  const opCount = reader.varint('op count');
  if (opCount > reader.remaining) throw dataLoss(`${opCount} ops cannot fit in ${reader.remaining} bytes`);
  const ops: DeltaOp[] = [];
  let total = 0;
  let literalTotal = 0;
  for (let i = 0; i < opCount; i++) {
    const word = reader.varint('op');
    const length = Math.floor(word / 2);
    if (length === 0) throw dataLoss(`op ${i} has length 0`);
    if (length > expectedSize - total) throw dataLoss(`ops describe more than ${expectedSize} bytes`);
    total += length;
    if (word % 2 === 1) {
      const offset = reader.varint('copy offset');
      if (offset > baseSize || length > baseSize - offset) {
        throw dataLoss(`op ${i} copies ${offset}+${length}, beyond the ${baseSize}-byte base`);
      }
      ops.push({ kind: 'copy', offset, length });
    } else {
      literalTotal += length;
      ops.push({ kind: 'literal', length });
    }
  }
  if (total !== expectedSize) throw dataLoss(`ops describe ${total} bytes, expected ${expectedSize}`);
  const section = payload.subarray(reader.offset);
  let literals: Uint8Array;
  if ((flags & FLAG_LZ4) !== 0) {
    literals = lz4DecompressExact(section, { expectedSize: literalTotal, what: 'corrupt delta literals' });
  } else {
    if (section.length !== literalTotal) {
      throw dataLoss(`literal section holds ${section.length} bytes, ops need ${literalTotal}`);
    }
    literals = section;
  }
  return { baseSize, targetSize: expectedSize, ops, literals };
}

class ByteWriter {
  private buffer: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buffer = new Uint8Array(capacity);
  }

  byte(value: number): void {
    if (this.length === this.buffer.length) {
      const grown = new Uint8Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.length++] = value;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a varint: ${value}`);
    while (value >= 0x80) {
      this.byte((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.byte(value);
  }

  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

class ByteReader {
  offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw dataLoss('payload is truncated');
    return this.bytes[this.offset++] as number;
  }

  /** Multiplication rather than shifts: values beyond 2^31 are legitimate offsets. */
  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.offset >= this.bytes.length) throw dataLoss(`${what} is truncated`);
      const byte = this.bytes[this.offset++] as number;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw dataLoss(`${what} is not a canonical varint`);
        if (!Number.isSafeInteger(value)) throw dataLoss(`${what} is too large`);
        return value;
      }
      scale *= 0x80;
    }
    throw dataLoss(`${what} is a varint longer than ${MAX_VARINT_BYTES} bytes`);
  }
}
