/**
 * A loaded ONNX model: requests go through the adaptive batcher to a (possibly shared) session.
 */
import type { BatchObserver } from '../batching/adaptive-batcher.js';
import { AdaptiveBatcher, type BatchModel } from '../batching/adaptive-batcher.js';
import type { InferOptions, ModelRuntime, RuntimeSettings } from '../runtime.js';
import type { ModelMetadata, Tensor } from '../tensors/tensor.js';

export interface OnnxModelRuntimeOptions {
  model: BatchModel;
  settings: RuntimeSettings;
  /** Names the model in errors. */
  label: string;
  /** Frees what the model holds (the session lease) once the last request is done. */
  release: () => Promise<void>;
}

export class OnnxModelRuntime implements ModelRuntime {
  readonly metadata: ModelMetadata;
  readonly #batcher: AdaptiveBatcher;
  readonly #release: () => Promise<void>;
  #closed: Promise<void> | undefined;

  constructor(options: OnnxModelRuntimeOptions) {
    this.metadata = options.model.metadata;
    this.#release = options.release;
    this.#batcher = new AdaptiveBatcher({
      model: options.model,
      batching: options.settings.batching,
      maxQueue: options.settings.maxQueue,
      label: options.label,
    });
  }

  /** Metrics hooks: every run's size and duration, every refusal for overload. */
  get observer(): BatchObserver | undefined {
    return this.#batcher.observer;
  }

  set observer(observer: BatchObserver | undefined) {
    this.#batcher.observer = observer;
  }

  /** Requests waiting for the model right now. */
  get queueDepth(): number {
    return this.#batcher.queueDepth;
  }

  infer(inputs: readonly Tensor[], options?: InferOptions): Promise<Tensor[]> {
    return this.#batcher.submit(inputs, options);
  }

  close(): Promise<void> {
    this.#closed ??= this.#batcher.close().then(this.#release);
    return this.#closed;
  }
}
