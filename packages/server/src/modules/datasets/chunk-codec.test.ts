import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { compressSync } from 'lz4-napi';
import { describe, expect, it } from 'vitest';
import { BlockIndexBuilder, type BlockIndex } from './block-delta.js';
import { decodeChunk, encodeChunk, type ReadBase } from './chunk-codec.js';
import type { ChunkEncoding } from './entities.js';

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Text that compresses like a typical table export. */
function text(rows: number, seed: number): Uint8Array {
  const random = bytes(rows * 2, seed);
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(`${i},sensor-${random[2 * i]},${random[2 * i + 1]! / 10},ok\n`);
  return new TextEncoder().encode(lines.join(''));
}

function indexOf(base: Uint8Array): BlockIndex {
  const builder = new BlockIndexBuilder(base.length);
  builder.push(base);
  return builder.finish();
}

const readerOf =
  (base: Uint8Array): ReadBase =>
  async (offset, length) =>
    base.slice(offset, offset + length);

async function expectDataLoss(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isCairnError(error) && error.code).toBe('DATA_LOSS');
}

describe('encodeChunk / decodeChunk', () => {
  it('round-trips anything, with or without a base', async () => {
    const base = text(3000, 1);
    const index = indexOf(base);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 5000 }),
          fc
            .tuple(fc.nat({ max: base.length }), fc.nat({ max: 20_000 }))
            .map(([from, length]) => base.slice(from, from + length)),
          fc.constantFrom(new Uint8Array(0), new Uint8Array(70_000).fill(7)),
        ),
        fc.boolean(),
        async (plain, withBase) => {
          const stored = await encodeChunk(plain, withBase ? { index } : {});
          expect(stored.payload.length).toBeLessThanOrEqual(plain.length);
          const decoded = await decodeChunk({ ...stored, sizeBytes: plain.length }, readerOf(base));
          expect(Buffer.from(decoded).equals(plain)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stores incompressible data raw, compressible data as lz4', async () => {
    const noise = bytes(64 * 1024, 2);
    expect(await encodeChunk(noise, {})).toEqual({ encoding: 'raw', payload: noise });
    const table = text(4000, 3);
    const stored = await encodeChunk(table, {});
    expect(stored.encoding).toBe('lz4');
    expect(stored.payload.length).toBeLessThan(table.length / 2);
  });

  it('stores an edited chunk as a small delta, and an unrelated one without', async () => {
    const base = text(6000, 4);
    const index = indexOf(base);
    const same = base.subarray(10_240, 70_144);
    const sameStored = await encodeChunk(same, { index });
    expect(sameStored.encoding).toBe('delta');
    expect(sameStored.payload.length).toBeLessThan(20);

    const edited = Buffer.concat([
      base.subarray(10_000, 40_000),
      Buffer.from('99,edited,row\n'),
      base.subarray(40_050),
    ]);
    const editedStored = await encodeChunk(edited, { index });
    expect(editedStored.encoding).toBe('delta');
    expect(editedStored.payload.length).toBeLessThan(400);
    const decoded = await decodeChunk({ ...editedStored, sizeBytes: edited.length }, readerOf(base));
    expect(Buffer.from(decoded).equals(edited)).toBe(true);

    const unrelated = text(3000, 5);
    expect((await encodeChunk(unrelated, { index })).encoding).toBe('lz4');
    const noise = bytes(50_000, 6);
    expect((await encodeChunk(noise, { index })).encoding).toBe('raw');
  });

  it('does not try a delta against an empty base or for a chunk shorter than a block', async () => {
    const tiny = new Uint8Array(100).fill(1);
    expect((await encodeChunk(tiny, { index: indexOf(new Uint8Array(0)) })).encoding).not.toBe('delta');
    expect((await encodeChunk(tiny.subarray(0, 10), { index: indexOf(new Uint8Array(1000)) })).encoding).toBe(
      'raw',
    );
  });
});

const plain = text(500, 7);
const lz4 = await encodeChunk(plain, {});
const base = text(2000, 8);
const delta = await encodeChunk(base.subarray(100, 20_000), { index: indexOf(base) });

describe('decodeChunk', () => {
  const cases: [string, { encoding: ChunkEncoding; payload: Uint8Array; sizeBytes: number }, ReadBase?][] = [
    ['raw with the wrong size', { encoding: 'raw', payload: plain, sizeBytes: plain.length + 1 }],
    ['lz4 with the wrong size', { ...lz4, sizeBytes: plain.length - 1 }],
    [
      'lz4 garbage',
      { encoding: 'lz4', payload: Uint8Array.of(10, 0, 0, 0, 0xff, 0xff, 0xff), sizeBytes: 10 },
    ],
    [
      'lz4 truncated',
      { ...lz4, payload: lz4.payload.subarray(0, lz4.payload.length - 3), sizeBytes: plain.length },
    ],
    [
      'lz4 decoding short',
      { encoding: 'lz4', payload: Uint8Array.of(6, 0, 0, 0, 0x50, 1, 2, 3, 4, 5), sizeBytes: 6 },
    ],
    ['a delta without a base', { ...delta, sizeBytes: 19_900 }],
    ['a delta with the wrong size', { ...delta, sizeBytes: 19_901 }, readerOf(base)],
    ['a delta whose base comes back short', { ...delta, sizeBytes: 19_900 }, async () => new Uint8Array(3)],
    ['an unknown encoding', { encoding: 'zstd' as ChunkEncoding, payload: plain, sizeBytes: plain.length }],
  ];
  it.each(cases)('refuses %s as DATA_LOSS', async (_name, stored, readBase) => {
    expect(lz4.encoding).toBe('lz4');
    expect(delta.encoding).toBe('delta');
    await expectDataLoss(decodeChunk(stored, readBase));
  });

  it('reads the lz4 block format lz4-napi writes', async () => {
    const stored = {
      encoding: 'lz4' as const,
      payload: compressSync(Buffer.from(plain)),
      sizeBytes: plain.length,
    };
    expect(Buffer.from(await decodeChunk(stored)).equals(plain)).toBe(true);
  });
});
