import type { Digest } from './blob.store.js';

export interface ArtifactFile {
  /** Full path from the artifact root, e.g. `1/<run>/artifacts/model/model.onnx`. */
  path: string;
  digest: Digest;
  sizeBytes: number;
  createdAt: number;
}

export interface ArtifactListing {
  files: ArtifactFile[];
  /** Full paths of the immediate sub-folders. */
  dirs: string[];
}

/** Maps artifact paths to blob digests; the bytes live in the BlobStore. */
export interface ArtifactIndexStore {
  putFile(file: ArtifactFile): Promise<void>;
  getFile(path: string): Promise<ArtifactFile | undefined>;
  isDir(path: string): Promise<boolean>;
  list(dir: string): Promise<ArtifactListing>;
  /** Every file at or below the path (a folder's whole tree). */
  listTree(dir: string): Promise<ArtifactFile[]>;
  /** Removes the file at `path`, or everything below the folder `path`; returns how many files went. */
  deleteTree(path: string): Promise<number>;
}

export interface ArtifactStores {
  artifacts: ArtifactIndexStore;
}
