import { describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import type { TensorSpec } from '../tensors/tensor.js';
import { parsePredictRequest } from './predict.js';
import type { ServedModel } from './v2-infer.js';

const model = (name: string, ...inputs: TensorSpec[]): ServedModel => ({
  name,
  metadata: { inputs, outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
});

const churn = model('churn', {
  name: 'x',
  datatype: 'FP32',
  shape: [-1, 3],
  features: ['age', 'tenure', 'plan'],
});
const plain = model('plain', { name: 'x', datatype: 'FP32', shape: [-1, 3] });
const scalar = model('scalar', { name: 's', datatype: 'INT64', shape: [-1] });
const column = model('column', { name: 'c', datatype: 'FP16', shape: [-1, 1] });
const grid = model('grid', { name: 'g', datatype: 'INT8', shape: [-1, 2, 3] });
const text = model('text', { name: 't', datatype: 'BYTES', shape: [-1] });
const pair = model(
  'pair',
  { name: 'ids', datatype: 'INT64', shape: [-1, -1] },
  { name: 'mask', datatype: 'BOOL', shape: [-1, -1] },
);
const fixed = model('fixed', { name: 'x', datatype: 'FP32', shape: [1, 2] });
const unbatched = model('unbatched', { name: 'x', datatype: 'FP32', shape: [] });

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

function returnsOrRefuses(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!isCairnError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
  }
}

describe('parsePredictRequest', () => {
  it('reads array rows into the batch dimension', () => {
    expect(
      parsePredictRequest(
        {
          instances: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        },
        plain,
      ),
    ).toEqual({
      rows: 2,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
    });
  });

  it('reads flat and nested rows of a many-dimensional input alike', () => {
    const flat = parsePredictRequest({ instances: [[1, 2, 3, 4, 5, 6]] }, grid);
    const nested = parsePredictRequest(
      {
        instances: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ],
      },
      grid,
    );
    expect(flat).toEqual(nested);
    expect(flat.inputs[0]).toEqual({
      name: 'g',
      datatype: 'INT8',
      shape: [1, 2, 3],
      data: new Int8Array([1, 2, 3, 4, 5, 6]),
    });
  });

  it('reads bare values for one-element rows', () => {
    expect(parsePredictRequest({ instances: [1, -2] }, scalar).inputs[0]).toEqual({
      name: 's',
      datatype: 'INT64',
      shape: [2],
      data: new BigInt64Array([1n, -2n]),
    });
    expect(parsePredictRequest({ instances: [1, [-2]] }, column).inputs[0]!.data).toEqual(
      new Uint16Array([0x3c00, 0xc000]),
    );
    expect(parsePredictRequest({ instances: ['a', 'b'] }, text).inputs[0]!.data).toEqual(['a', 'b']);
  });

  it('reads rows keyed by feature name', () => {
    const request = parsePredictRequest(
      {
        instances: [
          { plan: 3, age: 1, tenure: 2 },
          { age: 4, tenure: 5, plan: 6 },
        ],
      },
      churn,
    );
    expect(request.inputs[0]!.data).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
    expect(parsePredictRequest({ instances: [[1, 2, 3]] }, churn).inputs[0]!.data).toEqual(
      new Float32Array([1, 2, 3]),
    );
  });

  it('reads rows keyed by input name, settling -1 dimensions from the first row', () => {
    const request = parsePredictRequest(
      {
        instances: [
          { ids: [1, 2, 3], mask: [true, true, false] },
          { mask: [true, false, false], ids: [4, 5, 6] },
        ],
      },
      pair,
    );
    expect(request).toEqual({
      rows: 2,
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [2, 3], data: new BigInt64Array([1n, 2n, 3n, 4n, 5n, 6n]) },
        { name: 'mask', datatype: 'BOOL', shape: [2, 3], data: new Uint8Array([1, 1, 0, 1, 0, 0]) },
      ],
    });
    expect(parsePredictRequest({ instances: [{ x: [1, 2, 3] }] }, churn).inputs[0]!.data).toEqual(
      new Float32Array([1, 2, 3]),
    );
  });

  it('takes a fixed batch dimension when the rows match it', () => {
    expect(parsePredictRequest({ instances: [[1, 2]] }, fixed).inputs[0]!.shape).toEqual([1, 2]);
  });

  it.each([
    [
      'a non-object body',
      plain,
      [[1, 2, 3]],
      undefined,
      'the request body is an array of 1, not a JSON object',
    ],
    ['no instances', plain, {}, 'instances', 'instances is missing; send {"instances": [row, …]}'],
    ['empty instances', plain, { instances: [] }, 'instances', 'instances is an array of 0;'],
    ['instances as object', plain, { instances: { a: 1 } }, 'instances', 'instances is an object;'],
    [
      'a short row',
      plain,
      {
        instances: [
          [1, 2, 3],
          [4, 5],
        ],
      },
      'instances[1]',
      'instances[1] has 2 values, shape [3] holds 3 (input "x" takes FP32 [-1,3])',
    ],
    [
      'a bad element',
      plain,
      {
        instances: [
          [1, 2, 3],
          [4, 5, 'abc'],
        ],
      },
      'instances[1][2]',
      'instances[1][2] is "abc", not a number (input "x" takes FP32 [-1,3])',
    ],
    [
      'a bare value for many',
      plain,
      { instances: [5] },
      'instances[0]',
      'instances[0] is 5, not an array of 3 values (input "x" takes FP32 [-1,3])',
    ],
    [
      'a null row',
      scalar,
      { instances: [1, null] },
      'instances[1]',
      'instances[1] is null, not a number (input "s" takes INT64 [-1])',
    ],
    [
      'a fractional INT64',
      scalar,
      { instances: [1.5] },
      'instances[0]',
      'instances[0] is 1.5, not an integer, INT64 holds whole numbers',
    ],
    [
      'an FP16 overflow',
      column,
      { instances: [[1e6]] },
      'instances[0][0]',
      "instances[0][0] is 1000000, outside FP16's range ±65504",
    ],
    [
      'a ragged nested row',
      grid,
      {
        instances: [
          [
            [1, 2, 3],
            [4, 5],
          ],
        ],
      },
      'instances[0][1]',
      'instances[0][1] is an array of 2, shape [2,3] needs an array of 3 here',
    ],
    [
      'an INT8 overflow',
      grid,
      { instances: [[1, 2, 3, 4, 5, 128]] },
      'instances[0][5]',
      "outside INT8's range -128..127",
    ],
    [
      'an object after arrays',
      plain,
      { instances: [[1, 2, 3], { x: [1, 2, 3] }] },
      'instances[1]',
      'instances[1] is an object, but instances[0] is not; all rows must take the same form',
    ],
    [
      'an array after objects',
      plain,
      { instances: [{ x: [1, 2, 3] }, [1, 2, 3]] },
      'instances[1]',
      'instances[1] is an array of 3, but instances[0] is an object; all rows must take the same form',
    ],
    [
      'an array row for two inputs',
      pair,
      { instances: [[1, 2]] },
      'instances[0]',
      'instances[0] is an array of 2, but model pair takes 2 inputs (ids, mask); send each row as an object keyed by input name',
    ],
    [
      'an unknown input',
      pair,
      { instances: [{ ids: [1], mask: [true], extra: 1 }] },
      'instances[0].extra',
      'instances[0]: "extra" is not an input of model pair; its inputs are: ids, mask',
    ],
    [
      'an odd unknown key',
      pair,
      { instances: [{ 'a b': 1 }] },
      'instances[0]["a b"]',
      'instances[0]: "a b" is not an input',
    ],
    [
      'a missing input',
      pair,
      { instances: [{ ids: [1] }] },
      'instances[0]',
      'instances[0]: input "mask" is missing; each row needs ids, mask',
    ],
    [
      'a missing input later',
      pair,
      { instances: [{ ids: [1], mask: [true] }, { mask: [true] }] },
      'instances[1]',
      'instances[1]: input "ids" is missing',
    ],
    [
      'a ragged -1 dimension',
      pair,
      {
        instances: [
          { ids: [1, 2], mask: [true, true] },
          { ids: [1], mask: [true, true] },
        ],
      },
      'instances[1].ids',
      'instances[1].ids has 1 value, shape [2] holds 2 (input "ids" takes INT64 [-1,-1])',
    ],
    [
      'a bare value for a -1 dimension',
      pair,
      { instances: [{ ids: 1, mask: [true] }] },
      'instances[0].ids',
      'instances[0].ids is 1; it must nest arrays so the size of dimension 1 of input "ids" [-1,-1] can be read',
    ],
    [
      'a bad value by input',
      pair,
      { instances: [{ ids: [1], mask: [1] }] },
      'instances[0].mask[0]',
      'instances[0].mask[0] is 1, not true or false (input "mask" takes BOOL [-1,-1])',
    ],
    [
      'an unknown feature',
      churn,
      { instances: [{ age: 1, tenure: 2, plan: 3, zip: 4 }] },
      'instances[0].zip',
      'instances[0]: "zip" is not a feature of input "x"; its features are: age, tenure, plan',
    ],
    [
      'a prototype key',
      churn,
      JSON.parse('{"instances": [{"age": 1, "tenure": 2, "__proto__": 3}]}'),
      'instances[0].__proto__',
      'instances[0]: "__proto__" is not a feature of input "x"',
    ],
    [
      'a missing feature',
      churn,
      { instances: [{ age: 1, plan: 3 }] },
      'instances[0]',
      'instances[0]: feature "tenure" is missing; each row needs all 3 features of input "x"',
    ],
    [
      'a bad feature value',
      churn,
      { instances: [{ age: 1, tenure: '2', plan: 3 }] },
      'instances[0].tenure',
      'instances[0]: feature "tenure" is "2", not a number (input "x" takes FP32)',
    ],
    [
      'an input key among features',
      churn,
      { instances: [{ x: [1, 2, 3], age: 1 }] },
      'instances[0].x',
      'instances[0]: "x" is not a feature of input "x"',
    ],
    [
      'more rows than a fixed batch',
      fixed,
      {
        instances: [
          [1, 2],
          [3, 4],
        ],
      },
      'instances',
      'instances has 2 rows, but model fixed\'s input "x" takes exactly 1 per request',
    ],
  ])('refuses %s', (_case, served, body, field, message) => {
    const error = refusal(() => parsePredictRequest(body, served));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('holds to maxRows, 10,000 by default, and maxElements', () => {
    expect(refusal(() => parsePredictRequest({ instances: [1, 2, 3] }, scalar, { maxRows: 2 }))).toEqual({
      field: 'instances',
      message: 'instances has 3 rows, at most 2 are allowed',
    });
    const many = { instances: new Array(10_001).fill(1) };
    expect(refusal(() => parsePredictRequest(many, scalar)).message).toContain('at most 10000');
    expect(parsePredictRequest({ instances: new Array(10_000).fill(1) }, scalar).rows).toBe(10_000);
    expect(
      refusal(() =>
        parsePredictRequest(
          {
            instances: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
          plain,
          { maxElements: 5 },
        ),
      ),
    ).toEqual({
      field: 'instances',
      message: 'instances: 2 rows of input "x" hold 6 elements, more than the 5 allowed',
    });
  });

  it('refuses a model input without a batch dimension as a failed precondition', () => {
    try {
      parsePredictRequest({ instances: [1] }, unbatched);
      expect.unreachable();
    } catch (error) {
      expect(isCairnError(error) && error.code).toBe('FAILED_PRECONDITION');
      expect((error as Error).message).toContain('input "x" of model unbatched has no batch dimension');
    }
  });

  it('survives deep nesting', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level += 1) deep = [deep];
    expect(refusal(() => parsePredictRequest({ instances: [[deep, deep]] }, grid)).field).toBe(
      'instances[0][0]',
    );
    expect(refusal(() => parsePredictRequest({ instances: [{ ids: deep, mask: deep }] }, pair)).field).toBe(
      'instances[0].ids[0]',
    );
  });

  it.each([churn, plain, scalar, column, grid, text, pair, fixed])(
    'returns or refuses with INVALID_ARGUMENT on any value (model %#)',
    (served) => {
      const instances = fc.oneof(
        fc.jsonValue(),
        fc.anything({ withNullPrototype: true, withSparseArray: true }),
        fc.array(fc.jsonValue(), { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.dictionary(
            fc.constantFrom('x', 'ids', 'mask', 'age', 'tenure', 'plan', '__proto__'),
            fc.jsonValue(),
          ),
          { minLength: 1, maxLength: 3 },
        ),
      );
      fc.assert(
        fc.property(fc.oneof(fc.record({ instances }), fc.anything()), (body) =>
          returnsOrRefuses(() => parsePredictRequest(body, served)),
        ),
        { numRuns: 200 },
      );
    },
  );
});
