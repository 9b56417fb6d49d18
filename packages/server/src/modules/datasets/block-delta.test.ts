import { MessageChannel } from 'node:worker_threads';
import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyDelta,
  BlockIndex,
  BlockIndexBuilder,
  blockSizeFor,
  encodeDelta,
  parseDelta,
  MAX_INDEXED_BLOCKS,
  serializeDelta,
  type DeltaOps,
  type SharedBlockIndex,
} from './block-delta.js';

/** Deterministic pseudo-random bytes, so sizes and shares are the same on every run. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

function indexOf(base: Uint8Array, pieces: readonly number[] = [base.length]): BlockIndex {
  const builder = new BlockIndexBuilder(base.length);
  let at = 0;
  for (const size of pieces) {
    builder.push(base.subarray(at, Math.min(base.length, at + size)));
    at = Math.min(base.length, at + size);
  }
  if (at < base.length) builder.push(base.subarray(at));
  return builder.finish();
}

async function roundTrip(base: Uint8Array, target: Uint8Array, index = indexOf(base)): Promise<Uint8Array> {
  const payload = serializeDelta(encodeDelta(target, index));
  const parsed = parseDelta(payload, target.length);
  return applyDelta(parsed, async (offset, length) => base.slice(offset, offset + length), target.length);
}

/** Edits of the kinds users make to files between versions. */
const editArb = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), data: fc.uint8Array({ maxLength: 600 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat({ max: 900 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), data: fc.uint8Array({ maxLength: 600 }) }),
  fc.record({ kind: fc.constant('append' as const), data: fc.uint8Array({ maxLength: 600 }) }),
  fc.record({ kind: fc.constant('prepend' as const), data: fc.uint8Array({ maxLength: 600 }) }),
);
type Edit = typeof editArb extends fc.Arbitrary<infer T> ? T : never;

function applyEdit(data: Uint8Array, edit: Edit): Uint8Array {
  const join = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
  switch (edit.kind) {
    case 'append':
      return join(data, edit.data);
    case 'prepend':
      return join(edit.data, data);
    case 'insert': {
      const at = edit.at % (data.length + 1);
      return join(data.subarray(0, at), edit.data, data.subarray(at));
    }
    case 'delete': {
      const at = edit.at % (data.length + 1);
      return join(data.subarray(0, at), data.subarray(at + edit.length));
    }
    case 'replace': {
      const at = edit.at % (data.length + 1);
      return join(data.subarray(0, at), edit.data, data.subarray(at + edit.data.length));
    }
  }
}

function expectDataLoss(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    expect(isCairnError(error) && error.code).toBe('DATA_LOSS');
    return;
  }
  expect.unreachable('expected a DATA_LOSS error');
}

describe('blockSizeFor', () => {
  it('is 256 up to 4 Mi blocks, then doubles to keep the block count bounded', () => {
    expect(blockSizeFor(0)).toBe(256);
    expect(blockSizeFor(1024 ** 3)).toBe(256);
    expect(blockSizeFor(2 * 1024 ** 3)).toBe(256);
    expect(blockSizeFor(2 * 1024 ** 3 + 256)).toBe(512);
    expect(blockSizeFor(100 * 1024 ** 3)).toBe(16 * 1024);
    for (const size of [1, 10 ** 9, 5 * 10 ** 9, 10 ** 12]) {
      expect(Math.floor(size / blockSizeFor(size))).toBeLessThanOrEqual(MAX_INDEXED_BLOCKS);
    }
  });
});

describe('BlockIndexBuilder', () => {
  it('indexes the same blocks whatever the sizes of the pieces pushed', () => {
    const base = bytes(50_000, 1);
    const whole = indexOf(base);
    const pieces = indexOf(base, [1, 255, 3, 1000, 7, 40_000]);
    expect(pieces.weak).toEqual(whole.weak);
    expect(pieces.strong1).toEqual(whole.strong1);
    expect(pieces.table).toEqual(whole.table);
    expect(whole.blockCount).toBe(Math.floor(50_000 / 256));
  });

  it('refuses a base longer or shorter than announced', () => {
    const builder = new BlockIndexBuilder(10);
    expectDataLoss(() => builder.push(new Uint8Array(11)));
    builder.push(new Uint8Array(9));
    expectDataLoss(() => builder.finish());
  });

  it('shares its memory: an index posted through a message port encodes identically', async () => {
    const base = bytes(300_000, 2);
    const index = indexOf(base);
    const shared = index.toShared();
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<SharedBlockIndex>((resolve) => port2.once('message', resolve));
    port1.postMessage(shared);
    const copy = BlockIndex.fromShared(await received);
    port1.close();
    const target = Buffer.concat([bytes(1000, 3), base.subarray(5000, 200_000)]);
    expect(encodeDelta(target, copy)).toEqual(encodeDelta(target, index));
    expect(() => BlockIndex.fromShared({ ...shared, blockCount: shared.blockCount + 1 })).toThrow();
  });
});

