import { createHash } from 'node:crypto';
import { CairnError, parseFileTree, type FileTree, type FileTreeEntry } from '@cairn/contract';
import picomatch from 'picomatch';
import { isDigest, type BlobStore } from '../artifacts/index.js';

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const KEPT_TREES = 32;

/**
 * Reads code packages (file-tree manifests in the blob store) and answers
 * which digest a step's code has: the whole package's, or, when the step
 * names globs, a digest over just the files they match — so editing one
 * script re-runs only the steps that use it.
 */
export class CodeTrees {
  private readonly trees = new Map<string, Promise<FileTree>>();

  constructor(private readonly blobs: BlobStore) {}

  /** The package's manifest; NOT_FOUND / INVALID_ARGUMENT when the digest names no valid package. */
  async tree(digest: string): Promise<FileTree> {
    let loading = this.trees.get(digest);
    if (loading === undefined) {
      loading = this.load(digest);
      this.trees.set(digest, loading);
      loading.catch(() => this.trees.delete(digest));
      if (this.trees.size > KEPT_TREES) this.trees.delete(this.trees.keys().next().value as string);
    }
    return loading;
  }

  /**
   * The digest of the code a step depends on. With `code` globs, the files they match. Without,
   * the files its command names (`python train.py` → train.py) and every file with the same
   * extension in the same folder as one of them (a script's local imports): editing a file no
   * step names — a README, an output written beside the pipeline — re-runs nothing.
   */
  async stepCodeDigest(
    packageDigest: string | null,
    step: { run: string; code: readonly string[] | null },
  ): Promise<string | null> {
    if (packageDigest === null) return null;
    const tree = await this.tree(packageDigest);
    const picked = step.code === null ? namedBy(step.run, tree) : globbed(step.code, tree);
    const entries = picked.map((file) => [file.path, file.digest, file.executable]);
    return `sha256:${createHash('sha256').update(JSON.stringify(entries)).digest('hex')}`;
  }

  private async load(digest: string): Promise<FileTree> {
    if (!isDigest(digest)) {
      throw new CairnError('INVALID_ARGUMENT', `"${digest}" is not a digest (sha256:<64 hex>).`, {
        field: 'codeDigest',
      });
    }
    const info = await this.blobs.stat(digest);
    if (info === undefined) {
      throw new CairnError('NOT_FOUND', `No code package ${digest} is stored; upload it first.`, {
        field: 'codeDigest',
      });
    }
    if (info.sizeBytes > MAX_MANIFEST_BYTES) {
      throw new CairnError('INVALID_ARGUMENT', `${digest} is too large to be a code package manifest.`, {
        field: 'codeDigest',
      });
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await this.blobs.get(digest)) chunks.push(chunk as Buffer);
    try {
      return parseFileTree(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `${digest} is not a code package: ${(error as Error).message}`,
        {
          field: 'codeDigest',
        },
      );
    }
  }
}

/** `src` and `src/` also mean everything under the folder `src`. */
function isFolderGlob(glob: string, path: string): boolean {
  const folder = glob.replace(/\/+$/, '');
  return !/[*?[\]{}]/.test(folder) && path.startsWith(`${folder}/`);
}

function globbed(globs: readonly string[], tree: FileTree): FileTreeEntry[] {
  const matches = picomatch([...globs], { dot: true });
  return tree.files.filter(
    (file) => matches(file.path) || globs.some((glob) => isFolderGlob(glob, file.path)),
  );
}

/** Words of a command that could be paths: split at blanks, quotes, shell operators and `=`. */
const WORD_SEPARATORS = /[\s;|&<>()'"`=,]+/;

function namedBy(run: string, tree: FileTree): FileTreeEntry[] {
  const byPath = new Map(tree.files.map((file) => [file.path, file]));
  const named = new Set<string>();
  const withoutTemplates = run.replace(/\{\{[^}]*\}\}/g, ' ');
  for (const word of withoutTemplates.split(WORD_SEPARATORS)) {
    const path = word.replace(/^(\.\/)+/, '');
    if (byPath.has(path)) named.add(path);
  }
  const neighbours = new Set<string>();
  for (const path of named) {
    const slash = path.lastIndexOf('/');
    const folder = slash < 0 ? '' : path.slice(0, slash + 1);
    const dot = path.lastIndexOf('.');
    if (dot <= slash + 1) continue;
    neighbours.add(`${folder}\u0000${path.slice(dot)}`);
  }
  return tree.files.filter((file) => {
    if (named.has(file.path)) return true;
    const slash = file.path.lastIndexOf('/');
    const folder = slash < 0 ? '' : file.path.slice(0, slash + 1);
    const dot = file.path.lastIndexOf('.');
    return dot > slash + 1 && neighbours.has(`${folder}\u0000${file.path.slice(dot)}`);
  });
}
