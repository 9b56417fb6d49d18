import { describe, expect, it } from 'vitest';
import type { Tensor } from '../tensors/tensor.js';
import { concatRows, requestRows, sameRowShapes, sliceRows } from './batch-tensors.js';

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: Float32Array.from(values),
});

const bytes = (name: string, shape: number[], values: string[]): Tensor => ({
  name,
  datatype: 'BYTES',
  shape,
  data: values,
});

describe('requestRows', () => {
  it('is the first dimension every input shares', () => {
    expect(requestRows([fp32('a', [2, 1], [1, 2]), bytes('b', [2], ['x', 'y'])])).toBe(2);
  });

  it('is -1 when inputs disagree or one is a scalar', () => {
    expect(requestRows([fp32('a', [2, 1], [1, 2]), fp32('b', [1, 2], [1, 2])])).toBe(-1);
    expect(requestRows([fp32('a', [], [1])])).toBe(-1);
    expect(requestRows([])).toBe(-1);
  });
});

describe('sameRowShapes', () => {
  it('matches inputs by name, whatever their order', () => {
    const a = [fp32('a', [1, 3], [1, 2, 3]), bytes('b', [1], ['x'])];
    const b = [bytes('b', [4], ['x', 'y', 'z', 'w']), fp32('a', [4, 3], new Array(12).fill(0))];
    expect(sameRowShapes(a, b)).toBe(true);
  });

  it('tells apart other dimensions, datatypes and names', () => {
    const a = [fp32('a', [1, 3], [1, 2, 3])];
    expect(sameRowShapes(a, [fp32('a', [1, 2], [1, 2])])).toBe(false);
    expect(
      sameRowShapes(a, [{ ...fp32('a', [1, 3], [1, 2, 3]), datatype: 'FP64', data: new Float64Array(3) }]),
    ).toBe(false);
    expect(sameRowShapes(a, [fp32('b', [1, 3], [1, 2, 3])])).toBe(false);
    expect(sameRowShapes(a, [...a, fp32('c', [1], [1])])).toBe(false);
  });
});

describe('concatRows and sliceRows', () => {
  it('join along the first dimension and cut back the same rows', () => {
    const parts = [
      [fp32('a', [1, 2], [1, 2]), bytes('s', [1], ['one'])],
      [bytes('s', [2], ['two', 'three']), fp32('a', [2, 2], [3, 4, 5, 6])],
    ];
    const [a, s] = concatRows(parts, 3) as [Tensor, Tensor];
    expect(a.shape).toEqual([3, 2]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(s).toEqual({ name: 's', datatype: 'BYTES', shape: [3], data: ['one', 'two', 'three'] });
    const tail = sliceRows(a, 1, 2);
    expect(tail.shape).toEqual([2, 2]);
    expect(Array.from(tail.data as Float32Array)).toEqual([3, 4, 5, 6]);
    expect(sliceRows(s, 0, 1).data).toEqual(['one']);
  });

  it('keep 64-bit integers and empty requests', () => {
    const big = (values: bigint[]): Tensor => ({
      name: 'n',
      datatype: 'INT64',
      shape: [values.length],
      data: BigInt64Array.from(values),
    });
    const [n] = concatRows([[big([1n])], [big([])], [big([-2n, 3n])]], 3) as [Tensor];
    expect(Array.from(n.data as BigInt64Array)).toEqual([1n, -2n, 3n]);
    expect(sliceRows(n, 1, 0).shape).toEqual([0]);
  });
});
