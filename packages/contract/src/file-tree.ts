/**
 * A directory stored by content: a manifest listing each file's relative
 * path, digest, size and executable bit, itself stored as a blob. A code
 * package and a directory output are both file trees; the tree's digest is
 * the digest of its canonical manifest text, so equal trees have equal
 * digests wherever they were made.
 */

export const FILE_TREE_FORMAT = 'cairn.tree/1';

export interface FileTreeEntry {
  /** Relative, `/`-separated, normalised: no `.`/`..` segments, no leading or doubled `/`. */
  path: string;
  digest: string;
  sizeBytes: number;
  executable: boolean;
}

export interface FileTree {
  format: typeof FILE_TREE_FORMAT;
  /** Sorted by path (code unit order), no duplicates, no path that is a prefix directory of another. */
  files: FileTreeEntry[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_PATH_LENGTH = 1024;

/** Why a relative path is not acceptable in a tree, or undefined when it is. */
export function treePathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\\')) return 'contains a backslash';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'contains a control character';
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a '${segment}' segment`;
  }
  return undefined;
}

/** The canonical manifest text: sorted entries, fixed key order, no spaces. */
export function encodeFileTree(entries: readonly FileTreeEntry[]): string {
  const files = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const problem = fileTreeProblem(files);
  if (problem !== undefined) throw new Error(`not a valid file tree: ${problem}`);
  const tree: FileTree = {
    format: FILE_TREE_FORMAT,
    files: files.map((f) => ({
      path: f.path,
      digest: f.digest,
      sizeBytes: f.sizeBytes,
      executable: f.executable,
    })),
  };
  return JSON.stringify(tree);
}

/** Parses and checks a manifest; throws an Error naming the first problem. */
export function parseFileTree(text: string): FileTree {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('not a file tree: the manifest is not JSON');
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as { format?: unknown }).format !== FILE_TREE_FORMAT
  ) {
    throw new Error(`not a file tree: the manifest's format is not ${FILE_TREE_FORMAT}`);
  }
  const files = (value as { files?: unknown }).files;
  if (!Array.isArray(files)) throw new Error('not a file tree: files is not a list');
  const entries: FileTreeEntry[] = files.map((raw: unknown, i) => {
    const f = raw as Partial<FileTreeEntry> | null;
    if (
      f === null ||
      typeof f !== 'object' ||
      typeof f.path !== 'string' ||
      typeof f.digest !== 'string' ||
      !DIGEST.test(f.digest) ||
      typeof f.sizeBytes !== 'number' ||
      !Number.isSafeInteger(f.sizeBytes) ||
      f.sizeBytes < 0 ||
      typeof f.executable !== 'boolean'
    ) {
      throw new Error(`not a file tree: entry ${i} is malformed`);
    }
    return { path: f.path, digest: f.digest, sizeBytes: f.sizeBytes, executable: f.executable };
  });
  const problem = fileTreeProblem(entries);
  if (problem !== undefined) throw new Error(`not a file tree: ${problem}`);
  return { format: FILE_TREE_FORMAT, files: entries };
}

function fileTreeProblem(sorted: readonly FileTreeEntry[]): string | undefined {
  const paths = new Set<string>();
  for (let i = 0; i < sorted.length; i += 1) {
    const entry = sorted[i] as FileTreeEntry;
    const pathProblem = treePathProblem(entry.path);
    if (pathProblem !== undefined) return `path ${JSON.stringify(entry.path)} ${pathProblem}`;
    const previous = sorted[i - 1];
    if (previous !== undefined && previous.path >= entry.path) {
      return `paths are not sorted and unique at ${JSON.stringify(entry.path)}`;
    }
    paths.add(entry.path);
  }
  for (const path of paths) {
    for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
      const parent = path.slice(0, slash);
      if (paths.has(parent)) return `${JSON.stringify(parent)} is both a file and a directory`;
    }
  }
  return undefined;
}
