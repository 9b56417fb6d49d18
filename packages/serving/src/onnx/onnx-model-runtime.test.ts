import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateLogistic,
  evaluateMlp,
  identityModel,
  logisticModel,
  mlpModel,
  seededRandom,
  writeModelFile,
  type EncodedModel,
} from '../../../server/src/testing/onnx-builder.js';
import type { ModelRuntime, RuntimeSettings } from '../runtime.js';
import type { Tensor } from '../tensors/tensor.js';
import type { OnnxModelRuntime } from './onnx-model-runtime.js';
import { OnnxRuntimeFactory } from './onnx-runtime-factory.js';

let root: string;
let count = 0;
const factory = new OnnxRuntimeFactory();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cairn-onnx-runtime-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function load(
  model: EncodedModel,
  batching = { maxBatchSize: 64, maxBatchWaitMs: 0 },
): Promise<OnnxModelRuntime> {
  const name = `m${++count}`;
  await writeModelFile(join(root, `${name}.onnx`), model);
  const settings: RuntimeSettings = { batching, maxQueue: 1_000, threads: 1 };
  const files = { digest: `sha256:${name}`, format: 'onnx', root, paths: [`${name}.onnx`] };
  return (await factory.load(files, settings)) as OnnxModelRuntime;
}

/** `rows` rows of 20 features from a seed, in [-2, 2). */
function features(rows: number, seed: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: rows }, () => Array.from({ length: 20 }, () => random() * 4 - 2));
}

const fp32 = (name: string, rows: number[][]): Tensor => ({
  name,
  datatype: 'FP32',
  shape: [rows.length, rows[0]?.length ?? 0],
  data: Float32Array.from(rows.flat()),
});

function toRows(tensor: Tensor): number[][] {
  const [n, m] = tensor.shape as [number, number];
  const data = Array.from(tensor.data as Float32Array);
  return Array.from({ length: n }, (_, i) => data.slice(i * m, (i + 1) * m));
}

function expectClose(actual: number[][], expected: number[][], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) =>
    row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]?.[j] as number, digits)),
  );
}

describe('ONNX runtime on real models', () => {
  let mlp: OnnxModelRuntime;
  let unbatched: ModelRuntime;
  beforeAll(async () => {
    mlp = await load(mlpModel({ seed: 11 }));
    unbatched = await load(mlpModel({ seed: 11 }), { maxBatchSize: 1, maxBatchWaitMs: 0 });
  });
  afterAll(async () => {
    await Promise.all([mlp.close(), unbatched.close()]);
  });

  it('computes what the MLP and the logistic regression compute in plain JS', async () => {
    const x = features(7, 1);
    const [probabilities] = await mlp.infer([fp32('input', x)]);
    expect((probabilities as Tensor).shape).toEqual([7, 2]);
    expectClose(toRows(probabilities as Tensor), evaluateMlp(x, { seed: 11 }));
    const logistic = await load(logisticModel({ seed: 5 }));
    const [probability] = await logistic.infer([fp32('features', x)]);
    expect((probability as Tensor).name).toBe('probability');
    expectClose(toRows(probability as Tensor), evaluateLogistic(x, { seed: 5 }));
    await logistic.close();
  });

  it('runs a lone request alone and gathers 64 concurrent single-row requests into batches', async () => {
    const batches: Array<[number, number]> = [];
    mlp.observer = { onBatch: (rows, requests) => batches.push([rows, requests]) };
    await mlp.infer([fp32('input', features(1, 2))]);
    expect(batches).toEqual([[1, 1]]);
    batches.length = 0;
    const x = features(64, 3);
    const answers = await Promise.all(x.map((r) => mlp.infer([fp32('input', [r])])));
    mlp.observer = undefined;
    expect(batches.reduce((sum, [rows]) => sum + rows, 0)).toBe(64);
    expect(Math.max(...batches.map(([, requests]) => requests))).toBeGreaterThan(1);
    expectClose(
      answers.map(([p]) => toRows(p as Tensor)[0] as number[]),
      evaluateMlp(x, { seed: 11 }),
    );
  });

  it('gives every caller exactly its own rows, however requests interleave', async () => {
    const request = fc.record({ rows: fc.integer({ min: 1, max: 5 }), seed: fc.integer(), delay: fc.nat(3) });
    let joined = 0;
    mlp.observer = { onBatch: (_rows, requests) => (joined = Math.max(joined, requests)) };
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 40 }), async (requests) => {
        const answers = await Promise.all(
          requests.map(async ({ rows, seed, delay }) => {
            for (let i = 0; i < delay; i++) await new Promise((resolve) => setImmediate(resolve));
            const x = features(rows, seed);
            const [batched, alone] = await Promise.all([
              mlp.infer([fp32('input', x)]),
              unbatched.infer([fp32('input', x)]),
            ]);
            return { batched: toRows(batched[0] as Tensor), alone: toRows(alone[0] as Tensor) };
          }),
        );
        for (const { batched, alone } of answers) expectClose(batched, alone, 6);
      }),
      { numRuns: 40 },
    );
    mlp.observer = undefined;
    expect(joined).toBeGreaterThan(1);
  });
});

