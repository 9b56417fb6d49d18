/**
 * Adaptive batching: concurrent requests to one model are gathered into one model run. A request that finds
 * the model idle runs at once, so a lone client never waits; requests that arrive while a run is in flight
 * queue and go together into the next run. Knows nothing of onnxruntime: a `BatchModel` does the running.
 */
import { CairnError, isCairnError } from '@cairn/contract';
import type { BatchingSettings, BatchObserver, InferOptions } from '../runtime.js';
import type { ModelMetadata, Tensor } from '../tensors/tensor.js';
import { concatRows, requestRows, sameRowShapes, sliceRows } from './batch-tensors.js';

/**
 * Defaults measured in process (bench/.work/batching/throughput.ts, not committed) with the 20 → 64 → 64 → 2
 * MLP, 64 callers sending one row each in a loop, on the 2-core build machine (a shared, noisy one: medians
 * of 3 one-second rounds, 2 intra-op threads):
 * - maxBatchSize: throughput climbs steeply up to 64 rows and is flat beyond — 8: ~105k predictions/s,
 *   16: ~195k, 32: ~340–550k, 64: ~530k, 128: ~490k, 256: ~500–650k; batching off: ~70k (4 runs in flight). A 64-row run
 *   of the MLP takes 22–50 µs, so a full batch costs no one noticeable latency; larger caps only make
 *   runs of heavier models longer.
 * - maxBatchWaitMs: with callers that come back at once, 0 and 1 tie (~540k/s): the wait ends as soon as
 *   the last batch's callers are back. With callers that take 0–4 event-loop turns to come back (as over a
 *   network), 1 ms beat 0: ~170–420k/s against ~100–130k/s, 4–7 µs of CPU per prediction against 9–12;
 *   with 0–16 turns they tied. 2 ms was no better than 1, and 1 ms is the shortest timer Node has. The
 *   wait is paid only under load: a lone client never waits.
 */
export const DEFAULT_BATCHING: Readonly<BatchingSettings> = Object.freeze({
  maxBatchSize: 64,
  maxBatchWaitMs: 1,
});

/**
 * Runs in flight at once when requests are not batched (batching off, or a model whose inputs have no
 * dynamic first dimension). onnxruntime-node computes on the JavaScript thread inside a setImmediate, so
 * runs never overlap; what a few in flight buy is fewer event-loop turns per run. Measured as above with
 * batching off: 1 in flight ~44k predictions/s (21 µs CPU each), 2 ~60k (16 µs), 4 ~70k (14 µs),
 * 8 ~78k (12 µs). 4 takes most of the gain; more would let a slow model hold the event loop (and with it
 * every other request and health check) for several runs in a row.
 */
export const UNBATCHED_CONCURRENCY = 4;

/** What the batcher drives: one model run over already-joined inputs. */
export interface BatchModel {
  readonly metadata: ModelMetadata;
  /** Computes the outputs named in `outputs` and returns them in that order. */
  run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]>;
}

/** Hooks for metrics; called on the hot path, so they must be cheap and must not throw. */
export type { BatchObserver } from '../runtime.js';

export interface AdaptiveBatcherOptions {
  model: BatchModel;
  batching: BatchingSettings;
  /** Requests allowed to wait; one more is refused with UNAVAILABLE. */
  maxQueue: number;
  /** Names the model in errors, e.g. `churn/3`. */
  label: string;
  /** Runs in flight at once when requests are not batched; `UNBATCHED_CONCURRENCY` by default. */
  unbatchedConcurrency?: number;
}

interface Pending {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly string[] | undefined;
  /** Rows in this request, or -1 when it cannot be joined with others. */
  readonly rows: number;
  resolve(outputs: Tensor[]): void;
  reject(error: unknown): void;
}

export class AdaptiveBatcher {
  observer: BatchObserver | undefined;

