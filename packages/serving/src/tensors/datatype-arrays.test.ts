import { describe, expect, it } from 'vitest';
import { allocateData, elementWriter, jsonElements } from './datatype-arrays.js';
import { DATATYPES, type Datatype } from './tensor.js';

/** Writes `value` into a fresh one-element array: the stored element, or the reason it was refused. */
function write(datatype: Datatype, value: unknown): { stored: unknown } | { problem: string } {
  const data = allocateData(datatype, 1);
  const problem = elementWriter(datatype, data)(0, value);
  return problem === undefined ? { stored: data[0] } : { problem };
}

describe('datatype arrays', () => {
  it.each([
    ['BOOL', Uint8Array],
    ['UINT8', Uint8Array],
    ['UINT16', Uint16Array],
    ['UINT32', Uint32Array],
    ['UINT64', BigUint64Array],
    ['INT8', Int8Array],
    ['INT16', Int16Array],
    ['INT32', Int32Array],
    ['INT64', BigInt64Array],
    ['FP16', Uint16Array],
    ['FP32', Float32Array],
    ['FP64', Float64Array],
  ] as const)('allocates %s as %o', (datatype, type) => {
    const data = allocateData(datatype, 3);
    expect(data).toBeInstanceOf(type);
    expect(data.length).toBe(3);
  });

  it('allocates BYTES as an array of empty strings', () => {
    expect(allocateData('BYTES', 2)).toEqual(['', '']);
  });

  it.each([
    ['INT8', -128, -128],
    ['INT8', 127, 127],
    ['UINT8', 255, 255],
    ['INT16', -32768, -32768],
    ['UINT16', 65535, 65535],
    ['INT32', -(2 ** 31), -(2 ** 31)],
    ['UINT32', 2 ** 32 - 1, 2 ** 32 - 1],
    ['INT64', -Number.MAX_SAFE_INTEGER, -BigInt(Number.MAX_SAFE_INTEGER)],
    ['UINT64', Number.MAX_SAFE_INTEGER, BigInt(Number.MAX_SAFE_INTEGER)],
    ['INT32', -0, 0],
    ['FP32', 0.5, 0.5],
    ['FP32', 0.1, Math.fround(0.1)],
    ['FP32', 1e-50, 0],
    ['FP64', Number.MAX_VALUE, Number.MAX_VALUE],
    ['FP16', 1, 0x3c00],
    ['FP16', 65519, 0x7bff],
    ['BOOL', true, 1],
    ['BOOL', false, 0],
    ['BYTES', '', ''],
    ['BYTES', 'héllo', 'héllo'],
  ] as const)('%s takes %j', (datatype, value, stored) => {
    expect(write(datatype, value)).toEqual({ stored });
  });

  it.each([
    ['INT8', 128, "outside INT8's range -128..127"],
    ['INT8', -129, "outside INT8's range -128..127"],
    ['UINT8', -1, "outside UINT8's range 0..255"],
    ['UINT8', 256, "outside UINT8's range 0..255"],
    ['INT16', 32768, "outside INT16's range -32768..32767"],
    ['UINT16', 65536, "outside UINT16's range 0..65535"],
    ['INT32', 2 ** 31, "outside INT32's range -2147483648..2147483647"],
    ['UINT32', 2 ** 32, "outside UINT32's range 0..4294967295"],
    ['INT64', 2 ** 53, "outside INT64's range -9007199254740991..9007199254740991"],
    ['UINT64', -1, "outside UINT64's range 0..9007199254740991"],
    ['INT32', 1.5, 'not an integer, INT32 holds whole numbers'],
    ['INT64', 0.1, 'not an integer, INT64 holds whole numbers'],
    ['UINT8', '1', 'not a number'],
    ['INT8', true, 'not a number'],
    ['INT8', null, 'not a number'],
    ['INT8', NaN, 'not a finite number'],
    ['INT64', Infinity, 'not a finite number'],
    ['UINT64', 10n, 'not a number'],
    ['FP32', 'NaN', 'not a number'],
    ['FP32', 'Infinity', 'not a number'],
    ['FP32', NaN, 'not a finite number'],
    ['FP64', -Infinity, 'not a finite number'],
    ['FP32', 1e39, "outside FP32's range ±3.4028234663852886e+38"],
    ['FP32', [1], 'not a number'],
    ['FP16', 65520, "outside FP16's range ±65504"],
    ['FP16', -1e6, "outside FP16's range ±65504"],
    ['FP16', Infinity, 'not a finite number'],
    ['FP16', '1', 'not a number'],
    ['BOOL', 1, 'not true or false'],
    ['BOOL', 'true', 'not true or false'],
    ['BYTES', 1, 'not a string'],
    ['BYTES', null, 'not a string'],
  ] as const)('%s refuses %s: %s', (datatype, value, problem) => {
    const result = write(datatype, value);
    expect(result).toHaveProperty('problem');
    expect((result as { problem: string }).problem).toContain(problem);
  });

  it('says why 64-bit integers stop at 2^53', () => {
    expect(write('INT64', 2 ** 60)).toEqual({
      problem:
        "outside INT64's range -9007199254740991..9007199254740991 (larger integers lose precision as JSON numbers)",
    });
  });

  it('turns every datatype back into JSON elements', () => {
    expect(jsonElements('BOOL', new Uint8Array([0, 1, 2]))).toEqual([false, true, true]);
    expect(jsonElements('FP16', new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]))).toEqual([
      1,
      -2,
      65504,
      2 ** -24,
      Infinity,
    ]);
    expect(jsonElements('INT64', new BigInt64Array([-5n, 2n ** 62n]))).toEqual([-5, 2 ** 62]);
    expect(jsonElements('UINT64', new BigUint64Array([7n]))).toEqual([7]);
    expect(jsonElements('FP32', new Float32Array([0.5, NaN]))).toEqual([0.5, NaN]);
    expect(jsonElements('INT8', new Int8Array([-1]))).toEqual([-1]);
    expect(jsonElements('BYTES', ['a', 'b'])).toEqual(['a', 'b']);
  });

  it('round-trips an element of every datatype', () => {
    const samples: Record<Datatype, unknown> = {
      BOOL: true,
      UINT8: 200,
      UINT16: 60000,
      UINT32: 4e9,
      UINT64: 2 ** 40,
      INT8: -100,
      INT16: -30000,
      INT32: -2e9,
      INT64: -(2 ** 50),
      FP16: -0.5,
      FP32: 0.25,
      FP64: 0.1,
      BYTES: 'x',
    };
    for (const datatype of DATATYPES) {
      const data = allocateData(datatype, 1);
      expect(elementWriter(datatype, data)(0, samples[datatype])).toBeUndefined();
      expect(jsonElements(datatype, data)).toEqual([samples[datatype]]);
    }
  });
});
