import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '@cairn/contract';
import type { ModelFiles } from '@cairn/serving';
import type { BlobStore } from '../artifacts/index.js';
import { runAsCaller, SYSTEM_CALLER } from '../governance/index.js';
import type { LiveRoute } from './entities.js';
import type { ModelVersionSource } from './serving-context.js';

/**
 * Model versions copied from the blob store to local disk for runtimes
 * that load from a path (onnxruntime, a command model's own files). A copy
 * lives under the version's content digest and appears only when every file
 * is in place and verified (the blob store checks each file's digest as it
 * streams), so a corrupted upload fails the load and nothing half-written is
 * ever loaded.
 */
export class ModelFileCache {
  readonly #dir: string;
  readonly #writing = new Map<string, Promise<void>>();

  constructor(private readonly deps: { blobs: BlobStore; models: ModelVersionSource; cacheDir: string }) {
    this.#dir = path.join(deps.cacheDir, 'models');
  }

  async materialize(route: Pick<LiveRoute, 'model' | 'version' | 'digest' | 'format'>): Promise<ModelFiles> {
    // Loading runs in the background for whoever changed the deployment; they were checked then.
    const files = await runAsCaller(SYSTEM_CALLER, () =>
      this.deps.models.listFiles(route.model, route.version),
    );
    const root = path.join(this.#dir, route.digest.replace(/^sha256:/, ''));
    if (!(await exists(root))) {
      let writing = this.#writing.get(root);
      if (writing === undefined) {
        writing = this.#write(root, files).finally(() => this.#writing.delete(root));
        this.#writing.set(root, writing);
      }
      await writing;
    }
    return { digest: route.digest, format: route.format, root, paths: files.map((f) => f.path) };
  }

  async #write(
    root: string,
    files: ReadonlyArray<{ path: string; digest: `sha256:${string}` }>,
  ): Promise<void> {
    const temp = `${root}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      for (const file of files) {
        const target = path.join(temp, ...file.path.split('/'));
        // Pinned paths are normalised at registration; this is the last guard against leaving the folder.
        if (!target.startsWith(temp + path.sep)) {
          throw new CairnError('DATA_LOSS', `model file path ${JSON.stringify(file.path)} leaves its folder`);
        }
        await mkdir(path.dirname(target), { recursive: true });
        await pipeline(await this.deps.blobs.get(file.digest), createWriteStream(target, { flags: 'wx' }));
      }
      await mkdir(temp, { recursive: true });
      await rename(temp, root).catch(async (error: NodeJS.ErrnoException) => {
        // Another process finished the same copy first: theirs is as good as ours.
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
        await rm(temp, { recursive: true, force: true });
      });
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      if (error instanceof CairnError) throw error;
      throw new CairnError('DATA_LOSS', `model files could not be copied: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

async function exists(dir: string): Promise<boolean> {
  return stat(dir).then(
    () => true,
    () => false,
  );
}
