import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensorToJson } from '../tensors/tensor-json.js';
import type { Tensor } from '../tensors/tensor.js';
import { tensorJsonText } from './json-text.js';

describe('tensorJsonText', () => {
  it('writes what JSON.stringify(tensorToJson(t)) writes, for floats of any value (property)', () => {
    const doubles = fc.array(fc.double(), { maxLength: 30 });
    fc.assert(
      fc.property(fc.string(), doubles, fc.boolean(), (name, values, single) => {
        const tensor: Tensor = single
          ? { name, datatype: 'FP32', shape: [1, values.length], data: Float32Array.from(values) }
          : { name, datatype: 'FP64', shape: [values.length], data: Float64Array.from(values) };
        expect(tensorJsonText(tensor)).toBe(JSON.stringify(tensorToJson(tensor)));
      }),
    );
  });

  it.each<Tensor>([
    { name: 'nan', datatype: 'FP32', shape: [3], data: Float32Array.of(Number.NaN, -0, Infinity) },
    { name: 'i64', datatype: 'INT64', shape: [2], data: BigInt64Array.of(-(2n ** 62n), 7n) },
    { name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
    { name: 'h', datatype: 'FP16', shape: [1], data: Uint16Array.of(0x3c00) },
    { name: 's"q', datatype: 'BYTES', shape: [2], data: ['a', 'ü"'] },
  ])('writes $datatype tensor $name as the general conversion does', (tensor) => {
    expect(tensorJsonText(tensor)).toBe(JSON.stringify(tensorToJson(tensor)));
    expect(() => JSON.parse(tensorJsonText(tensor)) as unknown).not.toThrow();
  });
});
