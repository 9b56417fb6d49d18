import { CairnError, isCairnError } from '@cairn/contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelMetadata, Tensor } from '../tensors/tensor.js';
import { AdaptiveBatcher, type BatchModel, type AdaptiveBatcherOptions } from './adaptive-batcher.js';

/**
 * A model whose runs finish only when the test says so: `y` doubles each row of `x`, `rows` is a whole-run
 * output ([1]) holding how many rows the run had.
 */
class GatedModel implements BatchModel {
  readonly metadata: ModelMetadata;
  readonly runs: Array<{ rows: number; outputs: readonly string[]; finish: (error?: Error) => void }> = [];

  constructor(metadata?: ModelMetadata) {
    this.metadata = metadata ?? {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [-1, 2] },
        { name: 'rows', datatype: 'INT32', shape: [1] },
      ],
    };
  }

  run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    const x = inputs[0] as Tensor<'FP32'>;
    const rows = x.shape[0] as number;
    return new Promise((resolve, reject) => {
      this.runs.push({
        rows,
        outputs,
        finish: (error) => {
          if (error !== undefined) return reject(error);
          const all: Record<string, Tensor> = {
            y: { name: 'y', datatype: 'FP32', shape: [...x.shape], data: x.data.map((v) => v * 2) },
            rows: { name: 'rows', datatype: 'INT32', shape: [1], data: Int32Array.of(rows) },
          };
          resolve(outputs.map((name) => all[name] as Tensor));
        },
      });
    });
  }

  get inFlight(): number {
    return this.runs.filter((r) => !('done' in r)).length;
  }

  /** Finishes the oldest unfinished run, waiting a few turns of the event loop for one to start. */
  async finishNext(error?: Error): Promise<void> {
    for (let turns = 0; this.inFlight === 0; turns++) {
      if (turns === 20) throw new Error('no run in flight');
      await turn();
    }
    const run = this.runs.find((r) => !('done' in r)) as GatedModel['runs'][number];
    Object.assign(run, { done: true });
    run.finish(error);
  }
}

const x = (...rows: number[][]): Tensor[] => [
  { name: 'x', datatype: 'FP32', shape: [rows.length, 2], data: Float32Array.from(rows.flat()) },
];

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function until(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns === 20) throw new Error('the condition never came true');
    await turn();
  }
}