describe('encodeDelta', () => {
  it('rebuilds any edited file exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 6000 }),
        fc.array(editArb, { maxLength: 6 }),
        fc.nat({ max: 2000 }),
        async (base, edits, piece) => {
          const target = edits.reduce(applyEdit, base);
          const index = indexOf(base, [piece + 1]);
          expect(Buffer.from(await roundTrip(base, target, index)).equals(target)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rebuilds edits of repetitive data, where blocks repeat and weak checksums collide', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 4 }),
        fc.array(editArb, { maxLength: 4 }),
        async (unit, edits) => {
          const base = new Uint8Array(Buffer.alloc(5000, Buffer.from(unit)));
          const target = edits.reduce(applyEdit, base);
          expect(Buffer.from(await roundTrip(base, target)).equals(target)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('describes an unchanged target as one copy', () => {
    const base = bytes(1 << 20, 4);
    const delta = encodeDelta(base, indexOf(base));
    expect(delta.ops).toEqual([{ kind: 'copy', offset: 0, length: 1 << 20 }]);
    expect(serializeDelta(delta).length).toBeLessThan(16);
  });

  it('finds shifted data and keeps the unmatched tail literal', () => {
    const base = bytes(10_000, 5);
    const target = Buffer.concat([bytes(7, 6), base.subarray(1000, 9000), bytes(100, 7)]);
    const { ops, literals } = encodeDelta(target, indexOf(base));
    expect(ops[0]).toEqual({ kind: 'literal', length: 7 + 24 });
    expect(ops[1]).toEqual({ kind: 'copy', offset: 1024, length: 31 * 256 });
    expect(literals.length).toBe(target.length - 31 * 256);
  });

  it('makes a small delta of a CSV with 1% of its rows changed at scattered places', () => {
    const rows = csvRows(40_000, 8);
    const base = encode(rows);
    const changed = rows.slice();
    const random = seeded(9);
    for (let k = 0; k < 400; k++) {
      const row = Math.floor(random() * rows.length);
      changed[row] = csvRows(1, 1000 + k)[0]!;
    }
    const target = encode(changed);
    const size = serializeDelta(encodeDelta(target, indexOf(base))).length;
    expect(base.length).toBeGreaterThan(1.8e6);
    expect(size / target.length).toBeLessThan(0.05);

    const appended = encode([...rows, ...csvRows(400, 77)]);
    const appendSize = serializeDelta(encodeDelta(appended, indexOf(base))).length;
    expect(appendSize).toBeLessThan(appended.length - base.length);
  });
});

describe('parseDelta', () => {
  const base = bytes(4096, 10);
  const target = Buffer.concat([base.subarray(0, 2048), bytes(300, 11), base.subarray(3000)]);
  const delta = encodeDelta(target, indexOf(base));
  const good = serializeDelta(delta);
  const literalOnly = serializeDelta({
    baseSize: 0,
    targetSize: 3,
    ops: [{ kind: 'literal', length: 3 }],
    literals: new Uint8Array([1, 2, 3]),
  });
  /** Header of `lz4`: format, flags, base size 0, one op, literal 1000 (0xd0 0x0f); then the size-prefixed block. */
  const LZ4_SECTION = 6;
  const lz4 = serializeDelta({
    baseSize: 0,
    targetSize: 1000,
    ops: [{ kind: 'literal', length: 1000 }],
    literals: new Uint8Array(1000).fill(65),
  });

  it('reads back what was written', () => {
    const parsed = parseDelta(good, target.length);
    expect(parsed).toEqual({ ...delta, literals: expect.any(Uint8Array) });
    expect(Buffer.from(parsed.literals).equals(delta.literals)).toBe(true);
    expect([...lz4.subarray(0, LZ4_SECTION + 4)]).toEqual([1, 1, 0, 1, 0xd0, 0x0f, 0xe8, 0x03, 0, 0]);
    expect(Buffer.from(parseDelta(lz4, 1000).literals).equals(Buffer.alloc(1000, 65))).toBe(true);
  });

  const malformed: [string, Uint8Array, number][] = [
    ['empty', new Uint8Array(0), 3],
    ['truncated header', new Uint8Array([1]), 3],
    ['unknown format byte', Uint8Array.of(2, ...literalOnly.subarray(1)), 3],
    ['unknown flag bits', Uint8Array.of(1, 4, ...literalOnly.subarray(2)), 3],
    ['truncated ops', good.subarray(0, 6), target.length],
    ['truncated literals', good.subarray(0, good.length - 1), target.length],
    ['trailing bytes', Uint8Array.of(...literalOnly, 9), 3],
    ['unterminated varint', new Uint8Array([1, 0, 0xff, 0xff, 0xff]), 3],
    ['overlong varint', new Uint8Array([1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 3],
    ['non-canonical varint', new Uint8Array([1, 0, 0x80, 0x00, 1, 6, 1, 2, 3]), 3],
    ['more ops than bytes', new Uint8Array([1, 0, 0, 100, 6]), 3],
    ['zero-length op', new Uint8Array([1, 0, 0, 2, 0, 6, 1, 2, 3]), 3],
    ['copy beyond the base', new Uint8Array([1, 0, 10, 1, 7, 8]), 3],
    ['copy with an offset past the base', new Uint8Array([1, 0, 10, 1, 7, 0xff, 0x7f]), 3],
    ['lengths summing short', literalOnly, 4],
    ['lengths summing long', literalOnly, 2],
    [
      'lz4 claiming another size',
      Uint8Array.of(...lz4.subarray(0, LZ4_SECTION), 0xe9, ...lz4.subarray(7)),
      1000,
    ],
    [
      'lz4 claiming 4 GiB',
      Uint8Array.of(...lz4.subarray(0, LZ4_SECTION), 0xff, 0xff, 0xff, 0xff, 0x10, 0x41),
      1000,
    ],
    ['lz4 garbage', Uint8Array.of(...lz4.subarray(0, LZ4_SECTION + 4), 0xff, 0xff, 0xff, 0xff), 1000],
    ['lz4 flag on raw literals', Uint8Array.of(1, 1, ...literalOnly.subarray(2)), 3],
    ['lz4 truncated', lz4.subarray(0, lz4.length - 2), 1000],
  ];
  it.each(malformed)('rejects %s as DATA_LOSS', (_name, payload, size) => {
    expectDataLoss(() => parseDelta(payload, size));
  });

  it('never crashes or hangs on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 1 << 20 }), (payload, size) => {
        try {
          parseDelta(payload, size);
        } catch (error) {
          expect(isCairnError(error) && error.code).toBe('DATA_LOSS');
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const payload = good.slice();
        payload[at] = (payload[at] as number) ^ flip;
        try {
          parseDelta(payload, target.length);
        } catch (error) {
          expect(isCairnError(error) && error.code).toBe('DATA_LOSS');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('applyDelta', () => {
  const delta: DeltaOps = {
    baseSize: 100,
    targetSize: 12,
    ops: [
      { kind: 'literal', length: 2 },
      { kind: 'copy', offset: 90, length: 10 },
    ],
    literals: new Uint8Array([1, 2]),
  };

  it('refuses a base that returns the wrong number of bytes', async () => {
    await expect(applyDelta(delta, async () => new Uint8Array(9), 12)).rejects.toMatchObject({
      code: 'DATA_LOSS',
    });
    const out = await applyDelta(delta, async (offset, length) => new Uint8Array(length).fill(offset), 12);
    expect([...out]).toEqual([1, 2, ...Array<number>(10).fill(90)]);
  });

  it('refuses ops that do not add up to the expected size', async () => {
    await expect(applyDelta(delta, async (_o, length) => new Uint8Array(length), 13)).rejects.toMatchObject({
      code: 'DATA_LOSS',
    });
  });
});

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Rows like an exported table: ids, dates, names, amounts, categories (~60 bytes each). */
function csvRows(count: number, seed: number): string[] {
  const random = seeded(seed);
  const categories = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
  const rows: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = 100_000 + Math.floor(random() * 900_000);
    const date = `2024-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`;
    const name = `user_${Math.floor(random() * 1e6)}`;
    const amount = (random() * 1000).toFixed(2);
    const category = categories[Math.floor(random() * categories.length)];
    rows.push(`${id},${date},${name},${amount},${category},${random() < 0.5}\n`);
  }
  return rows;
}

const encode = (rows: string[]): Uint8Array => new TextEncoder().encode(rows.join(''));
