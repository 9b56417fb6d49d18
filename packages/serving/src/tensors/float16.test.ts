import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { floatToHalf, halfToFloat } from './float16.js';

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [2 ** -24, 0x0001],
    [0.1, 0x2e66],
    [0, 0x0000],
    [-0, 0x8000],
    [2 ** -14, 0x0400],
    [0.5, 0x3800],
    [0.333251953125, 0x3555],
  ])('writes %d as %i', (value, bits) => {
    expect(floatToHalf(value)).toBe(bits);
    expect(halfToFloat(bits)).toBe(value === 0.1 ? 0.0999755859375 : value);
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between 1 (even) and 1 + 2^-10.
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Just above that tie; through float32 first it would round to the tie, then down to 1.
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -30)).toBe(0x3c01);
    // Halfway between the largest subnormal and the smallest normal carries into the exponent.
    expect(floatToHalf(2 ** -14 - 2 ** -25)).toBe(0x0400);
    expect(floatToHalf(2 ** -25)).toBe(0x0000);
    expect(floatToHalf(2 ** -25 + 2 ** -40)).toBe(0x0001);
  });

  it('overflows to infinity from 65520 on, as IEEE rounding does', () => {
    expect(floatToHalf(65519.99)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(-1e9)).toBe(0xfc00);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(floatToHalf(NaN))).toBeNaN();
  });

  it('reads back every finite half exactly', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits += 1) {
      if ((bits & 0x7c00) !== 0x7c00 && floatToHalf(halfToFloat(bits)) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('agrees with rounding through the nearest of the two neighbouring halves', () => {
    fc.assert(
      fc.property(fc.double({ min: -65504, max: 65504, noNaN: true }), (value) => {
        const bits = floatToHalf(value);
        const half = halfToFloat(bits);
        if (half === value) return;
        const next = halfToFloat(bits + (Math.abs(half) < Math.abs(value) ? 1 : -1));
        // No other half is nearer (the neighbour on the far side cannot be).
        expect(Math.abs(half - value)).toBeLessThanOrEqual(Math.abs(next - value));
      }),
    );
  });
});
