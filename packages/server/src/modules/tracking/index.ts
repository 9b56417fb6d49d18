export { TrackingService } from './tracking.service.js';
export { CodeVersionService, GIT_TAGS, withoutCredentials } from './code-versions.service.js';
export type { CodeDiff, CodeVersionInput, CodeVersionServiceDeps } from './code-versions.service.js';
export { ExperimentService } from './experiments.service.js';
export type { ExperimentServiceDeps } from './experiments.service.js';
export type { TrackingServiceDeps, SearchOptions, RawBatch } from './tracking.service.js';
export type {
  TrackingStore,
  TrackingStores,
  ExperimentQuery,
  RunQuery,
  RunPatch,
  BatchWrite,
  StoredDataset,
} from './tracking.store.js';
export { TrackingNodeDescriber, TRACKING_NODE_KINDS } from './lineage-describer.js';
export type {
  ExperimentRecord,
  RunInfoRecord,
  RunRecord,
  RunData,
  MetricPoint,
  DatasetRecord,
  RunCodeVersion,
  DatasetInputRecord,
  Page,
} from './entities.js';
export { DEFAULT_EXPERIMENT_ID, DEFAULT_PROJECT_ID, runArtifactUri } from './entities.js';
export type { FilterExpr, FilterEntity, Comparator } from './search-filter.js';
export type { OrderClause } from './order-by.js';
export { parseRunFilter, parseExperimentFilter, parseFilter } from './search-filter.js';
export type { SearchSubject, AttributeSpec, FilterValue } from './search-filter.js';
export { decodePageToken, encodePageToken } from './page-token.js';
export { parseRunOrderBy, parseExperimentOrderBy, parseOrderBy } from './order-by.js';
