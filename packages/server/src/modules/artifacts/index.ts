export type { BlobStore, BlobInfo, Digest, PutResult } from './blob.store.js';
export { isDigest, DIGEST_PATTERN } from './blob.store.js';
export type {
  ArtifactFile,
  ArtifactIndexStore,
  ArtifactListing,
  ArtifactStores,
} from './artifact-index.store.js';
export { ArtifactService } from './artifacts.service.js';
export type { ReadOnlyArtifactTree } from './read-only-tree.js';
export type { ArtifactOwner, ArtifactOwnerResolver } from './artifact-access.js';
export type { ArtifactDownload, ArtifactEntryRecord, ArtifactServiceDeps } from './artifacts.service.js';
export { normalizeArtifactPath, joinArtifactPath, parentOf, ancestorsOf, baseName } from './artifact-path.js';
export { sendArtifact } from './mlflow-artifacts.routes.js';
