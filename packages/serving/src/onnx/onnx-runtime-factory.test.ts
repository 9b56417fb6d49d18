import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isCairnError, type CairnError } from '@cairn/contract';
import { afterAll, describe, expect, it } from 'vitest';
import {
  linearModel,
  logisticModel,
  mlpModel,
  type EncodedModel,
} from '../../../server/src/testing/onnx-builder.js';
import type { ModelFiles, ModelRuntime, RuntimeSettings } from '../runtime.js';
import type { ModelMetadata, Tensor } from '../tensors/tensor.js';
import { OnnxRuntimeFactory } from './onnx-runtime-factory.js';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** A version folder holding `files`; its digest is the hash of their contents. */
async function version(
  files: Record<string, EncodedModel | Uint8Array | string>,
  metadata?: ModelMetadata,
): Promise<ModelFiles> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-onnx-'));
  roots.push(root);
  const hash = createHash('sha256');
  for (const [path, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' || content instanceof Uint8Array ? content : content.bytes();
    hash.update(path).update(bytes);
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
  return {
    digest: `sha256:${hash.digest('hex')}`,
    format: 'onnx',
    root,
    paths: Object.keys(files),
    ...(metadata === undefined ? {} : { metadata }),
  };
}

const settings = (overrides: Partial<RuntimeSettings> = {}): RuntimeSettings => ({
  batching: { maxBatchSize: 32, maxBatchWaitMs: 0 },
  maxQueue: 100,
  threads: 1,
  ...overrides,
});

async function refusal(promise: Promise<unknown>): Promise<CairnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCairnError(error)) throw new Error(`expected a CairnError, got ${String(error)}`);
  return error;
}

const row = (values: number[]): Tensor[] => [
  { name: 'input', datatype: 'FP32', shape: [1, values.length], data: Float32Array.from(values) },
];

describe('OnnxRuntimeFactory', () => {
  it('reads the signature from the session', async () => {
    const factory = new OnnxRuntimeFactory();
    const runtime = await factory.load(await version({ 'model.onnx': mlpModel({ seed: 1 }) }), settings());
    expect(runtime.metadata).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 20] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
    });
    await runtime.close();
  });

  it('takes the shape of a tensor of unknown rank from the recorded signature and leaves out non-tensor outputs', async () => {
    const model = linearModel({
      extraInputs: [{ name: 'extra', type: { tensor: 'float32' }, echoAs: 'extra_out' }],
      zipMap: { labels: [0, 1, 2] },
    });
    const declared: ModelMetadata = {
      inputs: [{ name: 'extra', datatype: 'FP32', shape: [-1, 5] }],
      outputs: [],
    };
    const runtime = await new OnnxRuntimeFactory().load(
      await version({ 'm.onnx': model }, declared),
      settings(),
    );
    expect(runtime.metadata.inputs).toEqual([
      { name: 'X', datatype: 'FP32', shape: [-1, 4] },
      { name: 'extra', datatype: 'FP32', shape: [-1, 5] },
    ]);
    expect(runtime.metadata.outputs.map((o) => o.name)).toEqual(['Y', 'extra_out']);
    const answer = await runtime.infer([
      { name: 'X', datatype: 'FP32', shape: [1, 4], data: Float32Array.of(1, 0, 0, 0) },
      { name: 'extra', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) },
    ]);
    expect(answer.map((t) => t.name)).toEqual(['Y', 'extra_out']);
    await runtime.close();
  });

  it('shares a session between runtimes of the same version and releases it after the last closes', async () => {
    const factory = new OnnxRuntimeFactory();
    const files = await version({ 'model.onnx': logisticModel({ seed: 4 }) });
    const features = new Array(20).fill(0.5);
    const input: Tensor[] = [
      { name: 'features', datatype: 'FP32', shape: [1, 20], data: Float32Array.from(features) },
    ];
    const [a, b] = await Promise.all([factory.load(files, settings()), factory.load(files, settings())]);
    expect(factory.sessions.size).toBe(1);
    const otherThreads = await factory.load(files, settings({ threads: 2 }));
    expect(factory.sessions.size).toBe(2);
    await otherThreads.close();
    await a.close();
    expect(factory.sessions.size).toBe(1);
    expect(await b.infer(input)).toHaveLength(1);
    await b.close();
    await b.close();
    expect(factory.sessions.size).toBe(0);
    const reloaded = await factory.load(files, settings());
    expect(await reloaded.infer(input)).toHaveLength(1);
    await reloaded.close();
  });

  it('refuses a corrupted model file at load with onnxruntime’s message', async () => {
    const factory = new OnnxRuntimeFactory();
    const truncated = mlpModel({ seed: 1 }).bytes().subarray(0, 500);
    for (const content of ['this is not a model', truncated]) {
      const error = await refusal(factory.load(await version({ 'model.onnx': content }), settings()));
      expect(error.code).toBe('FAILED_PRECONDITION');
      expect(error.message).toMatch(/^onnxruntime cannot load model\.onnx: .+/);
    }
    expect(factory.sessions.size).toBe(0);
  });

  it('refuses a version without an ONNX file', async () => {
    const error = await refusal(
      new OnnxRuntimeFactory().load(await version({ 'model.pkl': 'pickle', 'README.md': 'hi' }), settings()),
    );
    expect(error.code).toBe('FAILED_PRECONDITION');
    expect(error.message).toContain('needs a .onnx file; it has only model.pkl, README.md');
  });

  it('answers INVALID_ARGUMENT for input onnxruntime refuses, and goes on working', async () => {
    const runtime = await new OnnxRuntimeFactory().load(
      await version({ 'model.onnx': mlpModel() }),
      settings(),
    );
    const error = await refusal(runtime.infer(row(new Array(21).fill(0))));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('Got invalid dimensions for input: input');
    expect(await runtime.infer(row(new Array(20).fill(0)))).toHaveLength(1);
    await runtime.close();
  });

  it('refuses work once closing, finishes what it holds, then frees the session', async () => {
    const factory = new OnnxRuntimeFactory();
    const runtime: ModelRuntime = await factory.load(await version({ 'model.onnx': mlpModel() }), settings());
    const answers = Array.from({ length: 40 }, (_, i) => runtime.infer(row(new Array(20).fill(i / 40))));
    const closing = runtime.close();
    const refused = await refusal(runtime.infer(row(new Array(20).fill(0))));
    expect(refused.code).toBe('UNAVAILABLE');
    const results = await Promise.all(answers);
    expect(results.every(([p]) => (p as Tensor).shape.join() === '1,2')).toBe(true);
    await closing;
    expect(factory.sessions.size).toBe(0);
  });

  it('refuses requests beyond maxQueue with UNAVAILABLE and still answers afterwards', async () => {
    const runtime = await new OnnxRuntimeFactory().load(
      await version({ 'model.onnx': mlpModel() }),
      settings({ maxQueue: 4 }),
    );
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, () => runtime.infer(row(new Array(20).fill(1)))),
    );
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as CairnError] : []));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect(refused).toHaveLength(25);
    expect(refused[0]?.code).toBe('UNAVAILABLE');
    expect(refused[0]?.message).toMatch(
      /^model sha256:[0-9a-f]{12} is overloaded: 4 requests are waiting; retry shortly$/,
    );
    expect(await runtime.infer(row(new Array(20).fill(1)))).toHaveLength(1);
    await runtime.close();
  });
});
