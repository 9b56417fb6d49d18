import type { ArtifactFile, ArtifactListing } from './artifact-index.store.js';

/**
 * A tree of files another module owns and serves read-only through the
 * artifact routes (the registry's pinned model files). Paths given and
 * returned are relative to the mount point.
 */
export interface ReadOnlyArtifactTree {
  getFile(path: string): Promise<ArtifactFile | undefined>;
  isDir(path: string): Promise<boolean>;
  list(dir: string): Promise<ArtifactListing>;
  listTree(dir: string): Promise<ArtifactFile[]>;
}