describe('ONNX runtime datatypes and shapes', () => {
  it('passes BOOL, BYTES, INT64, FP16 and FP64 through onnxruntime', async () => {
    const runtime = await load(
      identityModel([
        { name: 'b', dtype: 'bool', shape: ['N', 3] },
        { name: 's', dtype: 'string', shape: ['N'] },
        { name: 'i', dtype: 'int64', shape: ['N', null] },
        { name: 'h', dtype: 'float16', shape: ['N', 'K'] },
        { name: 'c', dtype: 'int32', shape: [2], castTo: 'float64' },
      ]),
    );
    expect(runtime.metadata.inputs.map((s) => [s.name, s.datatype, s.shape])).toEqual([
      ['b', 'BOOL', [-1, 3]],
      ['s', 'BYTES', [-1]],
      ['i', 'INT64', [-1, -1]],
      ['h', 'FP16', [-1, -1]],
      ['c', 'INT32', [2]],
    ]);
    expect(runtime.metadata.outputs.map((s) => s.datatype)).toEqual([
      'BOOL',
      'BYTES',
      'INT64',
      'FP16',
      'FP64',
    ]);
    const outputs = await runtime.infer([
      { name: 'b', datatype: 'BOOL', shape: [1, 3], data: Uint8Array.of(1, 0, 1) },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['héllo', ''] },
      { name: 'i', datatype: 'INT64', shape: [1, 2], data: BigInt64Array.of(-(2n ** 62n), 7n) },
      { name: 'h', datatype: 'FP16', shape: [1, 1], data: Uint16Array.of(0x3c00) },
      { name: 'c', datatype: 'INT32', shape: [2], data: Int32Array.of(3, -4) },
    ]);
    const byName = Object.fromEntries(outputs.map((t) => [t.name, t]));
    expect(byName.b_out).toEqual({
      name: 'b_out',
      datatype: 'BOOL',
      shape: [1, 3],
      data: Uint8Array.of(1, 0, 1),
    });
    expect(byName.s_out).toEqual({ name: 's_out', datatype: 'BYTES', shape: [2], data: ['héllo', ''] });
    expect(byName.i_out?.data).toEqual(BigInt64Array.of(-(2n ** 62n), 7n));
    expect(byName.h_out).toEqual({
      name: 'h_out',
      datatype: 'FP16',
      shape: [1, 1],
      data: Uint16Array.of(0x3c00),
    });
    expect(byName.c_out).toEqual({
      name: 'c_out',
      datatype: 'FP64',
      shape: [2],
      data: Float64Array.of(3, -4),
    });
    await runtime.close();
  });

  it('batches BYTES, BOOL and INT64 requests and returns each its own rows', async () => {
    const runtime = await load(
      identityModel([
        { name: 's', dtype: 'string', shape: ['N'] },
        { name: 'b', dtype: 'bool', shape: ['N', 2] },
        { name: 'i', dtype: 'int64', shape: ['N'] },
      ]),
    );
    const request = (k: number): Tensor[] => [
      { name: 's', datatype: 'BYTES', shape: [k], data: Array.from({ length: k }, (_, j) => `r${k}-${j}`) },
      {
        name: 'b',
        datatype: 'BOOL',
        shape: [k, 2],
        data: Uint8Array.from({ length: 2 * k }, (_, j) => (j + k) % 2),
      },
      {
        name: 'i',
        datatype: 'INT64',
        shape: [k],
        data: BigInt64Array.from({ length: k }, (_, j) => BigInt(k * 100 + j)),
      },
    ];
    const sizes = [1, 3, 2, 1, 4, 1, 2];
    const batches: number[] = [];
    runtime.observer = { onBatch: (_rows, requests) => batches.push(requests) };
    const answers = await Promise.all(sizes.map((k) => runtime.infer(request(k))));
    expect(Math.max(...batches)).toBeGreaterThan(1);
    answers.forEach((outputs, n) => {
      const sent = request(sizes[n] as number);
      expect(outputs.map((t) => [t.shape, Array.from(t.data as ArrayLike<unknown>)])).toEqual(
        sent.map((t) => [t.shape, Array.from(t.data as ArrayLike<unknown>)]),
      );
    });
    await runtime.close();
  });

  it('returns only the outputs asked for, batched or not', async () => {
    const runtime = await load(
      identityModel([
        { name: 'a', dtype: 'float32', shape: ['N', 2] },
        { name: 'b', dtype: 'float32', shape: ['N', 3] },
      ]),
    );
    const request = (v: number): Tensor[] => [fp32('a', [[v, v]]), fp32('b', [[v, v, v]])];
    const answers = await Promise.all([
      runtime.infer(request(1), { outputs: ['b_out'] }),
      runtime.infer(request(2), { outputs: ['a_out'] }),
      runtime.infer(request(3), { outputs: ['b_out', 'a_out'] }),
      runtime.infer(request(4)),
    ]);
    expect(answers.map((outputs) => outputs.map((t) => [t.name, ...toRows(t)]))).toEqual([
      [['b_out', [1, 1, 1]]],
      [['a_out', [2, 2]]],
      [
        ['b_out', [3, 3, 3]],
        ['a_out', [3, 3]],
      ],
      [
        ['a_out', [4, 4]],
        ['b_out', [4, 4, 4]],
      ],
    ]);
    await runtime.close();
  });

  it('does not merge requests whose second dimension differs on a model where it is dynamic', async () => {
    const runtime = await load(identityModel([{ name: 'x', dtype: 'float32', shape: ['N', 'K'] }]));
    const widths = [2, 3, 2, 5, 3, 2, 2, 5];
    const requests = widths.map((k, n) => [fp32('x', [Array.from({ length: k }, (_, j) => n * 10 + j)])]);
    const batches: number[] = [];
    runtime.observer = { onBatch: (_rows, n) => batches.push(n) };
    const answers = await Promise.all(requests.map((inputs) => runtime.infer(inputs)));
    expect(Math.max(...batches)).toBeGreaterThan(1);
    answers.forEach(([out], n) => expect(toRows(out as Tensor)).toEqual(toRows(requests[n]?.[0] as Tensor)));
    await runtime.close();
  });
});
