import type { ModelMetadata, Tensor } from './tensors/tensor.js';

/**
 * A loaded model. Inputs have already been checked against `metadata` by the
 * protocol layer (names, datatypes, shapes), so a runtime only computes.
 * Errors are CairnErrors: INVALID_ARGUMENT for input the model rejects,
 * UNAVAILABLE (503, retryable) when it cannot take work now — overloaded,
 * restarting, closed — and INTERNAL for a model that failed.
 */
export interface ModelRuntime {
  readonly metadata: ModelMetadata;
  /**
   * Runs the model on one request. `outputs` limits what is returned (and,
   * where the runtime can, what is computed); all outputs when absent.
   */
  infer(inputs: readonly Tensor[], options?: InferOptions): Promise<Tensor[]>;
  /** Stops taking work, waits for work in hand, then frees the model. */
  close(): Promise<void>;
  /** Told of every model run, where the runtime batches (for metrics). */
  observer?: BatchObserver;
  /** Requests waiting for a model run, where the runtime queues. */
  readonly queueDepth?: number;
}

export interface BatchObserver {
  onBatch(rows: number, requests: number, runMs: number): void;
  onOverload?(waiting: number): void;
}

export interface InferOptions {
  outputs?: readonly string[];
}

/** Batching of concurrent requests into one model run (ONNX). */
export interface BatchingSettings {
  /** Rows gathered into one run at most; 1 turns batching off. */
  maxBatchSize: number;
  /**
   * How long a request may wait for others to join it once the model is
   * busy, in milliseconds. A request arriving at an idle model runs at once.
   */
  maxBatchWaitMs: number;
}

export interface RuntimeSettings {
  batching: BatchingSettings;
  /** Requests waiting for the model beyond this many are refused (UNAVAILABLE with a retry hint). */
  maxQueue: number;
  /** Threads one model run may use; the machine's cores by default. */
  threads?: number;
}

/** A model version's files on local disk, ready to load. */
export interface ModelFiles {
  /** The version's content digest: sessions are cached by it. */
  digest: string;
  /** What messages call the model (`churn/3`). */
  name?: string;
  /** The registry format of the version (`onnx`, `command`, …): picks the runtime. */
  format: string;
  /** Folder holding the version's files under their relative paths. */
  root: string;
  /** Relative paths of the files, `/`-separated. */
  paths: readonly string[];
  /** The signature recorded at registration, when there is one. */
  metadata?: ModelMetadata;
}

export interface RuntimeFactory {
  load(files: ModelFiles, settings: RuntimeSettings): Promise<ModelRuntime>;
}
