import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dataFrom, jsonElements } from '../tensors/datatype-arrays.js';
import {
  DATATYPES,
  elementCount,
  type Datatype,
  type ModelMetadata,
  type Tensor,
} from '../tensors/tensor.js';
import { encodeInferResponse, modelMetadataJson } from './v2-infer.js';

// Tensors a model may return: any values their arrays hold, NaN and ±Infinity included.
const elements: Record<Datatype, fc.Arbitrary<unknown>> = {
  BOOL: fc.integer({ min: 0, max: 1 }),
  UINT8: fc.integer({ min: 0, max: 255 }),
  UINT16: fc.integer({ min: 0, max: 65535 }),
  UINT32: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  UINT64: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  INT8: fc.integer({ min: -128, max: 127 }),
  INT16: fc.integer({ min: -32768, max: 32767 }),
  INT32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  INT64: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  FP16: fc.integer({ min: 0, max: 0xffff }),
  FP32: fc.float(),
  FP64: fc.double(),
  BYTES: fc.string({ unit: 'binary', maxLength: 8 }),
};

const outputTensors: fc.Arbitrary<Tensor> = fc
  .record({
    name: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
    datatype: fc.constantFrom(...DATATYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .chain(({ name, datatype, shape }) => {
    const count = elementCount(shape);
    return fc.array(elements[datatype], { minLength: count, maxLength: count }).map((values) => {
      const data = dataFrom(datatype, values);
      return { name, datatype, shape, data } as Tensor;
    });
  });

/** What a client should read back: JSON elements, null for NaN and ±Infinity, 0 for -0 (as JSON.stringify). */
const expectedOutput = (tensor: Tensor): unknown => ({
  name: tensor.name,
  datatype: tensor.datatype,
  shape: tensor.shape,
  data: jsonElements(tensor.datatype, tensor.data).map((value) =>
    typeof value !== 'number' ? value : Number.isFinite(value) ? value + 0 : null,
  ),
});

describe('encodeInferResponse', () => {
  it('writes the v2 response', () => {
    const text = encodeInferResponse({
      modelName: 'churn',
      modelVersion: '3',
      id: 'r-"1"',
      outputs: [
        { name: 'score', datatype: 'FP32', shape: [2, 1], data: new Float32Array([0.5, NaN]) },
        { name: 'label', datatype: 'INT64', shape: [2], data: new BigInt64Array([1n, 2n ** 62n]) },
        { name: 'ok', datatype: 'BOOL', shape: [1], data: new Uint8Array([1]) },
        { name: 'h', datatype: 'FP16', shape: [3], data: new Uint16Array([0x3c00, 0x7c00, 0xfc00]) },
        { name: 's', datatype: 'BYTES', shape: [2], data: ['a"\n', '\ud800'] },
        { name: 'd', datatype: 'FP64', shape: [3], data: new Float64Array([Infinity, -0, 1e300]) },
      ],
    });
    expect(text).toBe(
      '{"model_name":"churn","model_version":"3","id":"r-\\"1\\"","outputs":[' +
        '{"name":"score","datatype":"FP32","shape":[2,1],"data":[0.5,null]},' +
        '{"name":"label","datatype":"INT64","shape":[2],"data":[1,4611686018427387904]},' +
        '{"name":"ok","datatype":"BOOL","shape":[1],"data":[true]},' +
        '{"name":"h","datatype":"FP16","shape":[3],"data":[1,null,null]},' +
        '{"name":"s","datatype":"BYTES","shape":[2],"data":["a\\"\\n","\\ud800"]},' +
        '{"name":"d","datatype":"FP64","shape":[3],"data":[null,0,1e+300]}]}',
    );
    expect(JSON.parse(text).outputs[4].data).toEqual(['a"\n', '\ud800']);
  });

  it('leaves out an absent id and writes no outputs as []', () => {
    expect(JSON.parse(encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs: [] }))).toEqual({
      model_name: 'm',
      model_version: '1',
      outputs: [],
    });
  });

  it('always writes JSON that parses to the expected response', () => {
    fc.assert(
      fc.property(
        fc.array(outputTensors, { maxLength: 3 }),
        fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
        (outputs, id) => {
          const text = encodeInferResponse({ modelName: 'm\u2028"', modelVersion: '7', id, outputs });
          expect(JSON.parse(text)).toEqual({
            model_name: 'm\u2028"',
            model_version: '7',
            ...(id === undefined ? {} : { id }),
            outputs: outputs.map(expectedOutput),
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('modelMetadataJson', () => {
  it('writes the v2 model metadata, without Cairn-only fields', () => {
    const metadata: ModelMetadata = {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2], features: ['age', 'tenure'] }],
      outputs: [{ name: 'y', datatype: 'INT64', shape: [-1] }],
    };
    expect(
      modelMetadataJson({ name: 'churn', versions: ['1', '2'], platform: 'onnxruntime_onnx', metadata }),
    ).toEqual({
      name: 'churn',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'INT64', shape: [-1] }],
    });
  });
});
