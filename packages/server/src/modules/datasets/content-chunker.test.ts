import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZES, ContentChunker, GEAR } from './content-chunker.js';

/** Deterministic pseudo-random bytes, so sizes and shares are the same on every run. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

function chunksOf(data: Uint8Array, pieces: readonly number[] = [data.length]): Buffer[] {
  const chunker = new ContentChunker();
  const chunks: Buffer[] = [];
  let at = 0;
  for (const size of pieces) {
    chunks.push(...chunker.push(data.subarray(at, at + size)));
    at += size;
  }
  if (at < data.length) chunks.push(...chunker.push(data.subarray(at)));
  chunks.push(...chunker.end());
  return chunks;
}

const digests = (chunks: Buffer[]): string[] =>
  chunks.map((chunk) => createHash('sha256').update(chunk).digest('hex'));

describe('ContentChunker', () => {
  const data = bytes(8 * 1024 * 1024, 7);
  const chunks = chunksOf(data);

  it('keeps every byte, in order, in chunks between the minimum and maximum size', () => {
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    chunks.slice(0, -1).forEach((chunk) => {
      expect(chunk.length).toBeGreaterThanOrEqual(CHUNK_SIZES.min);
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_SIZES.max);
    });
    const mean = data.length / chunks.length;
    expect(mean).toBeGreaterThan(0.6 * CHUNK_SIZES.average);
    expect(mean).toBeLessThan(1.6 * CHUNK_SIZES.average);
  });

  it('cuts the same wherever the stream is split into pieces', () => {
    const sample = data.subarray(0, 1024 * 1024);
    const whole = digests(chunksOf(sample));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300_000 }), { maxLength: 12 }), (pieces) => {
        expect(digests(chunksOf(sample, pieces))).toEqual(whole);
      }),
      { numRuns: 40 },
    );
  });

  it('moves only the chunks an insert touches: later chunks keep their digests', () => {
    const edited = Buffer.concat([
      data.subarray(0, 3_000_000),
      Buffer.from('one new row\n'),
      data.subarray(3_000_000),
    ]);
    const before = new Set(digests(chunks));
    const after = digests(chunksOf(edited));
    const fresh = after.filter((digest) => !before.has(digest));
    expect(fresh.length).toBeLessThanOrEqual(2);
    const appended = digests(chunksOf(Buffer.concat([data, bytes(100_000, 9)])));
    expect(appended.filter((digest) => !before.has(digest)).length).toBeLessThanOrEqual(3);
  });

  it('cuts at the maximum when the data has no cut point, and handles empty input', () => {
    const flat = Buffer.alloc(CHUNK_SIZES.max * 2 + 10, 0x41);
    expect(chunksOf(flat).map((c) => c.length)).toEqual([CHUNK_SIZES.max, CHUNK_SIZES.max, 10]);
    expect(chunksOf(Buffer.alloc(0))).toEqual([]);
    expect(chunksOf(randomBytes(100)).map((c) => c.length)).toEqual([100]);
  });

  it('keeps its sizes, gear table and cut points: changing them would make new versions share nothing with old ones', () => {
    expect(CHUNK_SIZES).toEqual({ min: 16_384, average: 65_536, max: 262_144 });
    expect(createHash('sha256').update(Buffer.from(GEAR.buffer)).digest('hex').slice(0, 16)).toBe(
      '885450c8c4dc030c',
    );
    expect(chunks.slice(0, 6).map((chunk) => chunk.length)).toEqual([
      74555, 32578, 79035, 32205, 70137, 66680,
    ]);
  });
});
