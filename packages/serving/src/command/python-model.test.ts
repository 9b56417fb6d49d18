import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../tensors/tensor.js';
import { CommandRuntimeFactory } from './command-runtime-factory.js';
import type { CommandRuntime } from './command-runtime.js';

// A real model program's shape: Python, model files next to the script, JSON Lines.
const PROGRAM = fileURLToPath(new URL('./fixtures/logistic_regression.py', import.meta.url));
const FEATURES = 20;
const coef = Array.from({ length: FEATURES }, (_, i) => Math.sin(i + 1) / 2);
const intercept = -0.25;
const manifest = {
  command: ['python3', 'logistic_regression.py'],
  inputs: [{ name: 'features', datatype: 'FP64', shape: [-1, FEATURES] }],
  outputs: [
    { name: 'probability', datatype: 'FP64', shape: [-1] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
  ],
};

function rows(count: number, seed: number): number[][] {
  return Array.from({ length: count }, (_, r) =>
    Array.from({ length: FEATURES }, (_, c) => Math.cos(seed + r * 31 + c)),
  );
}

function expected(features: number[][]): { probability: number[]; label: bigint[] } {
  const probability = features.map(
    (row) => 1 / (1 + Math.exp(-(intercept + row.reduce((sum, x, i) => sum + x * coef[i]!, 0)))),
  );
  return { probability, label: probability.map((p) => (p >= 0.5 ? 1n : 0n)) };
}

function featuresTensor(features: number[][]): Tensor {
  return {
    name: 'features',
    datatype: 'FP64',
    shape: [features.length, FEATURES],
    data: Float64Array.from(features.flat()),
  };
}

describe('a Python model program (logistic regression, standard library only)', () => {
  let root: string;
  let runtime: CommandRuntime;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-python-model-'));
    await copyFile(PROGRAM, join(root, 'logistic_regression.py'));
    await writeFile(join(root, 'weights.json'), JSON.stringify({ coef, intercept }));
    await writeFile(join(root, 'cairn-model.json'), JSON.stringify(manifest));
    const files = { digest: 'sha256:feedface', format: 'command', root, paths: ['cairn-model.json'] };
    runtime = await new CommandRuntimeFactory({ onLog: () => {} }).load(files, {
      batching: { maxBatchSize: 1, maxBatchWaitMs: 0 },
      maxQueue: 64,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('computes probabilities and labels for a batch of rows', async () => {
    const features = rows(5, 1);
    const [probability, label] = await runtime.infer([featuresTensor(features)]);
    const want = expected(features);
    expect(probability).toMatchObject({ name: 'probability', datatype: 'FP64', shape: [5] });
    Array.from(probability!.data as Float64Array).forEach((p, i) =>
      expect(p).toBeCloseTo(want.probability[i]!, 12),
    );
    expect(label).toEqual({
      name: 'label',
      datatype: 'INT64',
      shape: [5],
      data: BigInt64Array.from(want.label),
    });
    expect(new Set(want.label).size).toBe(2);
  });

  it('answers concurrent requests, each with its own rows', async () => {
    const batches = Array.from({ length: 8 }, (_, i) => rows(i + 1, i * 100));
    const answers = await Promise.all(
      batches.map((features) => runtime.infer([featuresTensor(features)], { outputs: ['label'] })),
    );
    answers.forEach((outputs, i) => {
      expect(outputs).toEqual([
        {
          name: 'label',
          datatype: 'INT64',
          shape: [i + 1],
          data: BigInt64Array.from(expected(batches[i]!).label),
        },
      ]);
    });
  });

  it('refuses rows of the wrong width with INVALID_ARGUMENT and keeps serving', async () => {
    const wrong: Tensor = {
      name: 'features',
      datatype: 'FP64',
      shape: [1, 3],
      data: Float64Array.of(1, 2, 3),
    };
    await expect(runtime.infer([wrong])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'features must have shape [rows, 20]',
    });
    await expect(runtime.infer([featuresTensor(rows(1, 7))])).resolves.toHaveLength(2);
    expect(runtime.restarts).toBe(0);
  });
});
