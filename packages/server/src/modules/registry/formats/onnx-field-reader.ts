import { ModelFormatError } from './model-format-error.js';
import type { OnnxLimits } from './onnx-limits.js';
import {
  WIRE_LEN,
  WIRE_VARINT,
  wireTypeName,
  type FieldTag,
  type ProtobufStreamReader,
} from './protobuf-stream.js';

/**
 * Typed field access over the protobuf stream for the ONNX readers: wire types are checked against
 * what onnx.proto says, strings are bounded, and everything kept counts against one memory budget.
 */
export class OnnxFieldReader {
  private retained = 0;

  constructor(
    private readonly reader: ProtobufStreamReader,
    readonly limits: OnnxLimits,
  ) {}

  get offset(): number {
    return this.reader.offset;
  }

  /** Runs `visit` on each field of the message ending at `end`; fields it does not take are skipped. */
  async fields(end: number, visit: (tag: FieldTag) => Promise<boolean>): Promise<void> {
    while (await this.reader.more(end)) {
      const tag = await this.reader.readTag(end);
      if (!(await visit(tag))) await this.reader.skipField(tag, end);
    }
  }

  async messageEnd(tag: FieldTag, end: number, what: string): Promise<number> {
    this.expectWireType(tag, WIRE_LEN, what);
    const length = await this.reader.readLength(end);
    return this.reader.offset + length;
  }

  async int64(tag: FieldTag, end: number, what: string): Promise<number> {
    this.expectWireType(tag, WIRE_VARINT, what);
    return this.reader.readInt64(end);
  }

  /** A string kept up to `maxBytes` (default maxTextBytes) and marked with … when cut. */
  async text(
    tag: FieldTag,
    end: number,
    field: string | { what: string; maxBytes: number },
  ): Promise<string> {
    const { what, maxBytes } =
      typeof field === 'string' ? { what: field, maxBytes: this.limits.maxTextBytes } : field;
    this.expectWireType(tag, WIRE_LEN, what);
    const { text, truncated } = await this.reader.readText(await this.reader.readLength(end), maxBytes);
    this.retain(text.length * 2);
    return truncated ? `${text}…` : text;
  }

  async name(tag: FieldTag, end: number, what: string): Promise<string> {
    this.expectWireType(tag, WIRE_LEN, what);
    const length = await this.reader.readLength(end);
    if (length > this.limits.maxNameBytes) {
      throw new ModelFormatError(
        `${what} is ${length} bytes long; the limit is ${this.limits.maxNameBytes}`,
        tag.offset,
      );
    }
    const { text } = await this.reader.readText(length, length);
    this.retain(text.length * 2);
    return text;
  }

  private expectWireType(tag: FieldTag, wireType: number, what: string): void {
    if (tag.wireType !== wireType) {
      throw new ModelFormatError(
        `${what} (field ${tag.field}) has wire type ${wireTypeName(tag.wireType)}, expected ${wireTypeName(wireType)}`,
        tag.offset,
      );
    }
  }

  retain(bytes: number): void {
    this.retained += bytes;
    if (this.retained > this.limits.maxRetainedBytes) {
      throw new ModelFormatError(
        `model metadata (names, shapes, properties) exceeds ${this.limits.maxRetainedBytes} bytes`,
        this.reader.offset,
      );
    }
  }
}
