import path from 'node:path';
import { CairnError } from '@cairn/contract';
import { openBlobStore } from './adapters/blob/open-blob-store.js';
import { DatasetVersionFiles } from './adapters/pipeline-executors/dataset-version-files.js';
import { QueueStepWorker } from './adapters/pipeline-executors/queue-step-worker.js';
import { openDatabase } from './adapters/sql/database.js';
import { createSqlStores, createSqlTransactor } from './adapters/sql/sql-stores.js';
import type { CairnConfig } from './config/load-config.js';
import { systemClock } from './kernel/clock.js';
import { ChunkReader, DatasetReadService } from './modules/datasets/index.js';
import { AccessControl } from './modules/governance/index.js';
import type { StepResult, StepTask } from './modules/pipelines/index.js';

export interface RunningWorker {
  name: string;
  /** Stops taking steps; running ones finish first unless `stopSteps`. */
  close(options?: { stopSteps?: boolean }): Promise<void>;
}

export interface StartWorkerOptions {
  /** The Cairn server steps log to (MLFLOW_TRACKING_URI / CAIRN_URL in their environment). */
  serverUrl?: string;
  name?: string;
  onStep?: (event: { kind: 'started' | 'finished'; task: StepTask; result?: StepResult }) => void;
  onError?: (error: unknown, message: string) => void;
}

/**
 * `cairn worker`: runs pipeline steps taken from the job queue (BullMQ on
 * CAIRN_QUEUE_URL), reading inputs from and writing outputs to the shared blob
 * store, and dataset versions from the metadata database. It keeps no state
 * of its own: start as many as the work needs, on any machine that reaches
 * Redis, the database and the blob store.
 */
export async function startWorker(
  config: CairnConfig,
  options: StartWorkerOptions = {},
): Promise<RunningWorker> {
  const url = config.pipelines.queueUrl;
  if (url === undefined) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'cairn worker takes steps from a job queue: set CAIRN_QUEUE_URL=redis://host:6379 (the same as the server’s).',
    );
  }
  const database = openDatabase(config.dbUrl);
  try {
    await database.migrate();
    const blobs = await openBlobStore(config.blobUrl, config.s3);
    const stores = createSqlStores(database.db, database.helpers);
    const reads = new DatasetReadService({
      store: stores.datasets,
      transactor: createSqlTransactor(database, systemClock),
      clock: systemClock,
      access: new AccessControl({ authEnabled: false }),
      projects: stores.identity,
      blobs,
      reader: new ChunkReader({ store: stores.datasets, blobs }),
    });
    const onError = options.onError ?? (() => undefined);
    const worker = new QueueStepWorker({
      url,
      prefix: config.pipelines.queuePrefix,
      concurrency: config.pipelines.workerConcurrency,
      lockMs: config.pipelines.queueLockMs,
      ...(options.name === undefined ? {} : { name: options.name }),
      runner: {
        blobs,
        datasets: new DatasetVersionFiles({ store: stores.datasets, reads }),
        workRoot: path.join(config.dataDir, 'work', 'steps'),
        env: config.pipelines.stepEnv,
        ...(options.serverUrl === undefined ? {} : { trackingUri: options.serverUrl }),
      },
      onError,
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
    });
    await worker.ready();
    return {
      name: worker.name,
      close: async (closing) => {
        await worker.close(closing);
        await database.close().catch(() => undefined);
      },
    };
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}
