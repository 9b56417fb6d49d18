import { CairnError } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import type { LabelTarget } from '../governance/index.js';
import { DEFAULT_PROJECT_ID } from '../tracking/index.js';
import type {
  LabelHistoryEntry,
  ModelVersionRecord,
  Page,
  RegisteredModelRecord,
  Stage,
} from './entities.js';
import { asList, checkLabelKind, checkTime, page, type SearchInput } from './registry-input.js';
import { LabelProtection, stageLabel } from './label-protection.js';
import { moveAlias, moveStage, type LabelMoveStores } from './label-moves.js';
import { REGISTERED_MODEL_SEARCH, registrySearchQuery } from './registry-search.js';
import {
  authorizedModel,
  modelTarget,
  recheckModel,
  requireModel,
  requireVersion,
  type RegistryContext,
} from './registry-context.js';
import {
  REGISTRY_LIMITS,
  checkAlias,
  checkMaxResults,
  checkModelName,
  checkOptionalText,
  checkProject,
  checkStage,
  checkTagKey,
  checkTags,
  checkText,
  checkVersionNumber,
} from './validation.js';

export type { SearchInput } from './registry-input.js';

/** An approved promotion request, moved by the promotions module inside its own transaction. */
export interface PromotionMove {
  modelName: string;
  version: number;
  target: LabelTarget;
  /** Stage moves only: archive the model's other versions in that stage. */
  archiveExisting?: boolean;
  /** Named in the label history (the requester). */
  actor: string;
  /** The request's id, kept in the audit events of the move. */
  promotionRequest?: string;
}

/**
 * Registered models: names, descriptions, tags, aliases and their history,
 * search. Reads need `read` in the model's project, changes `write`, checked
 * before any transaction opens; every change records its audit event in its
 * transaction.
 */
export class RegisteredModelService {
  constructor(private readonly ctx: RegistryContext) {}

