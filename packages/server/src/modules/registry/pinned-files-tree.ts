import type { ArtifactFile, ArtifactListing, ReadOnlyArtifactTree } from '../artifacts/index.js';
import type { AccessControl } from '../governance/index.js';
import type { PinnedFile } from './entities.js';
import type { RegistryStore } from './registry.store.js';

/**
 * Serves each version's pinned files at `_registry/<version id>/…` through the
 * artifact proxy, so MLflow clients download exactly the registered bytes
 * (verified against their digests) whatever happened to the run's artifacts.
 * Every read needs `read` in the model's project, like the registry's own
 * file routes: the artifact proxy is just another way in.
 */
export class PinnedFilesTree implements ReadOnlyArtifactTree {
  constructor(
    private readonly store: RegistryStore,
    private readonly clock: { now(): number },
    private readonly access: AccessControl,
  ) {}

  async getFile(path: string): Promise<ArtifactFile | undefined> {
    const { versionId, rest } = split(path);
    if (versionId === '' || rest === '') return undefined;
    await this.requireReadable(versionId);
    const file = await this.store.getFile(versionId, rest);
    return file === undefined ? undefined : this.toArtifact(versionId, file);
  }

  async isDir(path: string): Promise<boolean> {
    const { versionId, rest } = split(path);
    if (versionId === '') return true;
    await this.requireReadable(versionId);
    const files = await this.store.listFiles(versionId, rest);
    return files.some((f) => f.path !== rest);
  }

  async list(dir: string): Promise<ArtifactListing> {
    const { versionId, rest } = split(dir);
    if (versionId === '') return { files: [], dirs: [] };
    await this.requireReadable(versionId);
    const files: ArtifactFile[] = [];
    const dirs = new Set<string>();
    const base = rest === '' ? '' : `${rest}/`;
    for (const file of await this.store.listFiles(versionId, rest)) {
      if (file.path === rest) continue;
      const below = file.path.slice(base.length);
      const slash = below.indexOf('/');
      if (slash === -1) files.push(this.toArtifact(versionId, file));
      else dirs.add(`${versionId}/${base}${below.slice(0, slash)}`);
    }
    return { files, dirs: [...dirs] };
  }

  async listTree(dir: string): Promise<ArtifactFile[]> {
    const { versionId, rest } = split(dir);
    if (versionId === '') return [];
    await this.requireReadable(versionId);
    return (await this.store.listFiles(versionId, rest)).map((f) => this.toArtifact(versionId, f));
  }

  /** An unknown version passes: it has no files, so the caller sees nothing either way. */
  private async requireReadable(versionId: string): Promise<void> {
    if (this.access.caller().isAdmin) return;
    const projectId = await this.store.projectOfVersion(versionId);
    if (projectId === undefined) return;
    this.access.require('read', projectId, {
      action: 'model_versions.download',
      target: { kind: 'model_version', id: versionId },
    });
  }

  private toArtifact(versionId: string, file: PinnedFile): ArtifactFile {
    return {
      path: `${versionId}/${file.path}`,
      digest: file.digest,
      sizeBytes: file.sizeBytes,
      createdAt: this.clock.now(),
    };
  }
}

function split(path: string): { versionId: string; rest: string } {
  const slash = path.indexOf('/');
  return slash === -1
    ? { versionId: path, rest: '' }
    : { versionId: path.slice(0, slash), rest: path.slice(slash + 1) };
}
