import { ModelFormatError } from './model-format-error.js';

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/). */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const WIRE_TYPE_NAMES = ['varint', 'i64', 'length-delimited', 'group start', 'group end', 'i32'];

export function wireTypeName(wireType: number): string {
  return WIRE_TYPE_NAMES[wireType] ?? `wire type ${wireType}`;
}

export interface FieldTag {
  field: number;
  wireType: number;
  /** Where the tag starts, for error messages. */
  offset: number;
}

export interface DecodedText {
  text: string;
  /** The field held more bytes than were kept. */
  truncated: boolean;
}

const EMPTY = new Uint8Array(0);
const MAX_VARINT_BYTES = 10;
const MAX_TAG_BYTES = 5;
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Reads protobuf wire format from a stream of chunks, holding only the current chunk: skipped fields are
 * discarded as they pass, so memory does not grow with the size of the message. Nested messages are
 * parsed by the caller with an absolute `end` offset (Infinity for the top level, where only the end of
 * the stream ends the message); every read checks it so that a field can never run past its parent.
 */
export class ProtobufStreamReader {
  private chunk: Uint8Array = EMPTY;
  private index = 0;
  /** Absolute offset of `chunk[0]`. */
  private chunkStart = 0;
  private exhausted = false;
  private readonly scratch = new Uint8Array(MAX_VARINT_BYTES);
  private readonly iterator: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.chunkStart + this.index;
  }

  /** True when the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    return this.index === this.chunk.length && !(await this.fill());
  }

  /** Whether the message ending at `end` has more fields. */
  async more(end: number): Promise<boolean> {
    return end === Infinity ? !(await this.atEnd()) : this.offset < end;
  }

  async readTag(end: number): Promise<FieldTag> {
    const offset = this.offset;
    const count = await this.readVarintBytes();
    if (count > MAX_TAG_BYTES)
      throw new ModelFormatError(`field tag longer than ${MAX_TAG_BYTES} bytes`, offset);
    const tag = this.decodeUnsigned(count);
    if (tag > 0xffffffff) throw new ModelFormatError('field tag larger than 32 bits', offset);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) throw new ModelFormatError('invalid field number 0', offset);
    if (wireType === 3 || wireType === 4) {
      throw new ModelFormatError(
        `unsupported ${wireTypeName(wireType)} (protobuf groups) in field ${field}`,
        offset,
      );
    }
    if (wireType > 5) throw new ModelFormatError(`invalid wire type ${wireType} in field ${field}`, offset);
    this.checkWithin(end, offset);
    return { field, wireType, offset };
  }

  /** An int64/int32/enum field: two's complement, so 10-byte encodings are negative. */
  async readInt64(end: number): Promise<number> {
    const offset = this.offset;
    const count = await this.readVarintBytes();
    this.checkWithin(end, offset);
    if (count <= 7) return this.decodeUnsigned(count);
    return Number(BigInt.asIntN(64, this.decodeBig(count)));
  }

  /** The length prefix of a length-delimited field, checked against the end of the enclosing message. */
  async readLength(end: number): Promise<number> {
    const offset = this.offset;
    const count = await this.readVarintBytes();
    const length = count <= 7 ? this.decodeUnsigned(count) : Number(this.decodeBig(count));
    if (!Number.isSafeInteger(length)) throw new ModelFormatError(`field length ${length} is absurd`, offset);
    if (this.offset + length > end) {
      throw new ModelFormatError(
        `field length ${length} runs past the end of the enclosing message at byte ${end}`,
        offset,
      );
    }
    return length;
  }

  /** Reads `length` bytes as UTF-8, keeping at most `maxBytes` of them and discarding the rest. */
  async readText(length: number, maxBytes: number): Promise<DecodedText> {
    const kept = Math.min(length, maxBytes);
    const bytes = await this.readBytes(kept);
    await this.skip(length - kept);
    let text = utf8.decode(bytes);
    // A cut can split a multi-byte character; its partial bytes decode to one replacement character.
    if (kept < length && text.endsWith('\uFFFD')) text = text.slice(0, -1);
    return { text, truncated: kept < length };
  }

  /** Copies `length` bytes out of the stream; callers bound `length`. */
  async readBytes(length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (this.index === this.chunk.length && !(await this.fill())) throw this.truncated(length - filled);
      const take = Math.min(length - filled, this.chunk.length - this.index);
      out.set(this.chunk.subarray(this.index, this.index + take), filled);
      this.index += take;
      filled += take;
    }
    return out;
  }

  /** Discards `length` bytes without keeping them. */
  async skip(length: number): Promise<void> {
    let left = length;
    while (left > 0) {
      if (this.index === this.chunk.length && !(await this.fill())) throw this.truncated(left);
      const take = Math.min(left, this.chunk.length - this.index);
      this.index += take;
      left -= take;
    }
  }

  /** Skips the value of a field this reader does not need. */
  async skipField(tag: FieldTag, end: number): Promise<void> {
    switch (tag.wireType) {
      case WIRE_VARINT: {
        const offset = this.offset;
        await this.readVarintBytes();
        this.checkWithin(end, offset);
        return;
      }
      case WIRE_I64:
      case WIRE_I32: {
        const size = tag.wireType === WIRE_I64 ? 8 : 4;
        if (this.offset + size > end) {
          throw new ModelFormatError(
            `${size}-byte field runs past the end of the enclosing message at byte ${end}`,
            this.offset,
          );
        }
        await this.skip(size);
        return;
      }
      default:
        await this.skip(await this.readLength(end));
    }
  }

  /** Releases the underlying stream (a Node Readable is destroyed) when parsing stops early. */
  async close(): Promise<void> {
    try {
      await this.iterator.return?.();
    } catch {
      // The parse result (or its error) is what the caller needs; a failing close adds nothing to it.
    }
  }

  private checkWithin(end: number, offset: number): void {
    if (this.offset > end) {
      throw new ModelFormatError(`field runs past the end of the enclosing message at byte ${end}`, offset);
    }
  }

  private truncated(missing: number): ModelFormatError {
    return new ModelFormatError(`truncated file: ${missing} more byte(s) expected`, this.offset);
  }

  /** Loads the next non-empty chunk; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (!this.exhausted) {
      const next = await this.iterator.next();
      this.chunkStart += this.chunk.length;
      this.chunk = EMPTY;
      this.index = 0;
      if (next.done === true) {
        this.exhausted = true;
      } else if (next.value.length > 0) {
        this.chunk = next.value;
        return true;
      }
    }
    return false;
  }

  /** Copies one varint's bytes into `scratch`; returns how many. */
  private async readVarintBytes(): Promise<number> {
    const start = this.offset;
    let count = 0;
    for (;;) {
      if (this.index === this.chunk.length && !(await this.fill())) throw this.truncated(1);
      const byte = this.chunk[this.index++] as number;
      this.scratch[count++] = byte;
      if (byte < 0x80) return count;
      if (count === MAX_VARINT_BYTES) {
        throw new ModelFormatError(`varint longer than ${MAX_VARINT_BYTES} bytes`, start);
      }
    }
  }

  /** Exact for up to 7 bytes (49 bits), which covers every tag, length and realistic number. */
  private decodeUnsigned(count: number): number {
    if (count > 7) return Number(this.decodeBig(count));
    let value = 0;
    let scale = 1;
    for (let i = 0; i < count; i++) {
      value += ((this.scratch[i] as number) & 0x7f) * scale;
      scale *= 128;
    }
    return value;
  }

  private decodeBig(count: number): bigint {
    let value = 0n;
    for (let i = count - 1; i >= 0; i--) value = (value << 7n) | BigInt((this.scratch[i] as number) & 0x7f);
    return BigInt.asUintN(64, value);
  }
}
