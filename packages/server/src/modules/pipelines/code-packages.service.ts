import { Readable } from 'node:stream';
import { CairnError, encodeFileTree, parseTreeFrames, type FileTreeEntry } from '@cairn/contract';
import type { AccessControl } from '../governance/index.js';
import type { BlobStore } from '../artifacts/index.js';

export interface StoredCodePackage {
  digest: string;
  files: number;
  sizeBytes: number;
}

const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Stores a pipeline's code package: each file as a blob, then the tree
 * manifest, whose digest the run names. Content-addressed, so uploading the
 * same folder twice stores nothing new and yields the same digest.
 */
export class CodePackagesService {
  constructor(private readonly deps: { blobs: BlobStore; access: AccessControl }) {}

  async store(input: { body: Uint8Array; project?: unknown }): Promise<StoredCodePackage> {
    const projectId =
      input.project === undefined || input.project === '' ? 'default' : (input.project as string);
    if (typeof projectId !== 'string' || !PROJECT.test(projectId)) {
      throw new CairnError('INVALID_ARGUMENT', 'project must be 1–128 letters, digits, ".", "_" or "-"', {
        field: 'project',
      });
    }
    this.deps.access.require('write', projectId, {
      action: 'pipelines.code.upload',
      target: { kind: 'project', id: projectId },
    });
    let frames;
    try {
      frames = parseTreeFrames(input.body);
    } catch (error) {
      throw new CairnError('INVALID_ARGUMENT', `The code package is malformed: ${(error as Error).message}`);
    }
    const entries: FileTreeEntry[] = [];
    let sizeBytes = 0;
    for (const frame of frames) {
      const stored = await this.deps.blobs.put(Readable.from([Buffer.from(frame.content)]));
      entries.push({
        path: frame.path,
        digest: stored.digest,
        sizeBytes: stored.sizeBytes,
        executable: frame.executable,
      });
      sizeBytes += stored.sizeBytes;
    }
    let manifest: string;
    try {
      manifest = encodeFileTree(entries);
    } catch (error) {
      throw new CairnError('INVALID_ARGUMENT', `The code package is malformed: ${(error as Error).message}`);
    }
    const stored = await this.deps.blobs.put(Readable.from([Buffer.from(manifest)]));
    return { digest: stored.digest, files: entries.length, sizeBytes };
  }
}
