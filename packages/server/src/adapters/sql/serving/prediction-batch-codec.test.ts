import fc from 'fast-check';
import type { Tensor } from '@cairn/serving';
import { describe, expect, it } from 'vitest';
import type { PredictionDraft } from '../../../modules/serving/index.js';
import { packDrafts, unpackDrafts } from './prediction-batch-codec.js';

const draft = (inputs: Tensor[] | null, outputs: Tensor[], i = 0): PredictionDraft => ({
  requestId: `r-${i}`,
  kind: 'live',
  deploymentId: 'd',
  revision: 2,
  model: 'm',
  version: 3,
  protocol: 'v2',
  createdAt: 1_700_000_000_000 + i,
  latencyMs: 0.25,
  status: 'ok',
  error: null,
  agreed: null,
  meanAbsDiff: null,
  inputs,
  outputs,
});

describe('prediction batch codec', () => {
  it('carries every datatype, views into shared buffers and null inputs across unchanged', () => {
    const shared = new Float32Array([9, 9, 1.5, 2.5, 9]);
    const tensors: Tensor[] = [
      { name: 'f32', datatype: 'FP32', shape: [1, 2], data: shared.subarray(2, 4) },
      { name: 'f64', datatype: 'FP64', shape: [2], data: new Float64Array([Math.PI, -0]) },
      { name: 'i64', datatype: 'INT64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) },
      { name: 'u64', datatype: 'UINT64', shape: [1], data: new BigUint64Array([2n ** 63n]) },
      { name: 'b', datatype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) },
      { name: 'i8', datatype: 'INT8', shape: [1], data: new Int8Array([-128]) },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['a', 'ü'] },
    ];
    const drafts = [draft(tensors, tensors.slice(0, 1)), draft(null, tensors.slice(3), 1)];
    const packed = packDrafts(drafts);
    const copy = structuredClone(packed, { transfer: [packed.bytes] });
    expect(unpackDrafts(copy)).toEqual(drafts);
  });

  it('round-trips random batches (property)', () => {
    const tensor = fc
      .tuple(fc.string(), fc.array(fc.float({ noNaN: true }), { maxLength: 40 }))
      .map(([name, values]): Tensor => ({
        name,
        datatype: 'FP32',
        shape: [values.length],
        data: Float32Array.from(values),
      }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(tensor, { maxLength: 3 }), fc.boolean()), { maxLength: 20 }),
        (rows) => {
          const drafts = rows.map(([tensors, sampled], i) => draft(sampled ? tensors : null, tensors, i));
          expect(unpackDrafts(packDrafts(drafts))).toEqual(drafts);
        },
      ),
    );
  });
});
