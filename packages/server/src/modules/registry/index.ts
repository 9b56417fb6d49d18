export { RegisteredModelService } from './registered-models.service.js';
export type { PromotionMove, SearchInput } from './registered-models.service.js';
export type { LabelMoveStores } from './label-moves.js';
export type { ExperimentLookup } from './version-sources.js';
export { ModelVersionService } from './model-versions.service.js';
export type { CreateVersionInput, ModelVersionServiceDeps } from './model-versions.service.js';
export { ModelCardService } from './model-cards.service.js';
export type { ModelCardView, CardRunLookup, CardProvenanceLookup } from './model-cards.service.js';
export { renderCardMarkdown, parseCardMarkdown } from './model-card-markdown.js';
export { PinnedFilesTree } from './pinned-files-tree.js';
export type { ProjectLookup, RegistryContext, RegistryTransactionStores } from './registry-context.js';
export type {
  RegistryStore,
  RegistryStores,
  RegistrySearchQuery,
  NewModelVersion,
  ModelVersionPatch,
} from './registry.store.js';
export * from './entities.js';
export { REGISTERED_MODEL_SEARCH, MODEL_VERSION_SEARCH } from './registry-search.js';
export { PROJECT_TAG, REGISTRY_LIMITS, checkAlias, checkModelName } from './validation.js';
