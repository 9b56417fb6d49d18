import type { Digest } from '../artifacts/index.js';
import type {
  ChunkRecord,
  DatasetRecord,
  DatasetVersionRecord,
  FileObjectRecord,
  ObjectChunk,
  PackRecord,
  ProfileStatus,
  TableProfileRecord,
  UploadRecord,
  VersionFile,
} from './entities.js';

export interface DatasetListQuery {
  /** Only datasets in these projects; all projects when absent. */
  projectIds?: readonly string[];
  /** Names starting with this text. */
  namePrefix?: string;
  offset: number;
  /** The store returns up to `limit + 1` rows so the caller can tell whether a next page exists. */
  limit: number;
}

export interface FilePageQuery {
  /** Only paths starting with this text. */
  prefix?: string;
  /** Paths strictly after this one (keyset paging in path order). */
  afterPath?: string;
  limit: number;
}

/** What no version and no live upload can reach any more. */
export interface Unreachable {
  objects: Digest[];
  chunks: Digest[];
}

export interface PackUsage {
  digest: Digest;
  sizeBytes: number;
  createdAt: number;
  liveChunks: number;
  liveBytes: number;
}

/** Where a chunk moved when its pack was rewritten. */
export interface ChunkMove {
  digest: Digest;
  fromPack: Digest;
  toPack: Digest;
  toOffset: number;
}

/**
 * The datasets module's storage port. One SQL implementation serves SQLite
 * and PostgreSQL. Writes are called inside a transaction opened by a service.
 * Lists of digests may be long (a gigabyte is ~16,000 chunks): the
 * implementation batches them under the dialects' parameter limits.
 */
export interface DatasetStore {
  insertDataset(dataset: DatasetRecord): Promise<void>;
  getDatasetByName(name: string): Promise<DatasetRecord | undefined>;
  getDatasetsByIds(datasetIds: readonly string[]): Promise<DatasetRecord[]>;
  listDatasets(query: DatasetListQuery): Promise<DatasetRecord[]>;
  updateDataset(datasetId: string, patch: { description?: string; updatedAt: number }): Promise<void>;
  /** Increments and returns the dataset's version counter; serialises concurrent commits. */
  nextVersionNumber(datasetId: string): Promise<number>;

  insertVersion(version: DatasetVersionRecord, files: readonly VersionFile[]): Promise<void>;
  getVersion(datasetId: string, version: number): Promise<DatasetVersionRecord | undefined>;
  getVersionsByIds(versionIds: readonly string[]): Promise<DatasetVersionRecord[]>;
  /** Newest first. Returns up to `limit + 1`. */
  listVersions(datasetId: string, page: { offset: number; limit: number }): Promise<DatasetVersionRecord[]>;
  /** Versions whose manifest digest is one of these (a run's input matched by digest). */
  findVersionsByDigest(digests: readonly string[]): Promise<DatasetVersionRecord[]>;
  /** In path order. Returns up to `limit + 1`. */
  listVersionFiles(versionId: string, query: FilePageQuery): Promise<VersionFile[]>;
  /** Every file of a version, in path order (manifests are read whole for diff and checkout). */
  allVersionFiles(versionId: string): Promise<VersionFile[]>;
  getVersionFile(versionId: string, path: string): Promise<VersionFile | undefined>;
  /** Which of these chunks some version of the dataset uses (reads by digest stay inside the dataset). */
  chunksOfDataset(datasetId: string, digests: readonly Digest[]): Promise<Set<Digest>>;
  /** The version of this dataset with this manifest digest, if any (idempotent imports). */
  findVersionInDataset(datasetId: string, digest: Digest): Promise<DatasetVersionRecord | undefined>;

  setAlias(datasetId: string, alias: string, version: number, at: number): Promise<void>;
  deleteAlias(datasetId: string, alias: string): Promise<boolean>;
  /** alias → version. */
  getAliases(datasetId: string): Promise<Map<string, number>>;

  insertPack(pack: PackRecord): Promise<void>;
  /** Rows already present (same digest) are kept as they are. */
  insertChunks(chunks: readonly ChunkRecord[]): Promise<void>;
  getChunks(digests: readonly Digest[]): Promise<ChunkRecord[]>;
  /** Which of these chunks the store holds. */
  existingChunks(digests: readonly Digest[]): Promise<Set<Digest>>;

  /** A no-op when the object (same digest) is already present. */
  insertObject(object: FileObjectRecord, chunks: readonly ObjectChunk[]): Promise<void>;
  getObjects(digests: readonly Digest[]): Promise<FileObjectRecord[]>;
  /** The object's chunks in file order, with each chunk's offset and size. */
  getObjectChunks(objectDigest: Digest): Promise<ObjectChunk[]>;

  upsertProfile(profile: TableProfileRecord): Promise<void>;
  getProfiles(objectDigests: readonly Digest[]): Promise<TableProfileRecord[]>;
  listProfilesByStatus(status: ProfileStatus, limit: number): Promise<TableProfileRecord[]>;

  insertUpload(upload: UploadRecord): Promise<void>;
  getUpload(uploadId: string): Promise<UploadRecord | undefined>;
  /** Marks the upload alive and adds to its count of new bytes. */
  touchUpload(uploadId: string, change: { at: number; bytesNew: number }): Promise<void>;
  /** Drops the upload with its staged files and pinned chunks. */
  deleteUpload(uploadId: string): Promise<void>;
  stageUploadFile(uploadId: string, file: { path: string; digest: Digest; mode: number }): Promise<void>;
  listUploadFiles(uploadId: string): Promise<Array<{ path: string; digest: Digest; mode: number }>>;
  /** Pins chunks as garbage-collection roots for the upload's lifetime. */
  pinUploadChunks(uploadId: string, digests: readonly Digest[]): Promise<void>;
  /** Uploads not touched since `before` (abandoned adds). */
  listStaleUploads(before: number): Promise<UploadRecord[]>;

  /**
   * Objects and chunks that no version, no staged file and no pinned chunk
   * reaches (following delta bases), created before `createdBefore`.
   */
  findUnreachable(options: { createdBefore: number; limit: number }): Promise<Unreachable>;
  /** Deletes objects (their chunk lists and profiles) that are still unreachable; returns those deleted. */
  deleteObjects(digests: readonly Digest[]): Promise<Digest[]>;
  /** Deletes chunks that are still unreferenced; returns those deleted. */
  deleteChunks(digests: readonly Digest[]): Promise<Digest[]>;
  packUsage(): Promise<PackUsage[]>;
  /** Points chunks at their copies in a new pack (only those still in `fromPack`). */
  moveChunks(moves: readonly ChunkMove[]): Promise<void>;
  /** Deletes the pack row when no chunk lives in it; false otherwise. */
  deletePackIfEmpty(packDigest: Digest): Promise<boolean>;
  /** Chunks stored in a pack, in offset order. */
  chunksInPack(packDigest: Digest): Promise<ChunkRecord[]>;
}

export interface DatasetStores {
  datasets: DatasetStore;
}
