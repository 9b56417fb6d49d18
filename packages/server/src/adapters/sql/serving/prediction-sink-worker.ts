/**
 * The worker thread behind WorkerPredictionSink: its own database
 * connection, turning prediction drafts into rows and writing them, so the
 * serving thread never waits for JSON building or a synchronous SQLite
 * write. Messages: `{ id, batch }` (packed) in, `{ id, error? }` out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../database.js';

import { unpackDrafts, type PackedBatch } from './prediction-batch-codec.js';
import { predictionRowOfDraft } from './serving-row-mappers.js';
import { SqlDeploymentStore } from './sql-deployment-store.js';

interface Batch {
  id: number;
  batch: PackedBatch;
}

const { dbUrl } = workerData as { dbUrl: string };
const database = openDatabase(dbUrl);
const store = new SqlDeploymentStore(database.db, database.helpers);
const port = parentPort!;

port.on('message', (message: Batch | 'close') => {
  if (message === 'close') {
    void database.close().finally(() => port.close());
    return;
  }
  store.insertPredictionRows(unpackDrafts(message.batch).map(predictionRowOfDraft)).then(
    () => port.postMessage({ id: message.id }),
    (error: unknown) => port.postMessage({ id: message.id, error: (error as Error).message }),
  );
});
