import { createHash } from 'node:crypto';
import { constants, createReadStream, type Stats } from 'node:fs';
import { access, lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { CairnError } from '@cairn/contract';

/**
 * Which local files a `cairn data add` takes, and the path each gets in the
 * version (Node only).
 *
 * Every argument is a file, a folder (taken recursively) or a glob (`*` and
 * `?` within a path segment, `**` for any number of folders). Version paths
 * are POSIX paths relative to one common root: the deepest folder holding
 * every argument's anchor, where the anchor of
 *  - a file is its folder (`data/train.csv` alone → `train.csv`);
 *  - a folder is its parent (`data` → `data/train.csv`, `data/sub/x.csv`), or
 *    the folder itself when written with a trailing `/` or as `.` (rsync's
 *    convention: `data/` → `train.csv`);
 *  - a glob is the folder before its first wildcard (`data/*.csv` →
 *    `train.csv`, as if the shell had expanded it).
 *
 * Refused before anything is sent: missing or unreadable paths, globs that
 * match nothing, links that resolve outside their argument's anchor, sockets,
 * FIFOs and devices. Links to files inside are taken as the files they point
 * at; links to folders are not followed (their files are reached by their
 * real paths). As in git, only the executable bit of the mode is kept.
 */

export interface LocalDataFile {
  /** Absolute path on this machine. */
  localPath: string;
  /** POSIX path in the version. */
  path: string;
  size: number;
  /** 0o755 or 0o644. */
  mode: number;
}

export interface ExpandedPaths {
  /** The folder version paths are relative to. */
  root: string;
  /** In path order. */
  files: LocalDataFile[];
}

const invalid = (message: string, cause?: unknown): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field: 'paths', ...(cause === undefined ? {} : { cause }) });

const WILDCARD = /[*?]/;
const SEPARATORS = path.sep === '/' ? /\/+/ : /[\\/]+/;

export function isGlob(text: string): boolean {
  return WILDCARD.test(text);
}

