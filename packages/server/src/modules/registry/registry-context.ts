import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type {
  AccessControl,
  AuditStores,
  AuditTarget,
  Permission,
  ProtectedTargets,
} from '../governance/index.js';
import type { LineageStores } from '../lineage/index.js';
import type { ModelVersionRecord, RegisteredModelRecord } from './entities.js';
import type { RegistryStore, RegistryStores } from './registry.store.js';

export type RegistryTransactionStores = RegistryStores & LineageStores & AuditStores;

/** Whether a project exists, so a model is never created in a misspelt one. */
export interface ProjectLookup {
  getProject(projectId: string): Promise<{ projectId: string } | undefined>;
}

/** What every registry service shares. */
export interface RegistryContext {
  /** For reads outside a transaction. */
  store: RegistryStore;
  transactor: Transactor<RegistryTransactionStores>;
  clock: Clock;
  access: AccessControl;
  /** The project policy's answer to "must moving this label go through a promotion request?". */
  protectedTargets: ProtectedTargets;
  projects: ProjectLookup;
}

export const modelTarget = (name: string): AuditTarget => ({ kind: 'model', id: name });

export const versionTarget = (name: string, version: number): AuditTarget => ({
  kind: 'model_version',
  id: `${name}/${version}`,
});

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

/**
 * The model, once the caller holds `permission` in its project. Mutations call
 * it before their transaction opens, so a refusal never holds a connection
 * (in SQLite mode a transaction holds the only one).
 */
export async function authorizedModel(
  ctx: Pick<RegistryContext, 'store' | 'access'>,
  request: { name: string; permission: Permission; action: string; target?: AuditTarget; field?: string },
): Promise<RegisteredModelRecord> {
  const model = await requireModel(ctx.store, request.name, request.field);
  ctx.access.require(request.permission, model.projectId, {
    action: request.action,
    target: request.target ?? modelTarget(model.name),
  });
  return model;
}

/**
 * Re-reads the model inside the transaction. A model never moves between
 * projects, but it may have been deleted and its name reused elsewhere since
 * the check, so the check is repeated (in memory) when the project differs.
 */
export async function recheckModel(
  ctx: Pick<RegistryContext, 'access'>,
  store: RegistryStore,
  request: { checked: RegisteredModelRecord; permission: Permission; action: string },
): Promise<RegisteredModelRecord> {
  const model = await requireModel(store, request.checked.name);
  if (model.projectId !== request.checked.projectId) {
    ctx.access.require(request.permission, model.projectId, {
      action: request.action,
      target: modelTarget(model.name),
    });
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
