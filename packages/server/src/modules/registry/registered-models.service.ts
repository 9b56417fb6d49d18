import { CairnError } from '@cairn/contract';
import { newId } from '../../kernel/ids.js';
import { decodePageToken, encodePageToken, parseFilter, parseOrderBy } from '../tracking/index.js';
import type {
  LabelHistoryEntry,
  ModelVersionRecord,
  Page,
  RegisteredModelRecord,
  Stage,
} from './entities.js';
import { REGISTERED_MODEL_SEARCH } from './registry-search.js';
import { LOCAL_ACTOR, requireModel, requireVersion, type RegistryContext } from './registry-context.js';
import { DEFAULT_PROJECT_ID } from '../tracking/index.js';
import {
  REGISTRY_LIMITS,
  checkAlias,
  checkMaxResults,
  checkModelName,
  checkOptionalText,
  checkStage,
  checkTagKey,
  checkTags,
  checkText,
  checkVersionNumber,
} from './validation.js';

export interface SearchInput {
  filter?: unknown;
  orderBy?: unknown;
  maxResults?: unknown;
  pageToken?: unknown;
}

/** Registered models: names, descriptions, tags, aliases and their history, search. */
export class RegisteredModelService {
  constructor(private readonly ctx: RegistryContext) {}

  async createModel(input: {
    name: unknown;
    description?: unknown;
    tags?: unknown;
  }): Promise<RegisteredModelRecord> {
    const name = checkModelName(input.name);
    const description = checkOptionalText(
      input.description,
      'description',
      REGISTRY_LIMITS.maxDescriptionLength,
    );
    const tags = checkTags(input.tags);
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry }) => {
      if ((await registry.getModelByName(name)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`, {
          field: 'name',
        });
      }
      const model: RegisteredModelRecord = {
        modelId: newId(),
        projectId: DEFAULT_PROJECT_ID,
        name,
        description: description ?? '',
        creationTime: now,
        lastUpdateTime: now,
        tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
        aliases: {},
      };
      await registry.insertModel(model);
      for (const tag of tags) await registry.setModelTag(model.modelId, tag.key, tag.value);
      return model;
    });
  }

  async getModel(rawName: unknown): Promise<RegisteredModelRecord> {
    return requireModel(this.ctx.store, checkModelName(rawName));
  }

  async renameModel(rawName: unknown, rawNewName: unknown): Promise<RegisteredModelRecord> {
    const name = checkModelName(rawName);
    const newName = checkModelName(rawNewName, 'new_name');
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      if (newName === name) return model;
      if ((await registry.getModelByName(newName)) !== undefined) {
        throw new CairnError('ALREADY_EXISTS', `Registered Model (name=${newName}) already exists.`, {
          field: 'new_name',
        });
      }
      await registry.updateModel(model.modelId, { name: newName, lastUpdateTime: now });
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
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      if (description === undefined) return model;
      await registry.updateModel(model.modelId, { description, lastUpdateTime: now });
      return { ...model, description, lastUpdateTime: now };
    });
  }

  async deleteModel(rawName: unknown): Promise<void> {
    const name = checkModelName(rawName);
    const now = this.ctx.clock.now();
    await this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      for (const kind of ['alias', 'stage'] as const) {
        await registry.closeLabels({ modelId: model.modelId, kind, at: now, actor: LOCAL_ACTOR });
      }
      await registry.deleteModel(model.modelId);
    });
  }

  async searchModels(input: SearchInput): Promise<Page<RegisteredModelRecord>> {
    const filterText = checkOptionalText(input.filter, 'filter', 20_000) ?? '';
    const filter = parseFilter(filterText, REGISTERED_MODEL_SEARCH);
    const orderBy = parseOrderBy(checkOrderBy(input.orderBy), REGISTERED_MODEL_SEARCH);
    const limit = checkMaxResults(input.maxResults, 100, REGISTRY_LIMITS.maxSearchResultsModels);
    const offset = decodePageToken(checkOptionalText(input.pageToken, 'page_token', 1_000));
    const rows = await this.ctx.store.searchModels({ filter, orderBy, offset, limit });
    return page(rows, offset, limit);
  }

  async setModelTag(rawName: unknown, rawKey: unknown, rawValue: unknown): Promise<void> {
    const name = checkModelName(rawName);
    const key = checkTagKey(rawKey);
    const value = checkText(rawValue, 'value', REGISTRY_LIMITS.maxTagValueLength);
    const now = this.ctx.clock.now();
    await this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      await registry.setModelTag(model.modelId, key, value);
      await registry.updateModel(model.modelId, { lastUpdateTime: now });
    });
  }

  async deleteModelTag(rawName: unknown, rawKey: unknown): Promise<void> {
    const name = checkModelName(rawName);
    const key = checkTagKey(rawKey);
    await this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      if (!(await registry.deleteModelTag(model.modelId, key))) {
        throw new CairnError('NOT_FOUND', `No tag with key=${key} on registered model ${name}`, {
          field: 'key',
        });
      }
    });
  }

  /** Points the alias at the version, moving it if it pointed elsewhere; the move is kept as history. */
  async setAlias(input: {
    name: unknown;
    alias: unknown;
    version: unknown;
    actor?: string;
  }): Promise<ModelVersionRecord> {
    const name = checkModelName(input.name);
    const alias = checkAlias(input.alias);
    const version = checkVersionNumber(input.version);
    const actor = input.actor ?? LOCAL_ACTOR;
    const now = this.ctx.clock.now();
    return this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      const target = await requireVersion(registry, model, version);
      if (model.aliases[alias] === version) return target;
      await registry.closeLabels({ modelId: model.modelId, kind: 'alias', label: alias, at: now, actor });
      await registry.setAlias(model.modelId, alias, version);
      await registry.openLabel({
        entryId: newId(),
        modelId: model.modelId,
        kind: 'alias',
        label: alias,
        version,
        at: now,
        actor,
      });
      return { ...target, aliases: [...target.aliases.filter((a) => a !== alias), alias].sort() };
    });
  }

  async deleteAlias(input: { name: unknown; alias: unknown; actor?: string }): Promise<void> {
    const name = checkModelName(input.name);
    const alias = checkAlias(input.alias);
    const now = this.ctx.clock.now();
    await this.ctx.transactor.run(async ({ registry }) => {
      const model = await requireModel(registry, name);
      if (!(await registry.deleteAlias(model.modelId, alias))) {
        throw new CairnError('NOT_FOUND', `Registered model alias ${alias} not found on model ${name}`, {
          field: 'alias',
        });
      }
      const actor = input.actor ?? LOCAL_ACTOR;
      await registry.closeLabels({ modelId: model.modelId, kind: 'alias', label: alias, at: now, actor });
    });
  }

  /** Who pointed which alias or stage at which version, from when to when; `at` answers "on 3 March". */
  async labelHistory(input: {
    name: unknown;
    kind?: unknown;
    label?: unknown;
    at?: unknown;
    limit?: unknown;
  }): Promise<LabelHistoryEntry[]> {
    const model = await requireModel(this.ctx.store, checkModelName(input.name));
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

  /** The newest version per stage of every model given (a search page), keyed by model id, in one read. */
  async latestVersionsOfModels(
    models: readonly RegisteredModelRecord[],
  ): Promise<Map<string, ModelVersionRecord[]>> {
    return this.ctx.store.latestVersionsOfModels(models.map((m) => m.modelId));
  }

  async latestVersions(rawName: unknown, rawStages?: unknown): Promise<ModelVersionRecord[]> {
    const model = await requireModel(this.ctx.store, checkModelName(rawName));
    const stages: Stage[] =
      rawStages === undefined || rawStages === null
        ? []
        : asList(rawStages, 'stages').map((s, i) => checkStage(s, `stages[${i}]`));
    return this.ctx.store.latestVersions(model.modelId, stages);
  }
}

export function page<T>(rows: T[], offset: number, limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return rows.length > limit ? { items, nextPageToken: encodePageToken(offset + limit) } : { items };
}

export function checkOrderBy(value: unknown): string[] {
  const list = value === undefined || value === null ? [] : asList(value, 'order_by');
  return list.map((item, i) => checkText(item, `order_by[${i}]`, 1_000));
}

function asList(value: unknown, field: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [value];
  throw new CairnError('INVALID_ARGUMENT', `${field}: must be a list of strings`, { field });
}

function checkLabelKind(value: unknown): LabelHistoryEntry['kind'] {
  if (value === 'alias' || value === 'stage') return value;
  throw new CairnError('INVALID_ARGUMENT', `kind: must be "alias" or "stage", got ${JSON.stringify(value)}`, {
    field: 'kind',
  });
}

/** Epoch milliseconds, or an ISO-8601 date/time. */
export function checkTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    if (/^\d{1,16}$/.test(value)) return Number(value);
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed) && /^\d{4}-\d{2}-\d{2}/.test(value)) return parsed;
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `${field}: expected epoch milliseconds or an ISO date such as 2026-03-03T12:00:00Z, got ${JSON.stringify(value)}`,
    { field },
  );
}
