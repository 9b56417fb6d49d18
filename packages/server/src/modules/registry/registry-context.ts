import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { LineageStores } from '../lineage/index.js';
import type { ModelVersionRecord, RegisteredModelRecord } from './entities.js';
import type { RegistryStore, RegistryStores } from './registry.store.js';

export type RegistryTransactionStores = RegistryStores & LineageStores;

/** What every registry service shares. */
export interface RegistryContext {
  /** For reads outside a transaction. */
  store: RegistryStore;
  transactor: Transactor<RegistryTransactionStores>;
  clock: Clock;
}

/** Until governance (issue 4) puts a user on every request, changes are made by the local user. */
export const LOCAL_ACTOR = 'local';

export async function requireModel(
  store: RegistryStore,
  name: string,
  field = 'name',
): Promise<RegisteredModelRecord> {
  const model = await store.getModelByName(name);
  if (model === undefined) {
    throw new CairnError('NOT_FOUND', `Registered Model with name=${name} not found`, { field });
  }
  return model;
}

export async function requireVersion(
  store: RegistryStore,
  model: RegisteredModelRecord,
  version: number,
): Promise<ModelVersionRecord> {
  const record = await store.getVersion(model.modelId, version);
  if (record === undefined) {
    throw new CairnError('NOT_FOUND', `Model Version (name=${model.name}, version=${version}) not found`, {
      field: 'version',
    });
  }
  return record;
}
