export { TrackingService } from './tracking.service.js';
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
} from './tracking.store.js';
export type {
  ExperimentRecord,
  RunInfoRecord,
  RunRecord,
  RunData,
  MetricPoint,
  DatasetRecord,
  DatasetInputRecord,
  Page,
} from './entities.js';
export { DEFAULT_EXPERIMENT_ID, DEFAULT_PROJECT_ID, runArtifactUri } from './entities.js';
export type { FilterExpr, FilterEntity, Comparator } from './search-filter.js';
export type { OrderClause } from './order-by.js';
export { parseRunFilter, parseExperimentFilter } from './search-filter.js';
export { parseRunOrderBy, parseExperimentOrderBy } from './order-by.js';
