import { createWriteStream } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CairnError } from '@cairn/contract';
import type { DatasetReadService, DatasetStore } from '../../modules/datasets/index.js';
import { runAsCaller, SYSTEM_CALLER } from '../../modules/governance/index.js';
import type { DatasetFiles } from './step-workspace.js';

/**
 * Lays a dataset version out as files for a local step: every file of the
 * version, read through the datasets module (chunks verified), with its mode.
 * The run already checked the caller could read the dataset when it pinned it.
 */
export class DatasetVersionFiles implements DatasetFiles {
  constructor(private readonly deps: { store: DatasetStore; reads: DatasetReadService }) {}

  async materialize(input: { dataset: string; versionId: string; targetDir: string }): Promise<void> {
    const [version] = await this.deps.store.getVersionsByIds([input.versionId]);
    if (version === undefined)
      throw new CairnError('NOT_FOUND', `dataset version ${input.versionId} is gone`);
    const root = path.resolve(input.targetDir);
    await mkdir(root, { recursive: true });
    for (const file of await this.deps.store.allVersionFiles(input.versionId)) {
      const target = path.resolve(root, file.path);
      if (!target.startsWith(`${root}${path.sep}`)) {
        throw new CairnError('DATA_LOSS', `dataset file path ${file.path} leaves its folder`);
      }
      await mkdir(path.dirname(target), { recursive: true });
      const content = await runAsCaller(SYSTEM_CALLER, () =>
        this.deps.reads.openContent({ name: input.dataset, ref: String(version.version), path: file.path }),
      );
      await pipeline(Readable.from(content.body), createWriteStream(target));
      await chmod(target, file.mode & 0o777);
    }
  }
}
