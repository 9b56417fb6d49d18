import type { PredictionDraft, PredictionSink } from './prediction-sink.js';

export interface PredictionLogOptions {
  /** Written at least this often while records wait. */
  flushMs?: number;
  /** Written at once when this many wait. */
  batchSize?: number;
  /** Records waiting beyond this are dropped (and counted): a slow database must not grow memory without end. */
  maxPending?: number;
  onError?: (error: unknown) => void;
  /** Told how many records were dropped, for the metrics. */
  onDropped?: (count: number) => void;
}

/**
 * Sampled requests and responses, written to the sink in batches off the
 * request path: a request only pushes its record (tensors, not JSON) onto a list. One write at
 * a time; a failed batch is retried once with the next one, then dropped
 * with an error logged, so the log never stalls serving.
 */
export class PredictionLog {
  readonly #sink: PredictionSink;
  readonly #flushMs: number;
  readonly #batchSize: number;
  readonly #maxPending: number;
  readonly #onError: (error: unknown) => void;
  readonly #onDropped: (count: number) => void;
  #pending: PredictionDraft[] = [];
  #retry: PredictionDraft[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #closed = false;

  constructor(sink: PredictionSink, options: PredictionLogOptions = {}) {
    this.#sink = sink;
    // Small, frequent batches: the sink packs a batch on the serving thread in one go (~2 µs a record),
    // so a 2,000-record batch held every request behind it for milliseconds — the p99 of a lone client.
    this.#flushMs = options.flushMs ?? 20;
    this.#batchSize = options.batchSize ?? 256;
    this.#maxPending = options.maxPending ?? 100_000;
    this.#onError = options.onError ?? (() => undefined);
    this.#onDropped = options.onDropped ?? (() => undefined);
  }

  record(entry: PredictionDraft): void {
    if (this.#closed) return;
    if (this.#pending.length >= this.#maxPending) {
      this.#onDropped(1);
      return;
    }
    this.#pending.push(entry);
    if (this.#pending.length >= this.#batchSize) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#flushMs).unref();
  }

  /** Writes everything waiting (tests and shutdown). */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#retry.length > 0 || this.#writing !== undefined) {
      this.#kick();
      await this.#writing;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#sink.close();
  }

  #kick(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#writing !== undefined) return;
    const retry = this.#retry;
    const batch = this.#pending.splice(0, this.#batchSize);
    this.#retry = [];
    if (batch.length === 0 && retry.length === 0) return;
    this.#writing = this.#sink
      .write([...retry, ...batch])
      .catch((error: unknown) => {
        this.#onError(error);
        // One more try with the next batch; a record that failed twice is given up.
        if (retry.length > 0) this.#onDropped(retry.length);
        this.#retry = batch;
      })
      .finally(() => {
        this.#writing = undefined;
        if (this.#pending.length > 0) this.#timer ??= setTimeout(() => this.#kick(), this.#flushMs).unref();
      });
  }
}
