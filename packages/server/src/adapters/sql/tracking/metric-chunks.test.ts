import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../../modules/tracking/index.js';
import { decodeChunks, encodeChunks, MAX_POINTS_PER_CHUNK, seriesToPoints } from './metric-chunks.js';

const point = (step: number, timestamp: number, value: number): MetricPoint => ({
  key: 'm',
  step,
  timestamp,
  value,
});

function reference(points: MetricPoint[]): MetricPoint[] {
  const cmpValue = (a: number, b: number): number =>
    Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b;
  const sorted = [...points].sort(
    (a, b) => a.step - b.step || a.timestamp - b.timestamp || cmpValue(a.value, b.value),
  );
  return sorted.filter(
    (p, i) =>
      i === 0 ||
      !(
        p.step === sorted[i - 1]?.step &&
        p.timestamp === sorted[i - 1]?.timestamp &&
        Object.is(p.value, sorted[i - 1]?.value)
      ),
  );
}

function roundTrip(writes: MetricPoint[][]): MetricPoint[] {
  const blobs = writes.flatMap((w) => encodeChunks(w).map((c) => c.data));
  return seriesToPoints('m', decodeChunks(blobs), { offset: 0, limit: undefined });
}

describe('metric chunks', () => {
  it('packs points per key and reads them back in (step, timestamp, value) order', () => {
    const chunks = encodeChunks([
      { key: 'a', step: 2, timestamp: 5, value: 1 },
      { key: 'b', step: 0, timestamp: 1, value: Number.NaN },
      { key: 'a', step: 1, timestamp: 9, value: Number.POSITIVE_INFINITY },
    ]);
    expect(chunks.map((c) => [c.key, c.count, c.minStep, c.maxStep])).toEqual([
      ['a', 2, 1, 2],
      ['b', 1, 0, 0],
    ]);
    const a = seriesToPoints('a', decodeChunks([chunks[0]?.data as Buffer]), { offset: 0, limit: undefined });
    expect(a).toEqual([
      { key: 'a', step: 1, timestamp: 9, value: Number.POSITIVE_INFINITY },
      { key: 'a', step: 2, timestamp: 5, value: 1 },
    ]);
  });

  it('drops exact re-sends but keeps points that differ in any field', () => {
    const write = [
      point(0, 1, 0.5),
      point(0, 1, 0.5),
      point(0, 1, 0.6),
      point(0, 2, 0.5),
      point(0, 1, Number.NaN),
    ];
    expect(roundTrip([write, write])).toEqual([
      point(0, 1, 0.5),
      point(0, 1, 0.6),
      point(0, 1, Number.NaN),
      point(0, 2, 0.5),
    ]);
  });

  it('splits large writes and pages through the merged series', () => {
    const many = Array.from({ length: MAX_POINTS_PER_CHUNK * 2 + 5 }, (_, i) => point(i, 0, i / 2));
    expect(encodeChunks(many)).toHaveLength(3);
    const series = decodeChunks(encodeChunks(many).map((c) => c.data));
    expect(seriesToPoints('m', series, { offset: 10, limit: 3 }).map((p) => p.step)).toEqual([10, 11, 12]);
    expect(seriesToPoints('m', series, { offset: many.length - 1, limit: 10 })).toHaveLength(1);
  });

  it('reads unaligned driver buffers', () => {
    const data = encodeChunks([point(3, 4, 5)])[0]?.data as Buffer;
    const shifted = Buffer.alloc(data.length + 1);
    data.copy(shifted, 1);
    expect(seriesToPoints('m', decodeChunks([shifted.subarray(1)]), { offset: 0, limit: undefined })).toEqual(
      [point(3, 4, 5)],
    );
  });

  it('property: any sequence of writes reads back as the sorted, de-duplicated union', () => {
    const value = fc.oneof(fc.double(), fc.constantFrom(0, 1, Number.NaN, Number.POSITIVE_INFINITY));
    const p = fc.record({
      key: fc.constant('m'),
      step: fc.integer({ min: -5, max: 5 }),
      timestamp: fc.integer({ min: 0, max: 3 }),
      value,
    });
    fc.assert(
      fc.property(fc.array(fc.array(p, { maxLength: 20 }), { maxLength: 6 }), (writes) => {
        expect(roundTrip(writes)).toEqual(reference(writes.flat()));
      }),
      { numRuns: 300 },
    );
  });
});
