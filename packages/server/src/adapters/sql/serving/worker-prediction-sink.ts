import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CairnError } from '@cairn/contract';
import type { PredictionDraft, PredictionSink } from '../../../modules/serving/index.js';
import { packDrafts } from './prediction-batch-codec.js';

const WORKER = new URL('./prediction-sink-worker.js', import.meta.url);

/**
 * Writes the prediction log from a worker thread with its own database
 * connection. At 10,000 requests/s, building the rows' JSON and SQLite's
 * synchronous inserts on the serving thread cost ~40 % of throughput and
 * stalled requests for milliseconds at every flush; here they run beside it.
 * Batches cross packed (prediction-batch-codec.ts): one transferred buffer of numbers and one JSON text.
 */
export class WorkerPredictionSink implements PredictionSink {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  #next = 0;
  #exited: Promise<void>;

  /** Whether the worker's compiled file is present (it is in a build; not when running TypeScript sources). */
  static available(): boolean {
    return WORKER.protocol === 'file:' && existsSync(fileURLToPath(WORKER));
  }

  constructor(options: { dbUrl: string }) {
    this.#worker = new Worker(WORKER, { workerData: { dbUrl: options.dbUrl } });
    this.#worker.unref();
    this.#worker.on('message', (reply: { id: number; error?: string }) => {
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (reply.error === undefined) waiting?.resolve();
      else
        waiting?.reject(new CairnError('UNAVAILABLE', `writing the prediction log failed: ${reply.error}`));
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        for (const waiting of this.#waiting.values()) {
          waiting.reject(new CairnError('UNAVAILABLE', 'the prediction log writer stopped'));
        }
        this.#waiting.clear();
        resolve();
      });
    });
    this.#worker.on('error', () => undefined);
  }

  write(drafts: readonly PredictionDraft[]): Promise<void> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const batch = packDrafts(drafts);
      this.#worker.postMessage({ id, batch }, [batch.bytes]);
    });
  }

  async close(): Promise<void> {
    // Unreferenced, the worker would let the process exit before it finished; while closing it must not.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }
}
