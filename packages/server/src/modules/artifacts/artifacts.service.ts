import type { Readable } from 'node:stream';
import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { AccessControl, AuditStores, Permission } from '../governance/index.js';
import {
  artifactTarget,
  ownerProject,
  requireArtifactAccess,
  type ArtifactOwner,
  type ArtifactOwnerResolver,
} from './artifact-access.js';
import type { ArtifactFile, ArtifactIndexStore, ArtifactStores } from './artifact-index.store.js';
import { ancestorsOf, baseName, joinArtifactPath, normalizeArtifactPath } from './artifact-path.js';
import type { BlobStore, Digest } from './blob.store.js';
import type { ReadOnlyArtifactTree } from './read-only-tree.js';

export interface ArtifactEntryRecord {
  /** Path relative to the listed folder's root argument (see `list`). */
  path: string;
  isDir: boolean;
  sizeBytes?: number;
  digest?: string;
}

export interface ArtifactDownload {
  file: ArtifactFile;
  stream: Readable;
}

export interface ArtifactServiceDeps {
  blobs: BlobStore;
  index: ArtifactIndexStore;
  transactor: Transactor<ArtifactStores & AuditStores>;
  clock: Clock;
  access: AccessControl;
  /** Maps a path to the project (or staging area) that owns it; see ArtifactOwner. */
  ownerOf: ArtifactOwnerResolver;
}

/**
 * Artifacts are files at paths, each a pointer to a content-addressed blob.
 * The bytes are written before the transaction that indexes them: a failed
 * transaction leaves only an unreferenced blob, never a dangling path.
 * Every operation checks the caller's permission on the path's owner first
 * (reads need `read`, uploads and deletes `write`), so the MLflow artifact
 * proxy, the native run routes and the registry's file routes obey the same
 * rules.
 */
export class ArtifactService {
  private readonly mounts = new Map<string, ReadOnlyArtifactTree>();

  constructor(private readonly deps: ArtifactServiceDeps) {}

  /** Serves `tree` read-only at the top-level folder `prefix`; writes there are refused. */
  mountReadOnly(prefix: string, tree: ReadOnlyArtifactTree): void {
    this.mounts.set(normalizeArtifactPath(prefix, 'prefix'), tree);
  }

  /** The mount holding `path`, with the path relative to it. */
  private mounted(path: string): { tree: ReadOnlyArtifactTree; prefix: string; rest: string } | undefined {
    const [first = ''] = path.split('/', 1);
    const tree = this.mounts.get(first);
    return tree === undefined ? undefined : { tree, prefix: first, rest: path.slice(first.length + 1) };
  }

  private refuseMounted(path: string): void {
    const mount = this.mounted(path);
    if (mount === undefined) return;
    throw new CairnError(
      'PERMISSION_DENIED',
      `"${mount.prefix}/" holds pinned, read-only files; "${path}" cannot be changed (register a new model version instead)`,
      { field: 'path' },
    );
  }

  /** Checks the caller may act on the path; returns its owner for the audit event. */
  private async authorize(path: string, permission: Permission, action: string): Promise<ArtifactOwner> {
    const owner = await this.deps.ownerOf(path);
    requireArtifactAccess(this.deps.access, owner, { permission, action, path });
    return owner;
  }

  private async getFile(path: string): Promise<ArtifactFile | undefined> {
    const mount = this.mounted(path);
    if (mount === undefined) return this.deps.index.getFile(path);
    const file = await mount.tree.getFile(mount.rest);
    return file === undefined ? undefined : { ...file, path: `${mount.prefix}/${file.path}` };
  }

  private async isDir(path: string): Promise<boolean> {
    const mount = this.mounted(path);
    return mount === undefined ? this.deps.index.isDir(path) : mount.tree.isDir(mount.rest);
  }

  private async listDir(dir: string): Promise<{ files: ArtifactFile[]; dirs: string[] }> {
    const mount = this.mounted(dir);
    if (mount === undefined) return this.deps.index.list(dir);
    const listing = await mount.tree.list(mount.rest);
    return {
      files: listing.files.map((f) => ({ ...f, path: `${mount.prefix}/${f.path}` })),
      dirs: listing.dirs.map((d) => `${mount.prefix}/${d}`),
    };
  }

  async upload(rawPath: unknown, body: Readable | AsyncIterable<Uint8Array>): Promise<ArtifactFile> {
    const path = normalizeArtifactPath(rawPath);
    if (path === '')
      throw new CairnError('INVALID_ARGUMENT', 'path must name a file, not the root', { field: 'path' });
    const owner = await this.authorize(path, 'write', 'artifacts.upload');
    await this.assertFileSlot(path);
    const stored = await this.deps.blobs.put(body);
    return this.record(path, owner, stored);
  }

