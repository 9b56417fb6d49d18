import { createHash } from 'node:crypto';
import { CairnError } from '@cairn/contract';
import type { ArtifactFile } from '../artifacts/index.js';
import type { PinnedFile } from './entities.js';
import type { ModelSource } from './model-source.js';

/** What resolving a source needs from tracking and artifacts (their services satisfy these). */
export interface RunLookup {
  getRun(runId: unknown): Promise<{ info: { runId: string; artifactUri: string; experimentId: string } }>;
}

export interface ArtifactLookup {
  stat(path: unknown): Promise<ArtifactFile | undefined>;
  listTree(path: unknown): Promise<ArtifactFile[]>;
}

/** More files than this in one version is almost certainly a mistake (a whole data folder). */
export const MAX_FILES_PER_VERSION = 100_000;

export interface ResolvedFiles {
  files: PinnedFile[];
  /** The run the files belong to, when the source says so. */
  runId: string | undefined;
}

/**
 * Turns a run or artifact source into the list of files to pin. Copying
 * another version (`models:/…`) is resolved by the version service, which
 * owns the registry store.
 */
export async function resolveArtifactFiles(
  source: Exclude<ModelSource, { kind: 'model' }>,
  deps: { runs: RunLookup; artifacts: ArtifactLookup },
): Promise<ResolvedFiles> {
  let root: string;
  let runId: string | undefined;
  if (source.kind === 'run') {
    const run = await deps.runs.getRun(source.runId);
    runId = run.info.runId;
    const runRoot = artifactPathOf(run.info.artifactUri);
    if (runRoot === undefined) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `source: run ${runId} keeps its artifacts at ${run.info.artifactUri}, which this server does not store`,
        { field: 'source' },
      );
    }
    root = [runRoot, source.path].filter((p) => p !== '').join('/');
  } else {
    root = source.path;
    runId = runIdFromArtifactPath(root);
  }
  if (root === '')
    throw new CairnError('INVALID_ARGUMENT', 'source: must name a file or folder, not the artifact root', {
      field: 'source',
    });
  const single = await deps.artifacts.stat(root);
  const found = single === undefined ? await deps.artifacts.listTree(root) : [single];
  if (found.length === 0) {
    throw new CairnError(
      'NOT_FOUND',
      `source: no artifacts at "${root}"; log the model before registering it`,
      {
        field: 'source',
      },
    );
  }
  if (found.length > MAX_FILES_PER_VERSION) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `source: ${found.length} files, at most ${MAX_FILES_PER_VERSION} per version`,
      {
        field: 'source',
      },
    );
  }
  const cut = single === undefined ? root.length + 1 : root.lastIndexOf('/') + 1;
  const files = found.map((f) => ({ path: f.path.slice(cut), digest: f.digest, sizeBytes: f.sizeBytes }));
  return { files: sortFiles(files), runId };
}

/** `mlflow-artifacts:/0/<run>/artifacts` → `0/<run>/artifacts`; undefined for a location elsewhere. */
export function artifactPathOf(uri: string): string | undefined {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/s.exec(uri);
  return match === null ? undefined : (match[1] ?? '').replace(/^\/+|\/+$/g, '');
}

export function runIdFromArtifactPath(path: string): string | undefined {
  return /^[^/]+\/([0-9a-f]{32})\/artifacts(?:\/|$)/.exec(path)?.[1];
}

export function sortFiles(files: PinnedFile[]): PinnedFile[] {
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One digest for the whole pinned set: two versions with the same files have the same digest. */
export function manifestDigest(files: readonly PinnedFile[]): `sha256:${string}` {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\t${f.digest}\n`);
  return `sha256:${hash.digest('hex')}`;
}
