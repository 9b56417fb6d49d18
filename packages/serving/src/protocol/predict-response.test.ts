import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jsonElements } from '../tensors/datatype-arrays.js';
import { elementCount, type Tensor } from '../tensors/tensor.js';
import { encodePredictResponse } from './predict.js';

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: new Float32Array(values),
});

describe('encodePredictResponse', () => {
  it('writes one bare value per row for a one-element row', () => {
    expect(encodePredictResponse({ outputs: [fp32('y', [2, 1], [0.5, NaN])], rows: 2 })).toBe(
      '{"predictions":[0.5,null]}',
    );
    expect(encodePredictResponse({ outputs: [fp32('y', [2], [1, 2])], rows: 2 })).toBe(
      '{"predictions":[1,2]}',
    );
  });

  it('nests rows of several elements per the remaining shape', () => {
    expect(encodePredictResponse({ outputs: [fp32('y', [1, 2, 2], [1, 2, 3, 4])], rows: 1 })).toBe(
      '{"predictions":[[[1,2],[3,4]]]}',
    );
    expect(encodePredictResponse({ outputs: [fp32('y', [2, 0], [])], rows: 2 })).toBe(
      '{"predictions":[[],[]]}',
    );
  });

  it('keys rows by output name with several outputs, giving unbatched outputs to every row', () => {
    const outputs: Tensor[] = [
      { name: 'label', datatype: 'INT64', shape: [2], data: new BigInt64Array([1n, 0n]) },
      fp32('probabilities', [2, 2], [0.25, 0.75, 0.5, 0.5]),
      { name: 'classes', datatype: 'BYTES', shape: [3], data: ['a', 'b', 'c'] },
    ];
    const text = encodePredictResponse({
      outputs,
      rows: 2,
      extra: { model_version: '3', predictions: 'x', none: undefined },
    });
    expect(text).toBe(
      '{"predictions":[' +
        '{"label":1,"probabilities":[0.25,0.75],"classes":["a","b","c"]},' +
        '{"label":0,"probabilities":[0.5,0.5],"classes":["a","b","c"]}' +
        '],"model_version":"3"}',
    );
  });

  it('writes a scalar output whole into every row', () => {
    expect(encodePredictResponse({ outputs: [fp32('t', [], [Infinity])], rows: 2 })).toBe(
      '{"predictions":[null,null]}',
    );
  });

  it('always writes JSON that parses to the expected predictions', () => {
    /** The reference: reshape JSON elements recursively (small shapes only). */
    const nest = (values: unknown[], shape: readonly number[]): unknown => {
      if (shape.length === 0) return values[0];
      const size = elementCount(shape.slice(1));
      return Array.from({ length: shape[0]! }, (_, index) =>
        nest(values.slice(index * size, (index + 1) * size), shape.slice(1)),
      );
    };
    const output = fc
      .record({
        name: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
        shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }),
      })
      .chain(({ name, shape }) =>
        fc
          .array(fc.float(), { minLength: elementCount(shape), maxLength: elementCount(shape) })
          .map((values) => fp32(name, shape, values)),
      );
    fc.assert(
      fc.property(
        fc.uniqueArray(output, { selector: (tensor) => tensor.name, maxLength: 3 }),
        fc.integer({ min: 0, max: 3 }),
        (outputs, rows) => {
          const entries = outputs.map((tensor) => {
            // JSON has no NaN or ±Infinity (null instead), and -0 is written 0 as JSON.stringify does.
            const values = jsonElements('FP32', tensor.data).map((value) =>
              Number.isFinite(value) ? (value as number) + 0 : null,
            );
            if (tensor.shape[0] !== rows) return () => nest(values, tensor.shape);
            const rowShape = tensor.shape.slice(1);
            const size = elementCount(rowShape);
            return (row: number) =>
              nest(values.slice(row * size, (row + 1) * size), size === 1 ? [] : rowShape);
          });
          const predictions = Array.from({ length: rows }, (_, row) =>
            entries.length === 1
              ? entries[0]!(row)
              : Object.fromEntries(outputs.map((tensor, index) => [tensor.name, entries[index]!(row)])),
          );
          expect(JSON.parse(encodePredictResponse({ outputs, rows }))).toEqual({ predictions });
        },
      ),
      { numRuns: 300 },
    );
  });
});
