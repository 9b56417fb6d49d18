import { describe, expect, it } from 'vitest';
import { formatSignature } from './format-signature.js';

describe('formatSignature', () => {
  it('aligns ONNX inputs and outputs, naming symbolic dimensions', () => {
    expect(
      formatSignature({
        source: 'onnx',
        inputs: [
          { name: 'X', type: 'FP32', shape: [-1, 4], dimNames: ['N', null], onnxType: 'tensor(float)' },
          { name: 'mask', type: 'BOOL', shape: [-1], onnxType: 'tensor(bool)' },
          { name: 'untyped', type: 'UNKNOWN', onnxType: 'unknown' },
        ],
        outputs: [
          { name: 'label', type: 'INT64', shape: [], onnxType: 'tensor(int64)' },
          { name: 'output_probability', type: 'UNKNOWN', onnxType: 'seq(map(int64,tensor(float)))' },
        ],
      }),
    ).toEqual([
      'input   X                   FP32                           [N, 4]',
      'input   mask                BOOL                           [?]',
      'input   untyped             unknown',
      'output  label               INT64                          []',
      'output  output_probability  seq(map(int64,tensor(float)))',
    ]);
  });

  it('shows MLflow optional columns, unnamed tensors and params', () => {
    expect(
      formatSignature({
        source: 'mlflow',
        inputs: [
          { name: 'age', type: 'long', required: true },
          { name: 'note', type: 'string', required: false },
        ],
        outputs: [{ name: null, type: 'float32', shape: [-1, 10] }],
        params: [
          { name: 'temperature', type: 'float', default: 0.5, shape: null },
          { name: 'stop', type: 'string', default: ['\n'], shape: [-1] },
        ],
      }),
    ).toEqual([
      'input   age          long',
      'input   note         string   optional',
      'output  -            float32  [?, 10]',
      'param   temperature  float    default 0.5',
      'param   stop         string   [?]  default ["\\n"]',
    ]);
  });

  it('returns no lines for an empty signature', () => {
    expect(formatSignature({ source: 'mlflow', inputs: [], outputs: [] })).toEqual([]);
  });
});
