import { tensorToJson, type Tensor } from '@cairn/serving';
import type { DeploymentStore } from './deployments.store.js';
import type { PredictionRecord } from './entities.js';

/**
 * A prediction as the request path hands it over: the tensors themselves,
 * not their JSON. Turning them into JSON and writing them is the sink's
 * job, off the request path (in a worker thread for `cairn server`).
 */
export interface PredictionDraft extends Omit<PredictionRecord, 'inputs' | 'outputs'> {
  /** Null for a shadow row whose live row was not sampled (the inputs are logged once, with it). */
  inputs: readonly Tensor[] | null;
  outputs: readonly Tensor[];
}

/** Where batches of sampled predictions go. */
export interface PredictionSink {
  write(drafts: readonly PredictionDraft[]): Promise<void>;
  close(): Promise<void>;
}

export function predictionRecordOf(draft: PredictionDraft): PredictionRecord {
  return {
    ...draft,
    inputs: draft.inputs === null ? null : draft.inputs.map(tensorToJson),
    outputs: draft.outputs.map(tensorToJson),
  };
}

/** Converts and writes on the calling thread: for tests, and wherever no worker can run. */
export function inlinePredictionSink(store: Pick<DeploymentStore, 'insertPredictions'>): PredictionSink {
  return {
    write: (drafts) => store.insertPredictions(drafts.map(predictionRecordOf)),
    close: async () => undefined,
  };
}