function batcher(model: BatchModel, overrides: Partial<AdaptiveBatcherOptions> = {}): AdaptiveBatcher {
  return new AdaptiveBatcher({
    model,
    batching: { maxBatchSize: 8, maxBatchWaitMs: 0 },
    maxQueue: 100,
    label: 'churn/3',
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<CairnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCairnError(error)) throw new Error(`expected a CairnError, got ${String(error)}`);
  return error;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AdaptiveBatcher', () => {
  it('runs a request that finds the model idle at once, alone', async () => {
    const model = new GatedModel();
    const b = batcher(model);
    const answer = b.submit(x([1, 2]));
    expect(model.runs.map((r) => r.rows)).toEqual([1]);
    await model.finishNext();
    const [y] = await answer;
    expect(Array.from((y as Tensor<'FP32'>).data)).toEqual([2, 4]);
  });

  it('queues requests while a run is in flight and runs them together when the model frees', async () => {
    const model = new GatedModel();
    const b = batcher(model);
    const seen: Array<[number, number]> = [];
    b.observer = { onBatch: (rows, requests) => seen.push([rows, requests]) };
    const first = b.submit(x([1, 1]));
    const rest = [b.submit(x([2, 2])), b.submit(x([3, 3], [4, 4])), b.submit(x([5, 5]))];
    expect(b.queueDepth).toBe(3);
    await model.finishNext();
    await first;
    await turn();
    expect(model.runs.map((r) => r.rows)).toEqual([1, 4]);
    await model.finishNext();
    const answers = await Promise.all(rest);
    expect(answers.map(([y]) => Array.from((y as Tensor<'FP32'>).data))).toEqual([
      [4, 4],
      [6, 6, 8, 8],
      [10, 10],
    ]);
    expect(answers.map(([y]) => (y as Tensor).shape)).toEqual([
      [1, 2],
      [2, 2],
      [1, 2],
    ]);
    expect(seen).toEqual([
      [1, 1],
      [4, 3],
    ]);
  });

  it('gives a whole-run output (first dimension not the rows) to every request of the batch', async () => {
    const model = new GatedModel();
    const b = batcher(model);
    const first = b.submit(x([0, 0]));
    const a = b.submit(x([1, 1]));
    const c = b.submit(x([2, 2], [3, 3]));
    await model.finishNext();
    await first;
    await turn();
    await model.finishNext();
    const [[, rowsA], [, rowsC]] = await Promise.all([a, c]);
    expect(Array.from((rowsA as Tensor<'INT32'>).data)).toEqual([3]);
    expect(Array.from((rowsC as Tensor<'INT32'>).data)).toEqual([3]);
  });

  it('fills batches up to maxBatchSize rows and never splits a request bigger than that', async () => {
    const model = new GatedModel();
    const b = batcher(model, { batching: { maxBatchSize: 4, maxBatchWaitMs: 0 } });
    const first = b.submit(x([0, 0]));
    const big = b.submit(x([1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1]));
    const small = [1, 2, 3, 4, 5].map((v) => b.submit(x([v, v])));
    await model.finishNext();
    await first;
    for (let i = 0; i < 3; i++) {
      await turn();
      await model.finishNext();
    }
    const [[bigY]] = await Promise.all([big, ...small]);
    expect((bigY as Tensor).shape).toEqual([6, 2]);
    expect(model.runs.map((r) => r.rows)).toEqual([1, 6, 4, 1]);
  });

  it('computes only the outputs asked for, and hands each request only its own', async () => {
    const model = new GatedModel();
    const b = batcher(model);
    const first = b.submit(x([0, 0]), { outputs: ['rows'] });
    expect(model.runs[0]?.outputs).toEqual(['rows']);
    const onlyRows = b.submit(x([1, 1]), { outputs: ['rows'] });
    const onlyY = b.submit(x([2, 2]), { outputs: ['y'] });
    const both = b.submit(x([3, 3]), { outputs: ['rows', 'y'] });
    await model.finishNext();
    expect((await first).map((t) => t.name)).toEqual(['rows']);
    await turn();
    expect(model.runs[1]?.outputs).toEqual(['y', 'rows']);
    await model.finishNext();
    expect((await onlyRows).map((t) => t.name)).toEqual(['rows']);
    expect((await onlyY).map((t) => t.name)).toEqual(['y']);
    expect((await both).map((t) => t.name)).toEqual(['rows', 'y']);
  });

  it('refuses an output the model does not have', async () => {
    const b = batcher(new GatedModel());
    const error = await rejection(b.submit(x([1, 1]), { outputs: ['nope'] }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('model churn/3 has no output "nope"');
  });

  it('does not merge requests whose dimensions after the first differ', async () => {
    const model = new GatedModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, -1] }],
    });
    const b = batcher(model);
    const wide = (v: number): Tensor[] => [
      { name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.of(v, v, v) },
    ];
    const first = b.submit(x([0, 0]));
    const answers = [b.submit(x([1, 1])), b.submit(wide(2)), b.submit(x([3, 3])), b.submit(wide(4))];
    await model.finishNext();
    await first;
    await turn();
    await model.finishNext();
    await turn();
    await model.finishNext();
    const ys = (await Promise.all(answers)).map(([y]) => Array.from((y as Tensor<'FP32'>).data));
    expect(ys).toEqual([
      [2, 2],
      [4, 4, 4],
      [6, 6],
      [8, 8, 8],
    ]);
    expect(model.runs.map((r) => r.rows)).toEqual([1, 2, 2]);
  });

  it('runs requests one by one when an input has a fixed first dimension', async () => {
    const model = new GatedModel({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2] }],
    });
    const b = batcher(model);
    const answers = [1, 2, 3, 4, 5, 6].map((v) => b.submit(x([v, v])));
    for (let i = 0; i < 6; i++) await model.finishNext();
    await Promise.all(answers);
    expect(model.runs.every((r) => r.rows === 1)).toBe(true);
  });

  it('with batching off runs every request on its own, a few at once', async () => {
    const model = new GatedModel();
    const b = batcher(model, { batching: { maxBatchSize: 1, maxBatchWaitMs: 5 }, unbatchedConcurrency: 3 });
    const answers = [1, 2, 3, 4, 5].map((v) => b.submit(x([v, v])));
    expect(model.runs).toHaveLength(3);
    expect(b.queueDepth).toBe(2);
    await model.finishNext();
    await until(() => model.runs.length === 4);
    expect(model.inFlight).toBe(3);
    for (let i = 0; i < 4; i++) await model.finishNext();
    await Promise.all(answers);
    expect(model.runs.map((r) => r.rows)).toEqual([1, 1, 1, 1, 1]);
  });

  it('waits up to maxBatchWaitMs under load for more requests, and no longer than it takes them to arrive', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const model = new GatedModel();
    const b = batcher(model, { batching: { maxBatchSize: 8, maxBatchWaitMs: 5 } });
    // A lone request never waits.
    const lone = b.submit(x([0, 0]));
    expect(model.runs).toHaveLength(1);
    await model.finishNext();
    await lone;
    // Load: three requests run together…
    const first = b.submit(x([0, 0]));
    const three = [1, 2, 3].map((v) => b.submit(x([v, v])));
    await model.finishNext();
    await first;
    await turn();
    await model.finishNext();
    await Promise.all(three);
    // …so after that batch the model waits for more rather than running the next arrival alone.
    const late = [b.submit(x([4, 4])), b.submit(x([5, 5]))];
    await turn();
    expect(model.runs).toHaveLength(3);
    vi.advanceTimersByTime(5);
    expect(model.runs.map((r) => r.rows)).toEqual([1, 1, 3, 2]);
    await model.finishNext();
    await Promise.all(late);
    // Once as many requests as the last batch had are back, it runs without waiting out the timer.
    const again = [b.submit(x([6, 6])), b.submit(x([7, 7]))];
    expect(model.runs.map((r) => r.rows)).toEqual([1, 1, 3, 2, 2]);
    await model.finishNext();
    await Promise.all(again);
  });

  it('refuses requests beyond maxQueue with UNAVAILABLE and keeps working', async () => {
    const model = new GatedModel();
    const b = batcher(model, { maxQueue: 2 });
    const overloads: number[] = [];
    b.observer = { onBatch: () => undefined, onOverload: (waiting) => overloads.push(waiting) };
    const running = b.submit(x([0, 0]));
    const queued = [b.submit(x([1, 1])), b.submit(x([2, 2]))];
    const error = await rejection(b.submit(x([3, 3])));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('model churn/3 is overloaded: 2 requests are waiting; retry shortly');
    expect(overloads).toEqual([2]);
    await model.finishNext();
    await running;
    await turn();
    await model.finishNext();
    await Promise.all(queued);
    const after = b.submit(x([4, 4]));
    await turn();
    await model.finishNext();
    expect(Array.from(((await after)[0] as Tensor<'FP32'>).data)).toEqual([8, 8]);
  });

  it('fails every request of a failed run, and the next run works', async () => {
    const model = new GatedModel();
    const b = batcher(model);
    const first = b.submit(x([0, 0]));
    const batch = [b.submit(x([1, 1])), b.submit(x([2, 2]))];
    await model.finishNext();
    await first;
    await turn();
    await model.finishNext(new Error('kernel exploded'));
    const errors = await Promise.all(batch.map(rejection));
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['INTERNAL', 'model churn/3 failed: kernel exploded'],
      ['INTERNAL', 'model churn/3 failed: kernel exploded'],
    ]);
    const invalid = b.submit(x([3, 3]));
    await turn();
    await model.finishNext(new CairnError('INVALID_ARGUMENT', 'bad input'));
    expect((await rejection(invalid)).code).toBe('INVALID_ARGUMENT');
    const next = b.submit(x([4, 4]));
    await turn();
    await model.finishNext();
    await expect(next).resolves.toHaveLength(2);
  });

  it('on close refuses new requests but finishes the queued and running ones first', async () => {
    const model = new GatedModel();
    const b = batcher(model, { batching: { maxBatchSize: 8, maxBatchWaitMs: 1_000 } });
    const running = b.submit(x([0, 0]));
    const queued = [b.submit(x([1, 1])), b.submit(x([2, 2]))];
    let closed = false;
    const closing = b.close().then(() => (closed = true));
    expect(b.close()).toBe(b.close());
    const refused = await rejection(b.submit(x([3, 3])));
    expect(refused.code).toBe('UNAVAILABLE');
    expect(refused.message).toBe('model churn/3 is shutting down; retry shortly');
    await model.finishNext();
    await running;
    await turn();
    expect(closed).toBe(false);
    await model.finishNext();
    await Promise.all(queued);
    await closing;
    expect(model.runs.map((r) => r.rows)).toEqual([1, 2]);
  });

  it('closes at once when idle', async () => {
    await batcher(new GatedModel()).close();
  });

  it('refuses settings it cannot work with', () => {
    const model = new GatedModel();
    expect(() => batcher(model, { batching: { maxBatchSize: 0, maxBatchWaitMs: 0 } })).toThrow(
      /maxBatchSize/,
    );
    expect(() => batcher(model, { batching: { maxBatchSize: 4, maxBatchWaitMs: -1 } })).toThrow(
      /maxBatchWaitMs/,
    );
    expect(() => batcher(model, { maxQueue: 1.5 })).toThrow(/maxQueue/);
  });
});

describe('AdaptiveBatcher observer', () => {
  it('counts the rows of requests it does not join, and survives a hook that throws', async () => {
    const model = new GatedModel();
    const b = batcher(model, { batching: { maxBatchSize: 1, maxBatchWaitMs: 0 }, unbatchedConcurrency: 1 });
    const seen: number[] = [];
    b.observer = {
      onBatch: (rows) => {
        seen.push(rows);
        throw new Error('metrics are broken');
      },
    };
    const answers = [b.submit(x([1, 1], [2, 2], [3, 3])), b.submit(x([4, 4], [5, 5]))];
    await model.finishNext();
    await model.finishNext();
    expect((await Promise.all(answers)).map(([y]) => (y as Tensor).shape[0])).toEqual([3, 2]);
    expect(seen).toEqual([3, 2]);
  });
});
