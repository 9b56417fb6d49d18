import { sql, type Kysely } from 'kysely';
import { CairnError } from '@cairn/contract';
import type {
  LabelHistoryEntry,
  ModelCardFields,
  ModelVersionRecord,
  PinnedFile,
  RegisteredModelRecord,
  Stage,
} from '../../../modules/registry/entities.js';
import type {
  ModelVersionPatch,
  NewModelVersion,
  RegistrySearchQuery,
  RegistryStore,
} from '../../../modules/registry/registry.store.js';
import type { SqlHelpers } from '../database.js';
import type { Database, ModelVersionsTable, RegisteredModelsTable } from '../schema.js';
import { chunk } from '../tracking/row-mappers.js';
import { toModel, toModelRow, toPinnedFile, type VersionRow } from './registry-row-mappers.js';
import { modelSearchSql, versionSearchSql } from './registry-search-sql.js';
import { closeLabels, labelHistory, openLabel } from './sql-label-history.js';
import { getCard, putCard } from './sql-model-cards.js';
import {
  hydrateVersions,
  insertVersion,
  latestVersionRows,
  listFiles,
  selectVersions,
} from './sql-model-versions.js';

const TAG_ROWS_PER_INSERT = 1000;

/** The model registry's tables; one implementation for SQLite and PostgreSQL. */
export class SqlRegistryStore implements RegistryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly helpers: SqlHelpers,
  ) {}

  // ── Registered models ────────────────────────────────────────────────

  /** The row and its tags; aliases need versions, so a new model has none to store. */
  async insertModel(model: RegisteredModelRecord): Promise<void> {
    await this.db.insertInto('registered_models').values(toModelRow(model)).execute();
    for (const part of chunk(Object.entries(model.tags), TAG_ROWS_PER_INSERT)) {
      await this.db
        .insertInto('registered_model_tags')
        .values(part.map(([key, value]) => ({ model_id: model.modelId, key, value })))
        .execute();
    }
  }

  async getModelByName(name: string): Promise<RegisteredModelRecord | undefined> {
    const row = await this.db
      .selectFrom('registered_models')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : (await this.hydrateModels([row]))[0];
  }

  async getModelsByIds(modelIds: readonly string[]): Promise<RegisteredModelRecord[]> {
    if (modelIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('registered_models')
      .selectAll()
      .where(this.helpers.anyOf('model_id', modelIds))
      .execute();
    return this.hydrateModels(rows);
  }

  async updateModel(
    modelId: string,
    patch: { name?: string; description?: string; lastUpdateTime: number },
  ): Promise<void> {
    await this.db
      .updateTable('registered_models')
      .set({
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.description === undefined ? {} : { description: patch.description }),
        last_update_ms: patch.lastUpdateTime,
      })
      .where('model_id', '=', modelId)
      .execute();
  }

  /** Children first (the foreign keys point at the model and its versions); label history stays. */
  async deleteModel(modelId: string): Promise<void> {
    const versionsOfModel = this.db
      .selectFrom('model_versions')
      .select('version_id')
      .where('model_id', '=', modelId);
    for (const table of ['model_cards', 'model_version_tags', 'model_version_files'] as const) {
      await this.db.deleteFrom(table).where('version_id', 'in', versionsOfModel).execute();
    }
    for (const table of ['model_versions', 'model_aliases', 'registered_model_tags'] as const) {
      await this.db.deleteFrom(table).where('model_id', '=', modelId).execute();
    }
    await this.db.deleteFrom('registered_models').where('model_id', '=', modelId).execute();
  }

  async searchModels(query: RegistrySearchQuery): Promise<RegisteredModelRecord[]> {
    const { rows } = await modelSearchSql({ ...query, limit: query.limit + 1 }).execute(this.db);
    return this.hydrateModels(rows as unknown as RegisteredModelsTable[]);
  }

  async setModelTag(modelId: string, key: string, value: string): Promise<void> {
    await this.db
      .insertInto('registered_model_tags')
      .values({ model_id: modelId, key, value })
      .onConflict((oc) => oc.columns(['model_id', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteModelTag(modelId: string, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('registered_model_tags')
      .where('model_id', '=', modelId)
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Tags and aliases of a page of models: one query each, whatever the page size. */
  private async hydrateModels(rows: readonly RegisteredModelsTable[]): Promise<RegisteredModelRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.model_id);
    const [tagRows, aliasRows] = await Promise.all([
      this.db
        .selectFrom('registered_model_tags')
        .select(['model_id', 'key', 'value'])
        .where(this.helpers.anyOf('model_id', ids))
        .execute(),
      this.db
        .selectFrom('model_aliases')
        .select(['model_id', 'alias', 'version'])
        .where(this.helpers.anyOf('model_id', ids))
        .orderBy('alias')
        .execute(),
    ]);
    const tags = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
    for (const t of tagRows) (tags.get(t.model_id) as Record<string, string>)[t.key] = t.value;
    const aliases = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
    for (const a of aliasRows)
      (aliases.get(a.model_id) as Record<string, number>)[a.alias] = Number(a.version);
    return rows.map((row) =>
      toModel(row, { tags: tags.get(row.model_id) ?? {}, aliases: aliases.get(row.model_id) ?? {} }),
    );
  }

  // ── Model versions ───────────────────────────────────────────────────

  /** One statement, so two registrations in flight never get the same number. */
  async nextVersionNumber(modelId: string): Promise<number> {
    const row = await this.db
      .updateTable('registered_models')
      .set({ last_version: sql`last_version + 1` })
      .where('model_id', '=', modelId)
      .returning('last_version')
      .executeTakeFirst();
    if (row === undefined) throw new CairnError('NOT_FOUND', `registered model ${modelId} does not exist`);
    return Number(row.last_version);
  }

  insertVersion(version: NewModelVersion, files: readonly PinnedFile[]): Promise<void> {
    return insertVersion(this.db, this.helpers, { version, files });
  }

  async getVersion(modelId: string, version: number): Promise<ModelVersionRecord | undefined> {
    const rows = await selectVersions(this.db)
      .where('v.model_id', '=', modelId)
      .where('v.version', '=', version)
      .execute();
    return (await hydrateVersions(this.db, this.helpers, rows))[0];
  }

  async getVersionById(versionId: string): Promise<ModelVersionRecord | undefined> {
    const rows = await selectVersions(this.db).where('v.version_id', '=', versionId).execute();
    return (await hydrateVersions(this.db, this.helpers, rows))[0];
  }

  async getVersionsByIds(versionIds: readonly string[]): Promise<ModelVersionRecord[]> {
    if (versionIds.length === 0) return [];
    const rows = await selectVersions(this.db)
      .where(this.helpers.anyOf('v.version_id', versionIds))
      .execute();
    return hydrateVersions(this.db, this.helpers, rows);
  }

  async projectOfVersion(versionId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('model_versions as v')
      .innerJoin('registered_models as m', 'm.model_id', 'v.model_id')
      .select('m.project_id')
      .where('v.version_id', '=', versionId)
      .executeTakeFirst();
    return row?.project_id;
  }

  async latestVersions(modelId: string, stages: readonly Stage[]): Promise<ModelVersionRecord[]> {
    const rows = await latestVersionRows(this.db, this.helpers, { modelIds: [modelId], stages });
    return hydrateVersions(this.db, this.helpers, rows);
  }

  async latestVersionsOfModels(modelIds: readonly string[]): Promise<Map<string, ModelVersionRecord[]>> {
    const rows = await latestVersionRows(this.db, this.helpers, { modelIds, stages: [] });
    const byModel = new Map<string, ModelVersionRecord[]>(modelIds.map((id) => [id, []]));
    for (const version of await hydrateVersions(this.db, this.helpers, rows)) {
      byModel.get(version.modelId)?.push(version);
    }
    return byModel;
  }

  async versionsInStage(modelId: string, stage: Stage): Promise<ModelVersionRecord[]> {
    const rows = await selectVersions(this.db)
      .where('v.model_id', '=', modelId)
      .where('v.stage', '=', stage)
      .orderBy('v.version', 'asc')
      .execute();
    return hydrateVersions(this.db, this.helpers, rows);
  }

  async updateVersion(versionId: string, patch: ModelVersionPatch): Promise<void> {
    const set: Partial<ModelVersionsTable> = { last_update_ms: patch.lastUpdateTime };
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.stage !== undefined) set.stage = patch.stage;
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.statusMessage !== undefined) set.status_message = patch.statusMessage;
    await this.db.updateTable('model_versions').set(set).where('version_id', '=', versionId).execute();
  }

  /** The version with its tags, files and card; aliases still pointing at it would dangle, so they go too. */
  async deleteVersion(versionId: string): Promise<void> {
    const version = await this.db
      .selectFrom('model_versions')
      .select(['model_id', 'version'])
      .where('version_id', '=', versionId)
      .executeTakeFirst();
    if (version === undefined) return;
    await this.deleteAliasesOf(version.model_id, Number(version.version));
    for (const table of [
      'model_cards',
      'model_version_tags',
      'model_version_files',
      'model_versions',
    ] as const) {
      await this.db.deleteFrom(table).where('version_id', '=', versionId).execute();
    }
  }

  async searchVersions(query: RegistrySearchQuery): Promise<ModelVersionRecord[]> {
    const { rows } = await versionSearchSql({ ...query, limit: query.limit + 1 }).execute(this.db);
    return hydrateVersions(this.db, this.helpers, rows as unknown as VersionRow[]);
  }

  async setVersionTag(versionId: string, key: string, value: string): Promise<void> {
    await this.db
      .insertInto('model_version_tags')
      .values({ version_id: versionId, key, value })
      .onConflict((oc) => oc.columns(['version_id', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteVersionTag(versionId: string, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('model_version_tags')
      .where('version_id', '=', versionId)
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // ── Pinned files ─────────────────────────────────────────────────────

  listFiles(versionId: string, prefix: string): Promise<PinnedFile[]> {
    return listFiles(this.db, { versionId, prefix });
  }

  async getFile(versionId: string, path: string): Promise<PinnedFile | undefined> {
    const row = await this.db
      .selectFrom('model_version_files')
      .select(['path', 'digest', 'size_bytes'])
      .where('version_id', '=', versionId)
      .where('path', '=', path)
      .executeTakeFirst();
    return row === undefined ? undefined : toPinnedFile(row);
  }

  // ── Aliases and label history ────────────────────────────────────────

  async setAlias(modelId: string, alias: string, version: number): Promise<void> {
    await this.db
      .insertInto('model_aliases')
      .values({ model_id: modelId, alias, version })
      .onConflict((oc) => oc.columns(['model_id', 'alias']).doUpdateSet({ version }))
      .execute();
  }

  async deleteAlias(modelId: string, alias: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('model_aliases')
      .where('model_id', '=', modelId)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteAliasesOf(modelId: string, version: number): Promise<string[]> {
    const rows = await this.db
      .deleteFrom('model_aliases')
      .where('model_id', '=', modelId)
      .where('version', '=', version)
      .returning('alias')
      .execute();
    return rows.map((r) => r.alias).sort();
  }

  openLabel(entry: Parameters<RegistryStore['openLabel']>[0]): Promise<void> {
    return openLabel(this.db, entry);
  }

  closeLabels(query: Parameters<RegistryStore['closeLabels']>[0]): Promise<void> {
    return closeLabels(this.db, query);
  }

  labelHistory(
    modelId: string,
    query: { kind?: LabelHistoryEntry['kind']; label?: string; at?: number; limit: number },
  ): Promise<LabelHistoryEntry[]> {
    return labelHistory(this.db, modelId, query);
  }

  // ── Model cards ──────────────────────────────────────────────────────

  getCard(
    versionId: string,
  ): Promise<(ModelCardFields & { updatedAt: number; updatedBy: string }) | undefined> {
    return getCard(this.db, versionId);
  }

  // The port's signature (four positional parameters); the helper takes an options object.
  // eslint-disable-next-line max-params
  putCard(versionId: string, card: ModelCardFields, at: number, actor: string): Promise<void> {
    return putCard(this.db, { versionId, card, at, actor });
  }
}
