import { describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { DATATYPES } from '../tensors/tensor.js';
import { parseInferRequest, type ServedModel } from './v2-infer.js';

const churn: ServedModel = {
  name: 'churn',
  metadata: {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 20] }],
    outputs: [
      { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      { name: 'label', datatype: 'INT64', shape: [-1] },
    ],
  },
};

const pair: ServedModel = {
  name: 'pair',
  metadata: {
    inputs: [
      { name: 'ids', datatype: 'INT64', shape: [-1, -1] },
      { name: 'mask', datatype: 'BOOL', shape: [-1, -1] },
    ],
    outputs: [{ name: 'y', datatype: 'FP16', shape: [-1] }],
  },
};

const row = (count = 20): number[] => Array.from({ length: count }, (_, index) => index / 10);
const x = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'x',
  datatype: 'FP32',
  shape: [1, 20],
  data: row(),
  ...fields,
});

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

/** Returns or throws INVALID_ARGUMENT; anything else fails the property. */
function returnsOrRefuses(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!isCairnError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
  }
}

describe('parseInferRequest', () => {
  it('reads a request, keeping the model input order', () => {
    const request = parseInferRequest(
      {
        id: 'r-1',
        parameters: { priority: 1 },
        inputs: [
          { name: 'mask', datatype: 'BOOL', shape: [1, 2], data: [[true, false]] },
          { name: 'ids', datatype: 'INT64', shape: [1, 2], data: [7, -8] },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: false } }],
        unknown: 'ignored',
      },
      pair,
    );
    expect(request).toEqual({
      id: 'r-1',
      parameters: { priority: 1 },
      inputs: [
        { name: 'ids', datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([7n, -8n]) },
        { name: 'mask', datatype: 'BOOL', shape: [1, 2], data: new Uint8Array([1, 0]) },
      ],
      outputs: ['y'],
    });
  });

  it('leaves out what was not sent; an empty outputs list means all outputs', () => {
    const request = parseInferRequest({ inputs: [x()], outputs: [] }, churn);
    expect(Object.keys(request)).toEqual(['inputs']);
    expect(request.inputs[0]!.data).toEqual(new Float32Array(row()));
    expect(
      parseInferRequest({ id: null, inputs: [x({ shape: [2, 20], data: [row(), row()] })] }, churn).id,
    ).toBe(undefined);
  });

  it.each([
    [
      'a string body',
      '{"inputs": []}',
      undefined,
      'the request body is "{\\"inputs\\": []}", not a JSON object',
    ],
    ['an array body', [x()], undefined, 'the request body is an array of 1, not a JSON object'],
    ['a numeric id', { id: 7, inputs: [x()] }, 'id', 'id is 7, not a string'],
    [
      'no inputs',
      {},
      'inputs',
      'inputs is missing; model churn takes a non-empty array of input tensors (x)',
    ],
    ['empty inputs', { inputs: [] }, 'inputs', 'inputs is an array of 0;'],
    ['an object of inputs', { inputs: { x: x() } }, 'inputs', 'inputs is an object;'],
    ['a string input', { inputs: ['x'] }, 'inputs[0]', 'inputs[0] is "x", not a tensor object'],
    [
      'an unnamed input',
      { inputs: [x({ name: undefined })] },
      'inputs[0].name',
      'inputs[0]: name is missing',
    ],
    [
      'an unknown input',
      { inputs: [x(), x({ name: 'foo' })] },
      'inputs[1].name',
      'input "foo" is not an input of model churn; its inputs are: x',
    ],
    [
      'a prototype key as input name',
      { inputs: [x({ name: '__proto__' })] },
      'inputs[0].name',
      'input "__proto__" is not an input of model churn',
    ],
    [
      'a duplicate input',
      { inputs: [x(), x()] },
      'inputs[1].name',
      'input "x" is given twice: inputs[0] and inputs[1]',
    ],
    [
      'another datatype',
      { inputs: [x({ datatype: 'FP64' })] },
      'inputs[0].datatype',
      'input "x": datatype FP64 given, model churn takes FP32',
    ],
    [
      'an unknown datatype',
      { inputs: [x({ datatype: 'F32' })] },
      'inputs[0].datatype',
      'input "x": datatype is "F32", not one of',
    ],
    [
      'a shorter dimension',
      { inputs: [x({ shape: [1, 19], data: row(19) })] },
      'inputs[0].shape',
      'input "x": shape [1,19] given, model churn takes [-1,20]',
    ],
    [
      'another rank',
      { inputs: [x({ shape: [20], data: row() })] },
      'inputs[0].shape',
      'input "x": shape [20] given',
    ],
    [
      'a -1 dimension',
      { inputs: [x({ shape: [-1, 20] })] },
      'inputs[0].shape[0]',
      'input "x": shape[0] is -1, not a size',
    ],
    [
      'a bad element',
      { inputs: [x({ data: [0, 1, 2, 'abc', ...row(16)] })] },
      'inputs[0].data[3]',
      'input "x": data[3] is "abc", not a number',
    ],
    [
      'too little data',
      { inputs: [x({ data: row(19) })] },
      'inputs[0].data',
      'input "x": data has 19 values, shape [1,20] holds 20',
    ],
    [
      'a bad nested element',
      { inputs: [x({ shape: [2, 20], data: [row(), [...row(19), NaN]] })] },
      'inputs[0].data[1][19]',
      'input "x": data[1][19] is NaN, not a finite number',
    ],
    [
      'input parameters not an object',
      { inputs: [x({ parameters: [] })] },
      'inputs[0].parameters',
      'input "x": parameters is an array of 0',
    ],
    [
      'request parameters not an object',
      { inputs: [x()], parameters: 1 },
      'parameters',
      'request: parameters is 1, not an object',
    ],
    [
      'outputs not an array',
      { inputs: [x()], outputs: 'score' },
      'outputs',
      'outputs is "score", not an array of {name} objects',
    ],
    [
      'an output name as string',
      { inputs: [x()], outputs: ['score'] },
      'outputs[0]',
      'outputs[0] is "score", not an object {name}',
    ],
    ['an unnamed output', { inputs: [x()], outputs: [{}] }, 'outputs[0].name', 'outputs[0]: name is missing'],
    [
      'an unknown output',
      { inputs: [x()], outputs: [{ name: 'prob' }] },
      'outputs[0].name',
      'output "prob" is not an output of model churn; its outputs are: score, label',
    ],
    [
      'a duplicate output',
      { inputs: [x()], outputs: [{ name: 'label' }, { name: 'label' }] },
      'outputs[1].name',
      'output "label" is requested twice',
    ],
    [
      'output parameters not an object',
      { inputs: [x()], outputs: [{ name: 'label', parameters: 3 }] },
      'outputs[0].parameters',
      'output "label": parameters is 3, not an object',
    ],
  ])('refuses %s', (_case, body, field, message) => {
    const error = refusal(() => parseInferRequest(body, churn));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('names the missing input', () => {
    const body = { inputs: [{ name: 'ids', datatype: 'INT64', shape: [1, 1], data: [1] }] };
    expect(refusal(() => parseInferRequest(body, pair))).toEqual({
      field: 'inputs',
      message: 'input "mask" is missing; model pair takes inputs: ids, mask',
    });
  });

  it('holds each input to maxElements', () => {
    const body = { inputs: [x({ shape: [2, 20], data: [row(), row()] })] };
    expect(refusal(() => parseInferRequest(body, churn, { maxElements: 39 }))).toEqual({
      field: 'inputs[0].shape',
      message: 'input "x": shape [2,20] holds 40 elements, more than the 39 allowed',
    });
    expect(parseInferRequest(body, churn, { maxElements: 40 }).inputs[0]!.shape).toEqual([2, 20]);
  });

  it('returns or refuses with INVALID_ARGUMENT on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => returnsOrRefuses(() => parseInferRequest(body, churn))),
      { numRuns: 500 },
    );
  });

  it('returns or refuses with INVALID_ARGUMENT on anything at all', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withTypedArray: true, withSparseArray: true }),
        (body) => returnsOrRefuses(() => parseInferRequest(body, churn)),
      ),
      { numRuns: 500 },
    );
  });

  it('returns or refuses with INVALID_ARGUMENT on near-valid requests', () => {
    const tensor = fc.record(
      {
        name: fc.constantFrom('ids', 'mask', 'x', '__proto__', 'constructor', ''),
        datatype: fc.constantFrom<unknown>(...DATATYPES, 'fp32', 3),
        shape: fc.array(fc.integer({ min: -2, max: 3 }), { maxLength: 3 }),
        data: fc.oneof(fc.array(fc.jsonValue(), { maxLength: 9 }), fc.array(fc.array(fc.jsonValue()))),
        parameters: fc.jsonValue(),
      },
      { requiredKeys: ['name'] },
    );
    const body = fc.record(
      {
        id: fc.jsonValue(),
        inputs: fc.array(fc.oneof(tensor, fc.jsonValue()), { maxLength: 3 }),
        outputs: fc.array(fc.record({ name: fc.constantFrom('y', 'z', '__proto__') }), { maxLength: 2 }),
      },
      { requiredKeys: ['inputs'] },
    );
    fc.assert(
      fc.property(body, (value) => returnsOrRefuses(() => parseInferRequest(value, pair))),
      { numRuns: 1000 },
    );
  });
});
