import type { Digest } from '../artifacts/index.js';

/** A named history of versions, owned by a project. */
export interface DatasetRecord {
  datasetId: string;
  projectId: string;
  name: string;
  description: string;
  /** Highest version number handed out (numbers are never reused). */
  lastVersion: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

/** How a chunk's bytes sit in its pack. */
export type ChunkEncoding = 'raw' | 'lz4' | 'delta';
export const CHUNK_ENCODINGS: readonly ChunkEncoding[] = ['raw', 'lz4', 'delta'];

/**
 * A chunk, named by the sha256 of its plain bytes. `depth` is 0 for a chunk
 * stored on its own and 1 + its base object's depth for a delta, so the
 * work of reading any chunk is bounded by `MAX_DELTA_DEPTH`.
 */
export interface ChunkRecord {
  digest: Digest;
  sizeBytes: number;
  packDigest: Digest;
  packOffset: number;
  storedBytes: number;
  encoding: ChunkEncoding;
  /** For a delta: the file object whose bytes the delta copies from. */
  baseObject: Digest | null;
  depth: number;
  createdAt: number;
}

/** One chunk of a file object, in file order. */
export interface ObjectChunk {
  digest: Digest;
  offset: number;
  sizeBytes: number;
}

/** A file's content: its sha256 (what `sha256sum` prints) and the chunks that make it. */
export interface FileObjectRecord {
  digest: Digest;
  sizeBytes: number;
  chunkCount: number;
  /** The deepest delta chain among its chunks (0 when none is a delta). */
  depth: number;
  createdAt: number;
}

export interface PackRecord {
  digest: Digest;
  sizeBytes: number;
  createdAt: number;
}

/** A file in a version's manifest. */
export interface VersionFile {
  path: string;
  digest: Digest;
  sizeBytes: number;
  /** POSIX permission bits (0o644, 0o755). */
  mode: number;
}

/** A version is like a commit: immutable once written. */
export interface DatasetVersionRecord {
  versionId: string;
  datasetId: string;
  version: number;
  parentVersion: number | null;
  message: string;
  author: string;
  createdAt: number;
  /** sha256 over the sorted manifest: equal digests mean equal content. */
  digest: Digest;
  fileCount: number;
  sizeBytes: number;
  /** Bytes physically added to the store by this version's add. */
  bytesNew: number;
}

export type ProfileStatus = 'pending' | 'done' | 'failed';
export type TableFormat = 'csv' | 'parquet' | 'jsonl';

/** Schema and statistics of a tabular file object, computed once per content. */
export interface TableProfileRecord {
  objectDigest: Digest;
  format: TableFormat;
  status: ProfileStatus;
  /** The profile document (contract `TableProfile`) when done. */
  profile: unknown;
  error: string | null;
  updatedAt: number;
}

/** An add in progress. */
export interface UploadRecord {
  uploadId: string;
  datasetId: string;
  parentVersion: number | null;
  createdBy: string;
  createdAt: number;
  touchedAt: number;
  bytesNew: number;
}
