import { describe, expect, it } from 'vitest';
import { ProtoWriter, encodeVarint, streamBytes } from '../../../testing/onnx-builder.js';
import { isModelFormatError } from './model-format-error.js';
import { ProtobufStreamReader } from './protobuf-stream.js';

const reader = (bytes: number[] | Uint8Array, chunk: number | number[] = 1): ProtobufStreamReader =>
  new ProtobufStreamReader(streamBytes(Uint8Array.from(bytes), chunk));

async function formatError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isModelFormatError(error), `expected a ModelFormatError, got ${String(error)}`).toBe(true);
  return (error as Error).message;
}

describe('ProtobufStreamReader', () => {
  it.each([
    [0, [0x00]],
    [1, [0x01]],
    [150, [0x96, 0x01]],
    [2 ** 31, [...encodeVarint(2 ** 31)]],
    [2 ** 53 - 1, [...encodeVarint(2 ** 53 - 1)]],
    [-1, [...encodeVarint(-1)]],
    [-123456789, [...encodeVarint(-123456789)]],
  ])('reads int64 %d across chunk boundaries', async (value, bytes) => {
    for (const chunk of [1, 2, 3, 64]) {
      await expect(reader(bytes, chunk).readInt64(Infinity)).resolves.toBe(value);
    }
  });

  it('reads tags, strings and skips fields, tracking the offset', async () => {
    const bytes = new ProtoWriter()
      .varint(1, 300)
      .string(2, 'héllo')
      .bytes(3, new Uint8Array(1000))
      .varint(4, 7)
      .toBytes();
    const r = reader(bytes, [1, 7, 100]);
    const seen: Array<[number, number]> = [];
    while (!(await r.atEnd())) {
      const tag = await r.readTag(Infinity);
      seen.push([tag.field, tag.wireType]);
      if (tag.field === 2) expect((await r.readText(await r.readLength(Infinity), 100)).text).toBe('héllo');
      else await r.skipField(tag, Infinity);
    }
    expect(seen).toEqual([
      [1, 0],
      [2, 2],
      [3, 2],
      [4, 0],
    ]);
    expect(r.offset).toBe(bytes.length);
  });

  it('truncates long text on a character boundary', async () => {
    const text = 'aé'.repeat(10); // 'é' is two bytes
    const bytes = new TextEncoder().encode(text);
    const r = reader([...encodeVarint(bytes.length), ...bytes]);
    const decoded = await r.readText(await r.readLength(Infinity), 5);
    expect(decoded).toEqual({ text: 'aéa', truncated: true });
    expect(await r.atEnd()).toBe(true);
  });

  it.each([
    [
      'a varint longer than 10 bytes',
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      'varint longer than 10 bytes',
    ],
    ['a truncated varint', [0x80, 0x80], 'truncated file'],
    ['field number 0', [0x00], 'invalid field number 0'],
    ['a group', [0x0b], 'unsupported group start'],
    ['wire type 7', [0x0f], 'invalid wire type 7'],
    ['a tag over 5 bytes', [0x88, 0x80, 0x80, 0x80, 0x80, 0x01], 'field tag longer than 5 bytes'],
  ])('refuses %s', async (_name, bytes, message) => {
    expect(await formatError(reader(bytes).readTag(Infinity))).toContain(message);
  });

  it('refuses a length past the end of the enclosing message, naming the offset', async () => {
    const r = reader([0x0a, 0x05, 1, 2, 3]);
    await r.readTag(3);
    expect(await formatError(r.readLength(3))).toBe(
      'field length 5 runs past the end of the enclosing message at byte 3 (at byte 1)',
    );
  });

  it('refuses an absurd length', async () => {
    const r = reader([...encodeVarint(2n ** 60n)]);
    expect(await formatError(r.readLength(Infinity))).toContain('is absurd');
  });

  it('reports truncation when a skipped field runs past the end of the stream', async () => {
    const r = reader([0x0a, 0x7f, 1, 2, 3], 2);
    const tag = await r.readTag(Infinity);
    expect(await formatError(r.skipField(tag, Infinity))).toBe(
      'truncated file: 124 more byte(s) expected (at byte 5)',
    );
  });

  it('refuses a fixed-size field that crosses the message end', async () => {
    const r = reader([0x09, 1, 2, 3, 4, 5, 6, 7, 8]);
    const tag = await r.readTag(5);
    expect(await formatError(r.skipField(tag, 5))).toContain('runs past the end of the enclosing message');
  });
});