  /** `project` names the project (default `default`); MLflow clients send the tag `cairn.project`. */
  async createModel(input: {
    name: unknown;
    description?: unknown;
    tags?: unknown;
    project?: unknown;
  }): Promise<RegisteredModelRecord> {
    const name = checkModelName(input.name);
    const description = checkOptionalText(
      input.description,
      'description',
      REGISTRY_LIMITS.maxDescriptionLength,
    );
    const tags = checkTags(input.tags);
    const projectId = checkProject(input.project, tags, DEFAULT_PROJECT_ID);
    this.ctx.access.require('write', projectId, { action: 'models.create', target: modelTarget(name) });
    if ((await this.ctx.projects.getProject(projectId)) === undefined) {
      throw new CairnError(
        'NOT_FOUND',
        `Project '${projectId}' does not exist; create it first (cairn projects create ${projectId}) or pick another.`,
        { field: 'project' },
      );
    }
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry, audit }) => {
      if ((await registry.getModelByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`, {
          field: 'name',
        });
      }
      const model: RegisteredModelRecord = {
        modelId: newId(),
        projectId,
        name,
        description: description ?? '',
        creationTime: now,
        lastUpdateTime: now,
        tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
        aliases: {},
      };
      await registry.insertModel(model);
      for (const tag of tags) await registry.setModelTag(model.modelId, tag.key, tag.value);
      audit.record({
        action: 'models.create',
        target: modelTarget(name),
        projectId,
        details: { description: model.description, tags: model.tags },
      });
      return model;
    });
  }

  async getModel(rawName: unknown): Promise<RegisteredModelRecord> {
    return this.readable(checkModelName(rawName), 'models.get');
  }

  /**
   * The project a model belongs to, with no permission check: for other
   * modules deciding a permission themselves (promotions, the artifact proxy).
   */
  async projectOfModel(rawName: unknown): Promise<string> {
    return (await requireModel(this.ctx.store, checkModelName(rawName))).projectId;
  }

  async renameModel(rawName: unknown, rawNewName: unknown): Promise<RegisteredModelRecord> {
    const name = checkModelName(rawName);
    const newName = checkModelName(rawNewName, 'new_name');
    const checked = await this.writable(name, 'models.rename');
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry, audit }) => {
      const model = await recheckModel(this.ctx, registry, {
        checked,
        permission: 'write',
        action: 'models.rename',
      });
      if (newName === name) return model;
      if ((await registry.getModelByName(newName)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `Registered Model (name=${newName}) already exists.`, {
          field: 'new_name',
        });
      }
      await registry.updateModel(model.modelId, { name: newName, lastUpdateTime: now });
      audit.record({
        action: 'models.rename',
        target: modelTarget(name),
        projectId: model.projectId,
        details: { name: newName, previousName: name },
      });
      return { ...model, name: newName, lastUpdateTime: now };
    });
  }

  async updateModel(rawName: unknown, patch: { description?: unknown }): Promise<RegisteredModelRecord> {
    const name = checkModelName(rawName);
    const description = checkOptionalText(
      patch.description,
      'description',
      REGISTRY_LIMITS.maxDescriptionLength,
    );
    const checked = await this.writable(name, 'models.update');
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry, audit }) => {
      const model = await recheckModel(this.ctx, registry, {
        checked,
        permission: 'write',
        action: 'models.update',
      });
      if (description === undefined) return model;
      await registry.updateModel(model.modelId, { description, lastUpdateTime: now });
      audit.record({
        action: 'models.update',
        target: modelTarget(name),
        projectId: model.projectId,
        details: { description },
      });
      return { ...model, description, lastUpdateTime: now };
    });
  }

  /** A model holding a protected alias or stage goes only by a project admin's hand. */
  async deleteModel(rawName: unknown): Promise<void> {
    const name = checkModelName(rawName);
    const action = 'models.delete';
    const checked = await this.writable(name, action);
    const protection = await LabelProtection.of(
      this.ctx.protectedTargets,
      checked.projectId,
      Object.keys(checked.aliases),
    );
    const now = this.ctx.clock.now();
    await this.ctx.transactor.run(async ({ registry, audit }) => {
      const model = await recheckModel(this.ctx, registry, { checked, permission: 'write', action });
      for (const [alias, version] of Object.entries(model.aliases)) {
        protection.requireAdminToRemove(this.ctx.access, {
          model,
          version,
          labels: [{ kind: 'alias', name: alias }],
          action,
        });
      }
      for (const held of await registry.latestVersions(model.modelId, [])) {
        protection.requireAdminToRemove(this.ctx.access, {
          model,
          version: held.version,
          labels: held.stage === 'None' ? [] : [stageLabel(held.stage)],
          action,
        });
      }
      const actor = this.ctx.access.caller().actor;
      for (const kind of ['alias', 'stage'] as const) {
        await registry.closeLabels({ modelId: model.modelId, kind, at: now, actor });
      }
      await registry.deleteModel(model.modelId);
      audit.record({ action, target: modelTarget(name), projectId: model.projectId, details: {} });
    });
  }

  async searchModels(input: SearchInput): Promise<Page<RegisteredModelRecord>> {
    const query = registrySearchQuery(input, {
      subject: REGISTERED_MODEL_SEARCH,
      defaultLimit: 100,
      maxLimit: REGISTRY_LIMITS.maxSearchResultsModels,
      readable: this.ctx.access.readableProjects(),
    });
    if (query === undefined) return { items: [] };
    return page(await this.ctx.store.searchModels(query), query.offset, query.limit);
  }

  async setModelTag(rawName: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const name = checkModelName(rawName);
    const key = checkTagKey(rawKey);
    const value = checkText(rawValue, 'value', REGISTRY_LIMITS.maxTagValueLength);
    const action = 'models.tag_set';
    const checked = await this.writable(name, action);
    const now = this.ctx.clock.now();
    await this.ctx.transactor.run(async ({ registry, audit }) => {
      const model = await recheckModel(this.ctx, registry, { checked, permission: 'write', action });
      await registry.setModelTag(model.modelId, key, value);
      await registry.updateModel(model.modelId, { lastUpdateTime: now });
      audit.record({
        action,
        target: modelTarget(name),
        projectId: model.projectId,
        details: { key, value },
      });
    });
  }

  async deleteModelTag(rawName: unknown, rawKey: unknown): Promise<void> {
    const name = checkModelName(rawName);
    const key = checkTagKey(rawKey);
    const action = 'models.tag_delete';
    const checked = await this.writable(name, action);
    await this.ctx.transactor.run(async ({ registry, audit }) => {
      const model = await recheckModel(this.ctx, registry, { checked, permission: 'write', action });
      if (!(await registry.deleteModelTag(model.modelId, key))) {
        throw new CairnError('NOT_FOUND', `No tag with key=${key} on registered model ${name}`, {
          field: 'key',
        });
      }
      audit.record({ action, target: modelTarget(name), projectId: model.projectId, details: { key } });
    });
  }

  /**
   * Points the alias at the version, moving it if it pointed elsewhere; the
   * move is kept as history. An alias the project's policy protects moves only
   * through a promotion request.
   */
  async setAlias(input: { name: unknown; alias: unknown; version: unknown }): Promise<ModelVersionRecord> {
    const name = checkModelName(input.name);
    const alias = checkAlias(input.alias);
    const version = checkVersionNumber(input.version);
    const action = 'models.alias_set';
    const checked = await this.writable(name, action);
    const protection = await LabelProtection.of(this.ctx.protectedTargets, checked.projectId, [alias]);
    protection.refuseProtectedMove({
      model: checked,
      version,
      target: { kind: 'alias', name: alias },
      action,
    });
    const now = this.ctx.clock.now();
    const actor = this.ctx.access.caller().actor;
    return this.ctx.transactor.run(async (stores) => {
      const model = await recheckModel(this.ctx, stores.registry, { checked, permission: 'write', action });
      protection.refuseProtectedMove({ model, version, target: { kind: 'alias', name: alias }, action });
      const record = await requireVersion(stores.registry, model, version);
      return moveAlias(stores, { model, record, alias, at: now, actor });
    });
  }

  /** Removing a protected alias is for project admins only. */
  async deleteAlias(input: { name: unknown; alias: unknown }): Promise<void> {
    const name = checkModelName(input.name);
    const alias = checkAlias(input.alias);
    const action = 'models.alias_delete';
    const checked = await this.writable(name, action);
    const protection = await LabelProtection.of(this.ctx.protectedTargets, checked.projectId, [alias]);
    const label: LabelTarget = { kind: 'alias', name: alias };
    const guard = (model: RegisteredModelRecord) =>
      protection.requireAdminToRemove(this.ctx.access, {
        model,
        version: model.aliases[alias] ?? 0,
        labels: model.aliases[alias] === undefined ? [] : [label],
        action,
      });
    guard(checked);
    const now = this.ctx.clock.now();
    const actor = this.ctx.access.caller().actor;
    await this.ctx.transactor.run(async ({ registry, audit }) => {
      const model = await recheckModel(this.ctx, registry, { checked, permission: 'write', action });
      guard(model);
      if (!(await registry.deleteAlias(model.modelId, alias))) {
        throw new CairnError('NOT_FOUND', `Registered model alias ${alias} not found on model ${name}`, {
          field: 'alias',
        });
      }
      await registry.closeLabels({ modelId: model.modelId, kind: 'alias', label: alias, at: now, actor });
      audit.record({
        action,
        target: modelTarget(name),
        projectId: model.projectId,
        details: { alias, version: model.aliases[alias] ?? null },
      });
    });
  }

  /**
   * Moves the label of an approved promotion request, inside the promotions
   * transaction. No permission or protection check: the promotions service has
   * made its own (role, policy checks, approvals) before calling.
   */
  async applyPromotion(stores: LabelMoveStores, input: PromotionMove): Promise<ModelVersionRecord> {
    const model = await requireModel(stores.registry, input.modelName);
    const record = await requireVersion(stores.registry, model, input.version);
    const at = this.ctx.clock.now();
    const details = { promotionRequest: input.promotionRequest ?? null };
    const move = { model, record, at, actor: input.actor, details };
    if (input.target.kind === 'alias') {
      return moveAlias(stores, { ...move, alias: checkAlias(input.target.name, 'target.name') });
    }
    const stage = checkStage(input.target.name, 'target.name');
    return moveStage(stores, { ...move, stage, archiveExisting: input.archiveExisting === true });
  }

  /** Who pointed which alias or stage at which version, from when to when; `at` answers "on 3 March". */
  async labelHistory(input: {
    name: unknown;
    kind?: unknown;
    label?: unknown;
    at?: unknown;
    limit?: unknown;
  }): Promise<LabelHistoryEntry[]> {
    const model = await this.readable(checkModelName(input.name), 'models.label_history');
    const kind = input.kind === undefined || input.kind === null ? undefined : checkLabelKind(input.kind);
    const label = checkOptionalText(input.label, 'label', REGISTRY_LIMITS.maxAliasLength);
    const at = input.at === undefined || input.at === null ? undefined : checkTime(input.at, 'at');
    const limit = checkMaxResults(input.limit, 1_000, 10_000);
    return this.ctx.store.labelHistory(model.modelId, {
      ...(kind === undefined ? {} : { kind }),
      ...(label === undefined ? {} : { label: kind === 'stage' ? checkStage(label, 'label') : label }),
      ...(at === undefined ? {} : { at }),
      limit,
    });
  }

  /**
   * The newest version per stage of every model given, keyed by model id, in
   * one read. The models come from a search, which returned readable ones only.
   */
  async latestVersionsOfModels(
    models: readonly RegisteredModelRecord[],
  ): Promise<Map<string, ModelVersionRecord[]>> {
    return this.ctx.store.latestVersionsOfModels(models.map((m) => m.modelId));
  }

  async latestVersions(rawName: unknown, rawStages?: unknown): Promise<ModelVersionRecord[]> {
    const model = await this.readable(checkModelName(rawName), 'models.latest_versions');
    const stages: Stage[] =
      rawStages === undefined || rawStages === null
        ? []
        : asList(rawStages, 'stages').map((s, i) => checkStage(s, `stages[${i}]`));
    return this.ctx.store.latestVersions(model.modelId, stages);
  }

  private readable(name: string, action: string): Promise<RegisteredModelRecord> {
    return authorizedModel(this.ctx, { name, permission: 'read', action });
  }

  private writable(name: string, action: string): Promise<RegisteredModelRecord> {
    return authorizedModel(this.ctx, { name, permission: 'write', action });
  }
}
