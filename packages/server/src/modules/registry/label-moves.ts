import { newId } from '../../kernel/ids.js';
import type { AuditStores } from '../governance/index.js';
import type { ModelVersionRecord, RegisteredModelRecord, Stage } from './entities.js';
import { modelTarget, versionTarget } from './registry-context.js';
import type { RegistryStores } from './registry.store.js';

/**
 * Moving an alias or a stage, with its label history and audit events. The
 * direct routes and an approved promotion request share this code, so the
 * history reads the same whichever way a label moved; only the checks before
 * it differ.
 */
export type LabelMoveStores = RegistryStores & AuditStores;

interface Move {
  model: RegisteredModelRecord;
  /** The version the label moves to. */
  record: ModelVersionRecord;
  at: number;
  /** Who the label history names: the caller, or the requester of an approved promotion. */
  actor: string;
  /** Added to every audit event of the move (`promotionRequest` when a request applies it). */
  details?: Readonly<Record<string, unknown>>;
}

/** Points the alias at the version; the interval it leaves closes. Nothing happens when it already does. */
export async function moveAlias(
  { registry, audit }: LabelMoveStores,
  move: Move & { alias: string },
): Promise<ModelVersionRecord> {
  const { model, record, alias, at, actor } = move;
  const previous = model.aliases[alias];
  if (previous === record.version) return record;
  const { modelId, version } = record;
  await registry.closeLabels({ modelId, kind: 'alias', label: alias, at, actor });
  await registry.setAlias(modelId, alias, version);
  await registry.openLabel({ entryId: newId(), modelId, kind: 'alias', label: alias, version, at, actor });
  audit.record({
    action: 'models.alias_set',
    target: modelTarget(model.name),
    projectId: model.projectId,
    details: { alias, version, previousVersion: previous ?? null, ...move.details },
  });
  return { ...record, aliases: [...record.aliases.filter((a) => a !== alias), alias].sort() };
}

/**
 * Moves the version to the stage; `archiveExisting` archives the model's
 * other versions in that stage. One audit event per version that moved.
 */
export async function moveStage(
  { registry, audit }: LabelMoveStores,
  move: Move & { stage: Stage; archiveExisting: boolean },
): Promise<ModelVersionRecord> {
  const { model, record, stage, at, actor } = move;
  const moves: Array<{ record: ModelVersionRecord; stage: Stage; details: Record<string, unknown> }> = [
    { record, stage, details: move.archiveExisting ? { archiveExisting: true } : {} },
  ];
  if (move.archiveExisting) {
    for (const other of await registry.versionsInStage(record.modelId, stage)) {
      if (other.version === record.version) continue;
      const by = `${model.name}/${record.version}`;
      moves.push({ record: other, stage: 'Archived', details: { archivedBy: by } });
    }
  }
  let changed = false;
  for (const m of moves) {
    if (m.record.stage === m.stage) continue;
    changed = true;
    const { modelId, version, versionId } = m.record;
    await registry.updateVersion(versionId, { stage: m.stage, lastUpdateTime: at });
    await registry.closeLabels({ modelId, kind: 'stage', version, at, actor });
    if (m.stage !== 'None') {
      await registry.openLabel({
        entryId: newId(),
        modelId,
        kind: 'stage',
        label: m.stage,
        version,
        at,
        actor,
      });
    }
    audit.record({
      action: 'model_versions.stage_transition',
      target: versionTarget(model.name, version),
      projectId: model.projectId,
      details: { stage: m.stage, previousStage: m.record.stage, ...m.details, ...move.details },
    });
  }
  if (changed) await registry.updateModel(model.modelId, { lastUpdateTime: at });
  return changed ? { ...record, stage, lastUpdateTime: at } : record;
}
