import { describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { dataFrom } from './datatype-arrays.js';
import { tensorFromJson, tensorToJson } from './tensor-json.js';
import { DATATYPES, elementCount, type Datatype, type Tensor } from './tensor.js';

/** The CairnError `fn` throws, as {field, message}; fails the test on anything else. */
function refusal(fn: () => unknown): { field: string | undefined; message: string } {
  try {
    fn();
  } catch (error) {
    if (isCairnError(error) && error.code === 'INVALID_ARGUMENT')
      return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('accepted');
}

const where = 'inputs[0]';
const read = (value: unknown, maxElements?: number): Tensor => tensorFromJson(value, { where, maxElements });
const fp32 = (fields: Record<string, unknown>): Record<string, unknown> => ({
  name: 'x',
  datatype: 'FP32',
  shape: [2, 3],
  data: [1, 2, 3, 4, 5, 6],
  ...fields,
});

/** A nested array `depth` levels deep, built without recursion. */
function deeplyNested(depth: number): unknown[] {
  let value: unknown[] = [1];
  for (let level = 0; level < depth; level += 1) value = [value];
  return value;
}

// Valid tensors of every datatype, with data the JSON form can hold exactly.
const elements: Record<Datatype, fc.Arbitrary<number | bigint | string>> = {
  BOOL: fc.integer({ min: 0, max: 1 }),
  UINT8: fc.integer({ min: 0, max: 255 }),
  UINT16: fc.integer({ min: 0, max: 65535 }),
  UINT32: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  UINT64: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
  INT8: fc.integer({ min: -128, max: 127 }),
  INT16: fc.integer({ min: -32768, max: 32767 }),
  INT32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  INT64: fc.bigInt({ min: -BigInt(Number.MAX_SAFE_INTEGER), max: BigInt(Number.MAX_SAFE_INTEGER) }),
  FP16: fc.integer({ min: 0, max: 0xffff }).filter((bits) => (bits & 0x7c00) !== 0x7c00),
  FP32: fc.float({ noNaN: true, noDefaultInfinity: true }),
  FP64: fc.double({ noNaN: true, noDefaultInfinity: true }),
  BYTES: fc.string({ unit: 'binary', maxLength: 8 }),
};

const tensors: fc.Arbitrary<Tensor> = fc
  .record({
    name: fc.string({ minLength: 1, maxLength: 6 }),
    datatype: fc.constantFrom(...DATATYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  })
  .chain(({ name, datatype, shape }) => {
    const count = elementCount(shape);
    return fc.array(elements[datatype], { minLength: count, maxLength: count }).map((values) => {
      const data = dataFrom(datatype, values);
      return { name, datatype, shape, data } as Tensor;
    });
  });

describe('tensorFromJson', () => {
  it('reads flat and nested data alike', () => {
    const flat = read(fp32({}));
    const nested = read(
      fp32({
        data: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      }),
    );
    expect(flat).toEqual({
      name: 'x',
      datatype: 'FP32',
      shape: [2, 3],
      data: new Float32Array([1, 2, 3, 4, 5, 6]),
    });
    expect(nested).toEqual(flat);
    const deep = read(fp32({ shape: [2, 1, 2], data: [[[1, 2]], [[3, 4]]] }));
    expect(deep.data).toEqual(new Float32Array([1, 2, 3, 4]));
  });

  it('reads scalars, empty tensors and every datatype', () => {
    expect(read(fp32({ shape: [], data: [7] })).data).toEqual(new Float32Array([7]));
    expect(read(fp32({ shape: [0, 3], data: [] })).data).toEqual(new Float32Array([]));
    expect(read(fp32({ shape: [2, 0], data: [[], []] })).data).toEqual(new Float32Array([]));
    expect(read({ name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] }).data).toEqual(
      new Uint8Array([1, 0]),
    );
    expect(read({ name: 'h', datatype: 'FP16', shape: [3], data: [1, -2, 0.1] }).data).toEqual(
      new Uint16Array([0x3c00, 0xc000, 0x2e66]),
    );
    expect(read({ name: 'i', datatype: 'INT64', shape: [1], data: [-3] }).data).toEqual(
      new BigInt64Array([-3n]),
    );
    expect(read({ name: 's', datatype: 'BYTES', shape: [1, 1], data: [['hi']] }).data).toEqual(['hi']);
  });

  it('accepts parameters and ignores unknown keys', () => {
    expect(read(fp32({ parameters: { content_type: 'np' }, extra: 1 })).name).toBe('x');
    expect(read(fp32({ parameters: null })).name).toBe('x');
  });

  it.each([
    ['a number', 5, 'inputs[0]', 'inputs[0] is 5, not a tensor object'],
    ['an array', [], 'inputs[0]', 'inputs[0] is an array of 0, not a tensor object'],
    ['null', null, 'inputs[0]', 'inputs[0] is null'],
    [
      'no name',
      fp32({ name: undefined }),
      'inputs[0].name',
      'inputs[0]: name is missing, not a non-empty string',
    ],
    ['an empty name', fp32({ name: '' }), 'inputs[0].name', 'name is "", not a non-empty string'],
    ['a numeric name', fp32({ name: 3 }), 'inputs[0].name', 'name is 3'],
    [
      'an unknown datatype',
      fp32({ datatype: 'FLOAT' }),
      'inputs[0].datatype',
      'datatype is "FLOAT", not one of BOOL',
    ],
    ['a lower-case datatype', fp32({ datatype: 'fp32' }), 'inputs[0].datatype', 'datatype is "fp32"'],
    ['no shape', fp32({ shape: undefined }), 'inputs[0].shape', 'shape is missing, not an array'],
    ['a string shape', fp32({ shape: '2,3' }), 'inputs[0].shape', 'shape is "2,3", not an array'],
    ['a negative dimension', fp32({ shape: [2, -1] }), 'inputs[0].shape[1]', 'shape[1] is -1, not a size'],
    ['a fractional dimension', fp32({ shape: [1.5] }), 'inputs[0].shape[0]', 'shape[0] is 1.5, not a size'],
    ['a string dimension', fp32({ shape: ['2'] }), 'inputs[0].shape[0]', 'shape[0] is "2", not a size'],
    ['a NaN dimension', fp32({ shape: [NaN] }), 'inputs[0].shape[0]', 'shape[0] is NaN'],
    [
      'rank 9',
      fp32({ shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] }),
      'inputs[0].shape',
      'has 9 dimensions, at most 8',
    ],
    ['a huge shape', fp32({ shape: [100000, 100000] }), 'inputs[0].shape', 'holds 10000000000 elements'],
    ['a huge zero shape', fp32({ shape: [0, 1e300] }), 'inputs[0].shape[1]', 'shape[1] is 1e+300, more than'],
    ['no data', fp32({ data: undefined }), 'inputs[0].data', 'data is missing, not an array'],
    ['object data', fp32({ data: { 0: 1 } }), 'inputs[0].data', 'data is an object, not an array'],
    ['too few values', fp32({ data: [1, 2, 3] }), 'inputs[0].data', 'data has 3 values, shape [2,3] holds 6'],
    [
      'too many values',
      fp32({ shape: [1], data: [1, 2] }),
      'inputs[0].data',
      'data has 2 values, shape [1] holds 1',
    ],
    [
      'a bad element',
      fp32({ data: [1, 2, 3, 'abc', 5, 6] }),
      'inputs[0].data[3]',
      'data[3] is "abc", not a number',
    ],
    [
      'a null element',
      fp32({ data: [1, 2, 3, 4, 5, null] }),
      'inputs[0].data[5]',
      'data[5] is null, not a number',
    ],
    [
      'a nested element',
      fp32({ data: [1, [2], 3, 4, 5, 6] }),
      'inputs[0].data[1]',
      'data[1] is an array of 1',
    ],
    [
      'a short row',
      fp32({
        data: [
          [1, 2, 3],
          [4, 5],
        ],
      }),
      'inputs[0].data[1]',
      'data[1] is an array of 2, shape [2,3] needs an array of 3 here',
    ],
    [
      'a missing row',
      fp32({ data: [[1, 2, 3]] }),
      'inputs[0].data',
      'data is an array of 1, shape [2,3] needs an array of 2 here',
    ],
    [
      'a scalar row',
      fp32({ data: [[1, 2, 3], 4] }),
      'inputs[0].data[1]',
      'data[1] is 4, shape [2,3] needs an array of 3',
    ],
    [
      'a bad nested element',
      fp32({
        data: [
          [1, 2, 3],
          [4, 5, true],
        ],
      }),
      'inputs[0].data[1][2]',
      'data[1][2] is true, not a number',
    ],
    [
      'too deep',
      fp32({
        data: [
          [[1], [2], [3]],
          [[4], [5], [6]],
        ],
      }),
      'inputs[0].data[0][0]',
      'data[0][0] is an array of 1, not a number',
    ],
    [
      'an INT8 overflow',
      { name: 'q', datatype: 'INT8', shape: [2], data: [1, 200] },
      'inputs[0].data[1]',
      "data[1] is 200, outside INT8's range -128..127",
    ],
    [
      'a BOOL number',
      { name: 'b', datatype: 'BOOL', shape: [1], data: [1] },
      'inputs[0].data[0]',
      'data[0] is 1, not true or false',
    ],
    [
      'an FP16 overflow',
      { name: 'h', datatype: 'FP16', shape: [1], data: [70000] },
      'inputs[0].data[0]',
      "outside FP16's range ±65504",
    ],
    [
      'BYTES numbers',
      { name: 's', datatype: 'BYTES', shape: [1], data: [1] },
      'inputs[0].data[0]',
      'data[0] is 1, not a string',
    ],
    [
      'string parameters',
      fp32({ parameters: 'x' }),
      'inputs[0].parameters',
      'parameters is "x", not an object',
    ],
  ])('refuses %s', (_case, value, field, message) => {
    const error = refusal(() => read(value));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('holds to maxElements, 16,777,216 by default', () => {
    expect(refusal(() => read(fp32({}), 5))).toEqual({
      field: 'inputs[0].shape',
      message: 'inputs[0]: shape [2,3] holds 6 elements, more than the 5 allowed',
    });
    expect(refusal(() => read(fp32({ shape: [4096, 4097] }))).message).toContain(
      'more than the 16777216 allowed',
    );
  });

  it('survives hostile input', () => {
    const deep = refusal(() => read(fp32({ shape: [1, 1], data: deeplyNested(200_000) })));
    expect(deep.field).toBe('inputs[0].data[0][0]');
    const inherited = Object.create(fp32({})) as object;
    expect(refusal(() => read(inherited)).field).toBe('inputs[0].name');
    const polluted = JSON.parse(
      '{"__proto__": {"name": "x"}, "datatype": "FP32", "shape": [1], "data": [1]}',
    );
    expect(refusal(() => read(polluted)).field).toBe('inputs[0].name');
    expect(
      refusal(() => read(fp32({ name: 'x'.repeat(100_000) + 1, data: 'y'.repeat(100_000) }))).message,
    ).toMatch(/data is "y{40}…", not an array$/);
    expect(({} as Record<string, unknown>)['name']).toBeUndefined();
  });

  it('names the field without a prefix when where is empty', () => {
    expect(refusal(() => tensorFromJson(fp32({ data: [0] }), { where: '' })).field).toBe('data');
  });
});

describe('tensorToJson', () => {
  it('writes flat JSON elements', () => {
    const tensor: Tensor = {
      name: 'h',
      datatype: 'FP16',
      shape: [1, 2],
      data: new Uint16Array([0x3c00, 0x7bff]),
    };
    expect(tensorToJson(tensor)).toEqual({ name: 'h', datatype: 'FP16', shape: [1, 2], data: [1, 65504] });
  });

  it('round-trips any valid tensor through tensorFromJson unchanged', () => {
    fc.assert(
      fc.property(tensors, (tensor) => {
        expect(tensorFromJson(tensorToJson(tensor), { where: 't' })).toEqual(tensor);
      }),
      { numRuns: 300 },
    );
  });
});