  readonly #model: BatchModel;
  readonly #label: string;
  readonly #maxRows: number;
  readonly #waitMs: number;
  readonly #maxQueue: number;
  /** Whether requests may be joined at all: batching on, and every input has a dynamic first dimension. */
  readonly #batchable: boolean;
  readonly #maxRunning: number;
  readonly #outputNames: readonly string[];
  readonly #outputSet: ReadonlySet<string>;
  /** Outputs whose first dimension is the batch: cut into row ranges; the others go whole to every request. */
  readonly #rowOutputs: ReadonlySet<string>;

  #queue: Pending[] = [];
  /** Rows queued; a request that cannot be joined counts as a full batch. */
  #queuedRows = 0;
  #running = 0;
  #drainScheduled = false;
  #gatherTimer: NodeJS.Timeout | undefined;
  /** Requests in the last run to finish: more than one means there is concurrent load. */
  #lastRequests = 0;
  #closing = false;
  #closed: Promise<void> | undefined;
  #onIdle: (() => void) | undefined;

  constructor(options: AdaptiveBatcherOptions) {
    const { model, batching, maxQueue, label } = options;
    checkSettings(batching, maxQueue);
    this.#model = model;
    this.#label = label;
    this.#maxRows = batching.maxBatchSize;
    this.#waitMs = batching.maxBatchWaitMs;
    this.#maxQueue = maxQueue;
    const { inputs, outputs } = model.metadata;
    this.#batchable =
      this.#maxRows > 1 &&
      inputs.length > 0 &&
      inputs.every((spec) => spec.shape.length > 0 && spec.shape[0] === -1);
    // Batches run one at a time: onnxruntime-node computes on the JavaScript thread, so a second run in
    // flight would only wait behind the first while holding requests that could have joined the next batch.
    this.#maxRunning = this.#batchable ? 1 : (options.unbatchedConcurrency ?? UNBATCHED_CONCURRENCY);
    this.#outputNames = outputs.map((spec) => spec.name);
    this.#outputSet = new Set(this.#outputNames);
    this.#rowOutputs = new Set(outputs.filter((spec) => spec.shape[0] === -1).map((spec) => spec.name));
  }

  /** Requests waiting for the model (not counting those in a run). */
  get queueDepth(): number {
    return this.#queue.length;
  }