  /**
   * Files bytes already in the blob store under an artifact path (a pipeline
   * step's logs), without reading them again. NOT_FOUND when the blob is absent.
   */
  async attach(rawPath: unknown, blob: { digest: Digest }): Promise<ArtifactFile> {
    const path = normalizeArtifactPath(rawPath);
    if (path === '')
      throw new CairnError('INVALID_ARGUMENT', 'path must name a file, not the root', { field: 'path' });
    const owner = await this.authorize(path, 'write', 'artifacts.upload');
    await this.assertFileSlot(path);
    const stored = await this.deps.blobs.stat(blob.digest);
    if (stored === undefined) throw new CairnError('NOT_FOUND', `No blob ${blob.digest} is stored.`);
    return this.record(path, owner, stored);
  }

  /** A file may be written at `path`: not mounted, not a folder, and no file where a folder on its way must be. */
  private async assertFileSlot(path: string): Promise<void> {
    this.refuseMounted(path);
    if (await this.deps.index.isDir(path)) {
      throw new CairnError('INVALID_ARGUMENT', `"${path}" is a folder; upload to a path inside it`, {
        field: 'path',
      });
    }
    for (const folder of ancestorsOf(path)) {
      if ((await this.deps.index.getFile(folder)) !== undefined) {
        throw new CairnError(
          'INVALID_ARGUMENT',
          `"${folder}" is a file, so "${path}" cannot be created under it`,
          {
            field: 'path',
          },
        );
      }
    }
  }

  private async record(
    path: string,
    owner: ArtifactOwner,
    stored: { digest: Digest; sizeBytes: number },
  ): Promise<ArtifactFile> {
    const file: ArtifactFile = {
      path,
      digest: stored.digest,
      sizeBytes: stored.sizeBytes,
      createdAt: this.deps.clock.now(),
    };
    await this.deps.transactor.run(async ({ artifacts, audit }) => {
      await artifacts.putFile(file);
      audit.record({
        action: 'artifacts.upload',
        target: artifactTarget(path),
        projectId: ownerProject(owner),
        details: { digest: file.digest, sizeBytes: file.sizeBytes },
      });
    });
    return file;
  }

  async stat(rawPath: unknown): Promise<ArtifactFile | undefined> {
    const path = normalizeArtifactPath(rawPath);
    await this.authorize(path, 'read', 'artifacts.get');
    return this.getFile(path);
  }

  async download(rawPath: unknown): Promise<ArtifactDownload> {
    const path = normalizeArtifactPath(rawPath);
    await this.authorize(path, 'read', 'artifacts.download');
    const file = await this.getFile(path);
    if (file === undefined) {
      const isDir = path !== '' && (await this.isDir(path));
      throw new CairnError(
        isDir ? 'INVALID_ARGUMENT' : 'NOT_FOUND',
        isDir ? `"${path}" is a folder, not a file` : `no artifact at "${path}"`,
        { field: 'path' },
      );
    }
    return { file, stream: await this.deps.blobs.get(file.digest) };
  }

  /**
   * Lists one folder. `root` is the part of the path entries are reported
   * relative to (a run's artifact root); `path` is below it.
   */
  async list(options: { root?: string; path?: unknown }): Promise<ArtifactEntryRecord[]> {
    const root = options.root === undefined ? '' : normalizeArtifactPath(options.root, 'root');
    const relative = normalizeArtifactPath(options.path);
    const dir = joinArtifactPath(root, relative);
    await this.authorize(dir, 'read', 'artifacts.list');
    const single = dir === '' ? undefined : await this.getFile(dir);
    if (single !== undefined) return [];
    const listing = await this.listDir(dir);
    const strip = (full: string): string => (root === '' ? full : full.slice(root.length + 1));
    const entries: ArtifactEntryRecord[] = [
      ...listing.dirs.map((d) => ({ path: strip(d), isDir: true })),
      ...listing.files.map((f) => ({
        path: strip(f.path),
        isDir: false,
        sizeBytes: f.sizeBytes,
        digest: f.digest,
      })),
    ];
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return entries;
  }

  async listTree(rawPath: unknown): Promise<ArtifactFile[]> {
    const path = normalizeArtifactPath(rawPath);
    await this.authorize(path, 'read', 'artifacts.list');
    const mount = this.mounted(path);
    if (mount === undefined) return this.deps.index.listTree(path);
    const files = await mount.tree.listTree(mount.rest);
    return files.map((f) => ({ ...f, path: `${mount.prefix}/${f.path}` }));
  }

  async delete(rawPath: unknown): Promise<number> {
    const path = normalizeArtifactPath(rawPath);
    if (path === '')
      throw new CairnError('INVALID_ARGUMENT', 'refusing to delete the artifact root', { field: 'path' });
    const owner = await this.authorize(path, 'write', 'artifacts.delete');
    this.refuseMounted(path);
    const removed = await this.deps.transactor.run(async ({ artifacts, audit }) => {
      const count = await artifacts.deleteTree(path);
      if (count > 0) {
        audit.record({
          action: 'artifacts.delete',
          target: artifactTarget(path),
          projectId: ownerProject(owner),
          details: { files: count },
        });
      }
      return count;
    });
    if (removed === 0) throw new CairnError('NOT_FOUND', `no artifact at "${path}"`, { field: 'path' });
    return removed;
  }
}

export { baseName };
