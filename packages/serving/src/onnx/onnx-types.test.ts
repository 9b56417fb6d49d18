import type { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { sessionMetadata } from './onnx-types.js';

type Value = InferenceSession.ValueMetadata;
const tensor = (name: string, type: string, shape: Array<number | string>): Value =>
  ({ name, isTensor: true, type, shape }) as Value;
const session = (inputMetadata: Value[], outputMetadata: Value[]) => ({ inputMetadata, outputMetadata });

describe('sessionMetadata', () => {
  it('maps element types to protocol datatypes and symbolic dimensions to -1', () => {
    const types = [
      'float32',
      'float16',
      'float64',
      'int8',
      'int16',
      'int32',
      'int64',
      'uint8',
      'uint16',
      'uint32',
      'uint64',
      'bool',
      'string',
    ];
    const metadata = sessionMetadata(
      session(
        types.map((type) => tensor(type, type, ['batch', 3, ''])),
        [tensor('out', 'float32', [2])],
      ),
    );
    expect(metadata.inputs.map((s) => s.datatype)).toEqual([
      'FP32',
      'FP16',
      'FP64',
      'INT8',
      'INT16',
      'INT32',
      'INT64',
      'UINT8',
      'UINT16',
      'UINT32',
      'UINT64',
      'BOOL',
      'BYTES',
    ]);
    expect(metadata.inputs[0]?.shape).toEqual([-1, 3, -1]);
    expect(metadata.outputs).toEqual([{ name: 'out', datatype: 'FP32', shape: [2] }]);
  });

  it('refuses a model with an input that is not a tensor or has no protocol datatype', () => {
    const out = [tensor('out', 'float32', [1])];
    expect(() => sessionMetadata(session([{ name: 'seq', isTensor: false } as Value], out))).toThrow(
      /input "seq" is not a tensor/,
    );
    expect(() => sessionMetadata(session([tensor('q', 'int4', [2])], out))).toThrow(
      /input "q" is a tensor of int4/,
    );
  });

  it('refuses a model none of whose outputs it could return', () => {
    expect(() =>
      sessionMetadata(session([tensor('x', 'float32', [1])], [{ name: 'map', isTensor: false } as Value])),
    ).toThrow('the model has no tensor outputs Cairn could return');
  });
});
