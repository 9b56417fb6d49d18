import { createReadStream, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CairnError } from '@cairn/contract';
import type { RunsResource } from './runs.js';

/**
 * Artifact uploads from the local disk (Node only; loaded on first use so the
 * rest of the SDK needs no `node:fs`). Files are streamed, never read whole.
 */

const UPLOAD_CONCURRENCY = 4;

/** `a/b` + `c.txt` → `a/b/c.txt`; surrounding slashes of the folder are dropped. */
function joinArtifact(folder: string | undefined, name: string): string {
  const base = (folder ?? '').replace(/^\/+|\/+$/g, '');
  return base === '' ? name : `${base}/${name}`;
}

/** The run the files go to. */
export interface UploadTarget {
  runs: RunsResource;
  runId: string;
}

async function uploadOne(
  { runs, runId }: UploadTarget,
  file: { localPath: string; sizeBytes: number; artifactPath: string },
): Promise<void> {
  await runs.uploadArtifact(runId, file.artifactPath, {
    body: () => createReadStream(file.localPath),
    sizeBytes: file.sizeBytes,
  });
}

export async function uploadFile(
  target: UploadTarget,
  localFile: string,
  artifactPath: string | undefined,
): Promise<void> {
  const info = await statOrThrow(localFile);
  if (!info.isFile()) {
    throw new CairnError('INVALID_ARGUMENT', `${localFile} is not a file; use logArtifacts() for a folder`, {
      field: 'localFile',
    });
  }
  await uploadOne(target, {
    localPath: localFile,
    sizeBytes: info.size,
    artifactPath: joinArtifact(artifactPath, path.basename(localFile)),
  });
}

export async function uploadFolder(
  target: UploadTarget,
  localDir: string,
  artifactPath: string | undefined,
): Promise<void> {
  const info = await statOrThrow(localDir);
  if (!info.isDirectory()) {
    throw new CairnError('INVALID_ARGUMENT', `${localDir} is not a folder; use logArtifact() for a file`, {
      field: 'localDir',
    });
  }
  const files: Array<{ localPath: string; sizeBytes: number; artifactPath: string }> = [];
  for await (const file of walk(localDir, '')) {
    files.push({ ...file, artifactPath: joinArtifact(artifactPath, file.relative) });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++];
      if (file !== undefined) await uploadOne(target, file);
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, files.length) }, worker));
}

/** Regular files below `dir`, depth first in name order; symlinks to files are followed, to folders not. */
export async function* walk(
  dir: string,
  relative: string,
): AsyncGenerator<{ localPath: string; sizeBytes: number; relative: string }> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const localPath = path.join(dir, entry.name);
    const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      yield* walk(localPath, rel);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      const info = await stat(localPath).catch(() => undefined);
      if (info?.isFile() === true) yield { localPath, sizeBytes: info.size, relative: rel };
    }
  }
}

export async function statOrThrow(localPath: string): Promise<Stats> {
  try {
    return await stat(localPath);
  } catch (error) {
    throw new CairnError('NOT_FOUND', `${localPath} does not exist or cannot be read`, {
      field: 'localPath',
      cause: error,
    });
  }
}
