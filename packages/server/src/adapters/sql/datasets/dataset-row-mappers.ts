import { PostgresAdapter, sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { CairnError } from '@cairn/contract';
import type { Digest } from '../../../modules/artifacts/index.js';
// Entities straight from their file: the module's index would load its services too.
import type {
  ChunkEncoding,
  ChunkRecord,
  DatasetRecord,
  DatasetVersionRecord,
  FileObjectRecord,
  ProfileStatus,
  TableFormat,
  TableProfileRecord,
  UploadRecord,
  VersionFile,
} from '../../../modules/datasets/entities.js';
import type {
  DataChunksTable,
  DataObjectsTable,
  DataTableProfilesTable,
  DataUploadsTable,
  Database,
  DatasetVersionFilesTable,
  DatasetVersionsTable,
  VersionedDatasetsTable,
} from '../schema.js';

/**
 * What this store must do differently on PostgreSQL, decided once per
 * connection from Kysely's adapter (the port sees none of it).
 *
 * - Paths are listed in byte order on both dialects, so a page token means
 *   the same thing everywhere: SQLite compares text bytewise already, while a
 *   PostgreSQL database collation such as en_US does not.
 * - Row locks: PostgreSQL runs transactions side by side, so garbage
 *   collection locks the rows it means to delete before re-checking them.
 *   SQLite holds one writer at a time and has no FOR UPDATE.
 * - PostgreSQL guesses a recursive query grows tenfold per level, so it
 *   estimates the collector's walk at millions of rows and spends longer
 *   JIT-compiling it than running it (1.4 s against 0.3 s on 50,000 chunks).
 *   `set local` turns that off for the transaction only.
 */
export interface DialectTraits {
  rowLocks: boolean;
  bytewise: (column: string) => RawBuilder<string>;
  beforeWalk: RawBuilder<unknown> | undefined;
}

export function dialectTraits(db: Kysely<Database>): DialectTraits {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return {
    rowLocks: postgres,
    bytewise: postgres
      ? (column) => sql<string>`${sql.ref(column)} collate "C"`
      : (column) => sql.ref(column),
    beforeWalk: postgres ? sql`set local jit = off` : undefined,
  };
}

/** `column` starts with `prefix`, exactly: LIKE would read `%` and `_` as wildcards. */
export function startsWith(column: string, prefix: string): RawBuilder<SqlBool> {
  // substr counts characters on both dialects, so the length is in code points.
  return sql<SqlBool>`substr(${sql.ref(column)}, 1, ${[...prefix].length}) = ${prefix}`;
}

export function toDatasetRow(dataset: DatasetRecord): VersionedDatasetsTable {
  return {
    dataset_id: dataset.datasetId,
    project_id: dataset.projectId,
    name: dataset.name,
    description: dataset.description,
    last_version: dataset.lastVersion,
    created_ms: dataset.createdAt,
    created_by: dataset.createdBy,
    updated_ms: dataset.updatedAt,
  };
}

export function toDataset(row: VersionedDatasetsTable): DatasetRecord {
  return {
    datasetId: row.dataset_id,
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    lastVersion: Number(row.last_version),
    createdAt: Number(row.created_ms),
    createdBy: row.created_by,
    updatedAt: Number(row.updated_ms),
  };
}

export function toVersionRow(version: DatasetVersionRecord): DatasetVersionsTable {
  return {
    version_id: version.versionId,
    dataset_id: version.datasetId,
    version: version.version,
    parent_version: version.parentVersion,
    message: version.message,
    author: version.author,
    created_ms: version.createdAt,
    digest: version.digest,
    file_count: version.fileCount,
    size_bytes: version.sizeBytes,
    bytes_new: version.bytesNew,
  };
}

export function toVersion(row: DatasetVersionsTable): DatasetVersionRecord {
  return {
    versionId: row.version_id,
    datasetId: row.dataset_id,
    version: Number(row.version),
    parentVersion: row.parent_version === null ? null : Number(row.parent_version),
    message: row.message,
    author: row.author,
    createdAt: Number(row.created_ms),
    digest: row.digest as Digest,
    fileCount: Number(row.file_count),
    sizeBytes: Number(row.size_bytes),
    bytesNew: Number(row.bytes_new),
  };
}

/** Key order matches `flattenVersionFileRow`, which the compiled-statement cache relies on. */
export function toVersionFileRow(versionId: string, file: VersionFile): DatasetVersionFilesTable {
  return {
    version_id: versionId,
    path: file.path,
    object_digest: file.digest,
    size_bytes: file.sizeBytes,
    mode: file.mode,
  };
}

export const flattenVersionFileRow = (row: DatasetVersionFilesTable): readonly unknown[] => [
  row.version_id,
  row.path,
  row.object_digest,
  row.size_bytes,
  row.mode,
];

export function toVersionFile(
  row: Pick<DatasetVersionFilesTable, 'path' | 'object_digest' | 'size_bytes' | 'mode'>,
): VersionFile {
  return {
    path: row.path,
    digest: row.object_digest as Digest,
    sizeBytes: Number(row.size_bytes),
    mode: Number(row.mode),
  };
}

/** Key order matches `flattenChunkRow`. */
export function toChunkRow(chunk: ChunkRecord): DataChunksTable {
  return {
    digest: chunk.digest,
    size_bytes: chunk.sizeBytes,
    pack_digest: chunk.packDigest,
    pack_offset: chunk.packOffset,
    stored_bytes: chunk.storedBytes,
    encoding: chunk.encoding,
    base_object: chunk.baseObject,
    depth: chunk.depth,
    created_ms: chunk.createdAt,
  };
}

export const flattenChunkRow = (row: DataChunksTable): readonly unknown[] => [
  row.digest,
  row.size_bytes,
  row.pack_digest,
  row.pack_offset,
  row.stored_bytes,
  row.encoding,
  row.base_object,
  row.depth,
  row.created_ms,
];

const ENCODINGS: ReadonlySet<string> = new Set<ChunkEncoding>(['raw', 'lz4', 'delta']);

export function toChunk(row: DataChunksTable): ChunkRecord {
  // An unknown encoding would be decoded as garbage; refuse the row instead.
  if (!ENCODINGS.has(row.encoding)) {
    throw new CairnError('INTERNAL', `chunk ${row.digest} has unknown encoding "${row.encoding}"`);
  }
  return {
    digest: row.digest as Digest,
    sizeBytes: Number(row.size_bytes),
    packDigest: row.pack_digest as Digest,
    packOffset: Number(row.pack_offset),
    storedBytes: Number(row.stored_bytes),
    encoding: row.encoding as ChunkEncoding,
    baseObject: row.base_object === null ? null : (row.base_object as Digest),
    depth: Number(row.depth),
    createdAt: Number(row.created_ms),
  };
}

export function toObject(row: DataObjectsTable): FileObjectRecord {
  return {
    digest: row.object_digest as Digest,
    sizeBytes: Number(row.size_bytes),
    chunkCount: Number(row.chunk_count),
    depth: Number(row.depth),
    createdAt: Number(row.created_ms),
  };
}

export function toProfileRow(profile: TableProfileRecord): DataTableProfilesTable {
  return {
    object_digest: profile.objectDigest,
    format: profile.format,
    status: profile.status,
    profile_json:
      profile.profile === null || profile.profile === undefined ? null : JSON.stringify(profile.profile),
    error: profile.error,
    updated_ms: profile.updatedAt,
  };
}

export function toProfile(row: DataTableProfilesTable): TableProfileRecord {
  let profile: unknown = null;
  if (row.profile_json !== null) {
    try {
      profile = JSON.parse(row.profile_json);
    } catch (error) {
      throw new CairnError('INTERNAL', `table profile of ${row.object_digest} is not valid JSON`, {
        cause: error,
      });
    }
  }
  return {
    objectDigest: row.object_digest as Digest,
    format: row.format as TableFormat,
    status: row.status as ProfileStatus,
    profile,
    error: row.error,
    updatedAt: Number(row.updated_ms),
  };
}

export function toUploadRow(upload: UploadRecord): DataUploadsTable {
  return {
    upload_id: upload.uploadId,
    dataset_id: upload.datasetId,
    parent_version: upload.parentVersion,
    created_by: upload.createdBy,
    created_ms: upload.createdAt,
    touched_ms: upload.touchedAt,
    bytes_new: upload.bytesNew,
  };
}

export function toUpload(row: DataUploadsTable): UploadRecord {
  return {
    uploadId: row.upload_id,
    datasetId: row.dataset_id,
    parentVersion: row.parent_version === null ? null : Number(row.parent_version),
    createdBy: row.created_by,
    createdAt: Number(row.created_ms),
    touchedAt: Number(row.touched_ms),
    bytesNew: Number(row.bytes_new),
  };
}