/** One glob segment as a regular expression; wildcards never match `/`, nor a leading dot. */
export function segmentPattern(segment: string): RegExp {
  let source = '';
  for (const ch of segment) {
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // Like the shell: `*` does not match `.hidden` unless the pattern itself starts with a dot.
  const hidden = segment.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${hidden}${source}$`);
}

/**
 * Whether a split relative path matches the glob segments (`**` = any number
 * of folders). With `partial`, whether some path below it could still match
 * (so a folder is worth searching).
 */
export function matchGlob(
  segments: readonly string[],
  relative: readonly string[],
  partial = false,
): boolean {
  const match = (si: number, ri: number): boolean => {
    if (partial && ri === relative.length) return si < segments.length;
    if (si === segments.length) return ri === relative.length;
    const segment = segments[si] ?? '';
    if (segment === '**') {
      for (let k = ri; k <= relative.length; k++) {
        if (k > ri && (relative[k - 1] ?? '').startsWith('.')) break;
        if (match(si + 1, k)) return true;
      }
      return false;
    }
    if (ri === relative.length) return false;
    return segmentPattern(segment).test(relative[ri] ?? '') && match(si + 1, ri + 1);
  };
  return match(0, 0);
}

/** `root`-relative POSIX path of `absolute`, refused when it would leave `root`. */
export function manifestPath(root: string, absolute: string): string {
  const relative = path.relative(root, absolute);
  const segments = relative.split(path.sep);
  if (
    relative === '' ||
    path.isAbsolute(relative) ||
    segments.some((s) => s === '..' || s === '.' || s === '')
  ) {
    throw invalid(`${absolute} is not inside ${root}: version paths must not contain ".." segments`);
  }
  return segments.join('/');
}

export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

interface Candidate {
  localPath: string;
  info: Stats;
}

/** The mode a version records: only the executable bit survives, as in git. */
export function normaliseMode(mode: number): number {
  return (mode & 0o100) !== 0 ? 0o755 : 0o644;
}

async function statArg(localPath: string, arg: string): Promise<Stats> {
  try {
    return await stat(localPath);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read' : String(code);
    throw invalid(`${arg} ${why}`, error);
  }
}

interface Collector {
  add(candidate: Candidate): void;
}

/**
 * Regular files below `dir`. Links are checked against `anchorReal` (the real
 * path of the argument's anchor): one resolving outside is an error.
 */
async function walkFolder(
  dir: string,
  scope: { anchor: string; anchorReal: string; into: Collector },
): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw invalid(`${dir} cannot be read (${(error as { code?: string }).code ?? 'error'})`, error);
  }
  for (const entry of entries) {
    const localPath = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await walkFolder(localPath, scope);
    } else {
      await takeEntry(localPath, scope);
    }
  }
}

async function takeEntry(
  localPath: string,
  scope: { anchor: string; anchorReal: string; into: Collector },
): Promise<void> {
  const own = await lstat(localPath);
  if (own.isSymbolicLink()) {
    let target: string;
    try {
      target = await realpath(localPath);
    } catch (error) {
      throw invalid(`${localPath} is a broken link`, error);
    }
    if (!isInside(scope.anchorReal, target)) {
      throw invalid(`${localPath} links to ${target}, outside ${scope.anchor}: refusing to add it`);
    }
    const info = await stat(target);
    if (info.isDirectory()) return;
    return takeFile(localPath, info, scope);
  }
  return takeFile(localPath, own, scope);
}

async function takeFile(
  localPath: string,
  info: Stats,
  scope: { anchor: string; into: Collector },
): Promise<void> {
  if (!info.isFile()) {
    throw invalid(`${localPath} is not a regular file (a socket, FIFO or device): refusing to add it`);
  }
  try {
    await access(localPath, constants.R_OK);
  } catch (error) {
    throw invalid(`${localPath} cannot be read`, error);
  }
  scope.into.add({ localPath, info });
}

/** The deepest folder holding all of `folders` (absolute paths). */
export function commonFolder(folders: readonly string[]): string {
  let common = folders[0] ?? path.resolve('.');
  for (const folder of folders.slice(1)) {
    while (!isInside(common, folder)) {
      const up = path.dirname(common);
      if (up === common) break;
      common = up;
    }
  }
  return common;
}

/** The folder before the first wildcard, and the glob segments from there. */
function splitGlob(pattern: string, cwd: string): { base: string; rest: string[] } {
  // Split before resolving: resolve would fold a `..` after a wildcard into the folders before it.
  const absolute = path.isAbsolute(pattern) ? pattern : `${cwd}${path.sep}${pattern}`;
  const segments = absolute.split(SEPARATORS).filter((s, i) => s !== '' || i === 0);
  const first = segments.findIndex((s) => isGlob(s));
  const rest = segments.slice(first);
  if (rest.some((s) => s === '..' || s === '.')) {
    throw invalid(`${pattern}: ".." and "." segments cannot follow a wildcard`);
  }
  return { base: path.resolve(segments.slice(0, first).join(path.sep) || path.sep), rest };
}

/** Adds what the glob matches; returns its anchor. */
async function expandGlob(pattern: string, scope: { cwd: string; into: Collector }): Promise<string> {
  const { base, rest } = splitGlob(pattern, scope.cwd);
  const info = await statArg(base, pattern);
  if (!info.isDirectory()) throw invalid(`${pattern}: ${base} is not a folder`);
  const anchorReal = await realpath(base);
  const found: string[] = [];
  const search = async (dir: string, relative: string[]): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
      throw invalid(`${dir} cannot be read`, error);
    });
    for (const entry of entries) {
      const rel = [...relative, entry.name];
      const localPath = path.join(dir, entry.name);
      if (matchGlob(rest, rel)) found.push(localPath);
      // Only real folders are searched: a link to a folder would reach files by a second path.
      else if (entry.isDirectory() && matchGlob(rest, rel, true)) await search(localPath, rel);
    }
  };
  await search(base, []);
  if (found.length === 0) throw invalid(`${pattern} matches no files`);
  const scopeFor = { anchor: base, anchorReal, into: scope.into };
  for (const localPath of found) {
    const own = await lstat(localPath);
    if (own.isDirectory()) await walkFolder(localPath, scopeFor);
    else await takeEntry(localPath, scopeFor);
  }
  return base;
}

/**
 * The files `args` name, each with its version path, in path order (see the
 * top of this file for the rules). Throws INVALID_ARGUMENT, reading nothing
 * more, at the first argument it must refuse.
 */
export async function expandPaths(
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<ExpandedPaths> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  if (args.length === 0) throw invalid('Give at least one file, folder or glob to add.');
  const byPath = new Map<string, Candidate>();
  const into: Collector = { add: (c) => void byPath.set(c.localPath, c) };
  const anchors: string[] = [];
  for (const arg of args) {
    if (arg === '') throw invalid('An empty path cannot be added.');
    const localPath = path.resolve(cwd, arg);
    // Checked without normalising: `data/*/../x` must not be taken as `data/x`.
    const raw = path.isAbsolute(arg) ? arg : `${cwd}${path.sep}${arg}`;
    const literal = await lstat(raw).then(
      () => true,
      () => false,
    );
    if (!literal && isGlob(arg)) {
      anchors.push(await expandGlob(arg, { cwd, into }));
      continue;
    }
    const info = await statArg(localPath, arg);
    if (info.isDirectory()) {
      const contentsOnly = arg === '.' || arg.endsWith('/') || arg.endsWith('/.') || arg.endsWith(path.sep);
      const anchor = contentsOnly ? localPath : path.dirname(localPath);
      anchors.push(anchor);
      await walkFolder(localPath, { anchor: localPath, anchorReal: await realpath(localPath), into });
    } else {
      const anchor = path.dirname(localPath);
      anchors.push(anchor);
      await takeEntry(localPath, { anchor, anchorReal: await realpath(anchor), into });
    }
  }
  const root = commonFolder(anchors);
  const files = [...byPath.values()].map((c) => ({
    localPath: c.localPath,
    path: manifestPath(root, c.localPath),
    size: c.info.size,
    mode: normaliseMode(c.info.mode),
  }));
  if (files.length === 0) throw invalid(`${args.join(' ')}: no files to add`);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { root, files };
}

// ── helpers shared by add and checkout ──

/** sha256 of a file's bytes, streamed, as `sha256:<hex>` (what `sha256sum` prints). */
export async function sha256File(localPath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(localPath)) hash.update(piece as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** Runs `work` over the items, `limit` at a time; the first failure stops new work and is thrown. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
