import type { FilterExpr, OrderClause } from '../tracking/index.js';
import type {
  LabelHistoryEntry,
  ModelCardFields,
  ModelVersionRecord,
  PinnedFile,
  RegisteredModelRecord,
  Stage,
} from './entities.js';

export interface RegistrySearchQuery {
  filter: FilterExpr | undefined;
  orderBy: OrderClause[];
  offset: number;
  /** The store returns up to `limit + 1` items so the caller can tell whether a next page exists. */
  limit: number;
  /** Only models (and versions of models) in these projects; all projects when absent. */
  projectIds?: readonly string[];
}

export type NewModelVersion = Omit<ModelVersionRecord, 'aliases'>;

export interface ModelVersionPatch {
  description?: string;
  stage?: Stage;
  status?: ModelVersionRecord['status'];
  statusMessage?: string;
  lastUpdateTime: number;
}

/**
 * The registry's storage port. One SQL implementation serves SQLite and
 * PostgreSQL. Writes are called inside a transaction opened by a service.
 */
export interface RegistryStore {
  insertModel(model: RegisteredModelRecord): Promise<void>;
  getModelByName(name: string): Promise<RegisteredModelRecord | undefined>;
  getModelsByIds(modelIds: readonly string[]): Promise<RegisteredModelRecord[]>;
  updateModel(
    modelId: string,
    patch: { name?: string; description?: string; lastUpdateTime: number },
  ): Promise<void>;
  /** Removes the model with its versions, tags, files, cards and current aliases (history stays). */
  deleteModel(modelId: string): Promise<void>;
  searchModels(query: RegistrySearchQuery): Promise<RegisteredModelRecord[]>;
  setModelTag(modelId: string, key: string, value: string): Promise<void>;
  deleteModelTag(modelId: string, key: string): Promise<boolean>;

  /** Increments and returns the model's version counter (numbers are never reused). */
  nextVersionNumber(modelId: string): Promise<number>;
  insertVersion(version: NewModelVersion, files: readonly PinnedFile[]): Promise<void>;
  getVersion(modelId: string, version: number): Promise<ModelVersionRecord | undefined>;
  getVersionById(versionId: string): Promise<ModelVersionRecord | undefined>;
  getVersionsByIds(versionIds: readonly string[]): Promise<ModelVersionRecord[]>;
  /** The project of the version's model, in one read (permission checks on pinned files). */
  projectOfVersion(versionId: string): Promise<string | undefined>;
  /** The highest-numbered version per stage (all stages when `stages` is empty). */
  latestVersions(modelId: string, stages: readonly Stage[]): Promise<ModelVersionRecord[]>;
  /** `latestVersions` for many models in one read (a page of a model list), keyed by model id. */
  latestVersionsOfModels(modelIds: readonly string[]): Promise<Map<string, ModelVersionRecord[]>>;
  /** Versions of the model currently in `stage`. */
  versionsInStage(modelId: string, stage: Stage): Promise<ModelVersionRecord[]>;
  updateVersion(versionId: string, patch: ModelVersionPatch): Promise<void>;
  deleteVersion(versionId: string): Promise<void>;
  searchVersions(query: RegistrySearchQuery): Promise<ModelVersionRecord[]>;
  setVersionTag(versionId: string, key: string, value: string): Promise<void>;
  deleteVersionTag(versionId: string, key: string): Promise<boolean>;

  /** Pinned files, ordered by path; `prefix` ('' for all) limits them to one folder's tree. */
  listFiles(versionId: string, prefix: string): Promise<PinnedFile[]>;
  getFile(versionId: string, path: string): Promise<PinnedFile | undefined>;

  setAlias(modelId: string, alias: string, version: number): Promise<void>;
  deleteAlias(modelId: string, alias: string): Promise<boolean>;
  /** Aliases pointing at the version (removed with it). */
  deleteAliasesOf(modelId: string, version: number): Promise<string[]>;

  /** Opens an interval: from `at` the label points at `version`. */
  openLabel(entry: {
    entryId: string;
    modelId: string;
    kind: LabelHistoryEntry['kind'];
    label: string;
    version: number;
    at: number;
    actor: string;
  }): Promise<void>;
  /** Ends every open interval matching kind and label and/or version. */
  closeLabels(query: {
    modelId: string;
    kind: LabelHistoryEntry['kind'];
    label?: string;
    version?: number;
    at: number;
    actor: string;
  }): Promise<void>;
  /** Intervals, newest first; filtered by kind/label and to those covering `at` when given. */
  labelHistory(
    modelId: string,
    query: { kind?: LabelHistoryEntry['kind']; label?: string; at?: number; limit: number },
  ): Promise<LabelHistoryEntry[]>;

  getCard(
    versionId: string,
  ): Promise<(ModelCardFields & { updatedAt: number; updatedBy: string }) | undefined>;
  putCard(versionId: string, card: ModelCardFields, at: number, actor: string): Promise<void>;
}

export interface RegistryStores {
  registry: RegistryStore;
}