  submit(inputs: readonly Tensor[], options?: InferOptions): Promise<Tensor[]> {
    if (this.#closing) {
      return Promise.reject(
        new CairnError('UNAVAILABLE', `model ${this.#label} is shutting down; retry shortly`),
      );
    }
    const asked = options?.outputs;
    const outputs = asked === undefined || asked.length === 0 ? undefined : asked;
    if (outputs !== undefined) {
      const unknown = outputs.find((name) => !this.#outputSet.has(name));
      if (unknown !== undefined) return Promise.reject(this.#unknownOutput(unknown));
    }
    if (
      this.#running < this.#maxRunning &&
      this.#queue.length === 0 &&
      !this.#drainScheduled &&
      this.#gatherTimer === undefined
    ) {
      return this.#runAlone(inputs, outputs ?? this.#outputNames);
    }
    if (this.#queue.length >= this.#maxQueue) return Promise.reject(this.#overloaded());
    return new Promise<Tensor[]>((resolve, reject) => {
      const rows = this.#batchable ? requestRows(inputs) : -1;
      this.#queue.push({ inputs, outputs, rows, resolve, reject });
      this.#queuedRows += rows < 0 ? this.#maxRows : rows;
      if (this.#gatherTimer !== undefined) {
        if (this.#gathered()) this.#drain();
      } else if (!this.#drainScheduled && this.#running < this.#maxRunning) {
        this.#scheduleDrain();
      }
    });
  }

  /** Refuses new requests, runs every queued one without waiting for more, and resolves when all are done. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing = true;
    this.#closed = new Promise<void>((resolve) => (this.#onIdle = resolve));
    this.#drain();
    this.#checkIdle();
    return this.#closed;
  }

  async #runAlone(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    this.#running++;
    const started = this.observer === undefined ? 0 : performance.now();
    try {
      return await this.#model.run(inputs, outputs);
    } catch (error) {
      throw this.#failure(error);
    } finally {
      this.#running--;
      this.#lastRequests = 1;
      if (this.observer !== undefined) {
        const rows = requestRows(inputs);
        this.#observe({ rows: rows < 0 ? 1 : rows, requests: 1, started });
      }
      this.#afterRun();
    }
  }

  async #runBatch(batch: Pending[]): Promise<void> {
    let rows = 0;
    for (const request of batch)
      rows += request.rows >= 0 ? request.rows : Math.max(requestRows(request.inputs), 1);
    const fetch = this.#fetchFor(batch);
    this.#running++;
    const started = this.observer === undefined ? 0 : performance.now();
    let failure: unknown;
    try {
      const first = batch[0] as Pending;
      const inputs =
        batch.length === 1
          ? first.inputs
          : concatRows(
              batch.map((request) => request.inputs),
              rows,
            );
      const outputs = await this.#model.run(inputs, fetch);
      this.#deliver({ batch, fetch, outputs, rows });
    } catch (error) {
      failure = this.#failure(error);
    }
    this.#running--;
    this.#lastRequests = batch.length;
    // Settled once: a request resolved before a later one failed keeps its answer.
    if (failure !== undefined) for (const request of batch) request.reject(failure);
    if (this.observer !== undefined) this.#observe({ rows, requests: batch.length, started });
    this.#afterRun();
  }

  /** Hands each request its rows of the outputs it asked for. */
  #deliver(run: { batch: Pending[]; fetch: readonly string[]; outputs: Tensor[]; rows: number }): void {
    const { batch, fetch, outputs, rows } = run;
    if (batch.length === 1) {
      (batch[0] as Pending).resolve(outputs);
      return;
    }
    let start = 0;
    for (const request of batch) {
      const names = request.outputs ?? this.#outputNames;
      const result = new Array<Tensor>(names.length);
      for (let k = 0; k < names.length; k++) {
        const whole = outputs[fetch === names ? k : fetch.indexOf(names[k] as string)] as Tensor;
        result[k] =
          this.#rowOutputs.has(whole.name) && whole.shape[0] === rows
            ? sliceRows(whole, start, request.rows)
            : { ...whole, shape: whole.shape.slice() };
      }
      start += request.rows;
      request.resolve(result);
    }
  }

  /** The outputs a run must compute: all of them unless every request in it asked for fewer. */
  #fetchFor(batch: readonly Pending[]): readonly string[] {
    if (batch.length === 1) return (batch[0] as Pending).outputs ?? this.#outputNames;
    if (batch.some((request) => request.outputs === undefined)) return this.#outputNames;
    return this.#outputNames.filter((name) => batch.some((request) => request.outputs?.includes(name)));
  }

  /**
   * After a run: under concurrent load, let the requests that are on their way join the next batch — for
   * one turn of the event loop, or, with `maxBatchWaitMs` > 0, until the batch is complete or the wait is over.
   */
  #afterRun(): void {
    if (this.#closing) {
      if (this.#queue.length === 0) this.#checkIdle();
      else if (!this.#drainScheduled) this.#scheduleDrain();
      return;
    }
    if (this.#queue.length === 0 && this.#lastRequests <= 1) return;
    if (this.#gatherTimer !== undefined || this.#drainScheduled) return;
    if (this.#batchable && this.#waitMs > 0 && this.#lastRequests > 1 && !this.#gathered()) {
      this.#gatherTimer = setTimeout(() => this.#drain(), this.#waitMs);
    } else {
      this.#scheduleDrain();
    }
  }

  /**
   * Whether a gathering batch is complete: a full batch of rows, or as many requests as the last run held.
   * The callers answered by the last run are the ones likely to come back; once they have, waiting longer
   * only adds latency (with 64 clients and room for 128 rows, waiting out the timer cut throughput 5×).
   */
  #gathered(): boolean {
    return this.#queuedRows >= this.#maxRows || this.#queue.length >= this.#lastRequests;
  }

  #scheduleDrain(): void {
    this.#drainScheduled = true;
    setImmediate(() => this.#drain());
  }

  /** Starts runs for queued requests while there is room. */
  #drain(): void {
    this.#drainScheduled = false;
    if (this.#gatherTimer !== undefined) {
      clearTimeout(this.#gatherTimer);
      this.#gatherTimer = undefined;
    }
    while (this.#running < this.#maxRunning && this.#queue.length > 0) void this.#runBatch(this.#take());
  }

  /** The next run's requests: the oldest, and after it every queued request that can join it, up to a full batch. */
  #take(): Pending[] {
    const queue = this.#queue;
    const head = queue[0] as Pending;
    if (!this.#batchable || head.rows < 0 || head.rows >= this.#maxRows) {
      queue.shift();
      this.#queuedRows -= head.rows < 0 ? this.#maxRows : head.rows;
      return [head];
    }
    let rows = head.rows;
    let end = 1;
    while (end < queue.length && rows < this.#maxRows && this.#joins(head, queue[end] as Pending, rows)) {
      rows += (queue[end] as Pending).rows;
      end++;
    }
    let batch: Pending[];
    if (end === queue.length || rows >= this.#maxRows) {
      batch = queue.splice(0, end);
    } else {
      // Something that cannot join sits in the way: look past it, and keep it at the front for the next run.
      batch = queue.slice(0, end);
      const rest: Pending[] = [];
      for (let i = end; i < queue.length; i++) {
        const request = queue[i] as Pending;
        if (rows < this.#maxRows && this.#joins(head, request, rows)) {
          batch.push(request);
          rows += request.rows;
        } else {
          rest.push(request);
        }
      }
      this.#queue = rest;
    }
    this.#queuedRows -= rows;
    return batch;
  }

  #joins(head: Pending, request: Pending, rows: number): boolean {
    return (
      request.rows >= 0 && rows + request.rows <= this.#maxRows && sameRowShapes(head.inputs, request.inputs)
    );
  }

  #overloaded(): CairnError {
    const waiting = this.#queue.length;
    try {
      this.observer?.onOverload?.(waiting);
    } catch {
      // As in #observe.
    }
    return new CairnError(
      'UNAVAILABLE',
      `model ${this.#label} is overloaded: ${waiting} requests are waiting; retry shortly`,
    );
  }

  /** A metrics hook that throws must not stall the queue or fail the requests. */
  #observe(run: { rows: number; requests: number; started: number }): void {
    try {
      this.observer?.onBatch(run.rows, run.requests, performance.now() - run.started);
    } catch {
      // The metrics lose one sample.
    }
  }

  #checkIdle(): void {
    if (this.#closing && this.#running === 0 && this.#queue.length === 0) this.#onIdle?.();
  }

  #failure(error: unknown): CairnError {
    if (isCairnError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new CairnError('INTERNAL', `model ${this.#label} failed: ${message}`, { cause: error });
  }

  #unknownOutput(name: string): CairnError {
    return new CairnError(
      'INVALID_ARGUMENT',
      `model ${this.#label} has no output ${JSON.stringify(name)}; its outputs are ${this.#outputNames.join(', ')}`,
      { field: 'outputs' },
    );
  }
}

function checkSettings(batching: BatchingSettings, maxQueue: number): void {
  const problem =
    !Number.isInteger(batching.maxBatchSize) || batching.maxBatchSize < 1
      ? ['maxBatchSize', 'an integer of at least 1']
      : !Number.isFinite(batching.maxBatchWaitMs) || batching.maxBatchWaitMs < 0
        ? ['maxBatchWaitMs', 'a number of milliseconds of at least 0']
        : !Number.isInteger(maxQueue) || maxQueue < 0
          ? ['maxQueue', 'an integer of at least 0']
          : undefined;
  if (problem === undefined) return;
  const [field, expected] = problem as [string, string];
  throw new CairnError('INVALID_ARGUMENT', `${field} must be ${expected}`, { field });
}
