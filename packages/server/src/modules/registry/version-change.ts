import type { ModelVersionRecord, RegisteredModelRecord } from './entities.js';
import { LabelProtection } from './label-protection.js';
import {
  authorizedModel,
  recheckModel,
  requireVersion,
  versionTarget,
  type RegistryContext,
  type RegistryTransactionStores,
} from './registry-context.js';
import { checkModelName, checkVersionNumber } from './validation.js';

export interface FoundVersion {
  model: RegisteredModelRecord;
  record: ModelVersionRecord;
}

/** A change's result, and the changed fields to audit (none when nothing changed). */
export interface VersionChange {
  result: ModelVersionRecord;
  details?: Record<string, unknown>;
}

export interface VersionChangeRequest {
  name: unknown;
  version: unknown;
  /** The audit action, also named in a refusal. */
  action: string;
  /** Refuses a change to protected labels; throws. */
  guard?: (protection: LabelProtection, found: FoundVersion) => void;
}

/**
 * One change to one version: `write` checked and `guard` run before the
 * transaction opens (a refusal holds no connection), then both again on the
 * rows read inside it (nothing changed in between unnoticed); the audit event
 * is recorded in the transaction when `work` reports changed fields.
 */
export async function changeVersion(
  ctx: RegistryContext,
  request: VersionChangeRequest,
  work: (stores: RegistryTransactionStores, found: FoundVersion, now: number) => Promise<VersionChange>,
): Promise<ModelVersionRecord> {
  const name = checkModelName(request.name);
  const version = checkVersionNumber(request.version);
  const { action, guard } = request;
  const target = versionTarget(name, version);
  const checked = await authorizedModel(ctx, { name, permission: 'write', action, target });
  let protection: LabelProtection | undefined;
  if (guard !== undefined) {
    protection = await LabelProtection.of(
      ctx.protectedTargets,
      checked.projectId,
      Object.keys(checked.aliases),
    );
    guard(protection, { model: checked, record: await requireVersion(ctx.store, checked, version) });
  }
  const now = ctx.clock.now();
  return ctx.transactor.run(async (stores) => {
    const model = await recheckModel(ctx, stores.registry, { checked, permission: 'write', action });
    const record = await requireVersion(stores.registry, model, version);
    if (guard !== undefined && protection !== undefined) guard(protection, { model, record });
    const { result, details } = await work(stores, { model, record }, now);
    if (details !== undefined) {
      await stores.registry.updateModel(model.modelId, { lastUpdateTime: now });
      stores.audit.record({
        action,
        target: versionTarget(model.name, version),
        projectId: model.projectId,
        details,
      });
    }
    return result;
  });
}
