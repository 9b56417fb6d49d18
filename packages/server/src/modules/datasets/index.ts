export { CHUNK_SIZES, chunkStream, ContentChunker, GEAR } from './content-chunker.js';
export { DatasetVersionDescriber } from './lineage-describer.js';
export { ChunkReader } from './chunk-reader.js';
export { DatasetsService } from './datasets.service.js';
export type { DatasetView, VersionView } from './datasets.service.js';
export { UploadsService } from './uploads.service.js';
export { DatasetReadService } from './dataset-reads.service.js';
export { DatasetTransferService } from './dataset-transfer.service.js';
export { DataGcService } from './data-gc.service.js';
export type { GcResult } from './data-gc.service.js';
export { ObjectFiles } from './object-files.js';
export { TableProfilesService } from './table-profiles.service.js';
export { DatasetDiffService } from './dataset-diff.service.js';
export type { RowDiff, TableAnalytics, TableFile } from './table-analytics.js';
export type { DatasetsContext, DatasetTransactionStores } from './datasets-context.js';
export type {
  ChunkEncoding,
  ChunkRecord,
  DatasetRecord,
  DatasetVersionRecord,
  FileObjectRecord,
  ObjectChunk,
  PackRecord,
  ProfileStatus,
  TableFormat,
  TableProfileRecord,
  UploadRecord,
  VersionFile,
} from './entities.js';
export { CHUNK_ENCODINGS } from './entities.js';
export type {
  ChunkMove,
  DatasetListQuery,
  DatasetStore,
  DatasetStores,
  FilePageQuery,
  PackUsage,
  Unreachable,
} from './datasets.store.js';
