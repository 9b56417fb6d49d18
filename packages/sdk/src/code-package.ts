import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CairnError, PIPELINE_LIMITS, treeFrameHeader, treePathProblem } from '@cairn/contract';

/**
 * The local-disk side of pipelines (Node only; `pipelines.ts` loads it on
 * first use): packing a code folder into one framed upload body
 * (`application/vnd.cairn.tree`), and writing step outputs to disk.
 *
 * Packing walks the folder without following links (each link is left out
 * and reported), leaves out what never belongs in code (`.git`,
 * `node_modules`, virtual environments, caches) and whatever `.cairnignore`
 * lists, and refuses a package over `PIPELINE_LIMITS.maxCodeFiles` files or
 * `maxCodeBytes` bytes with a message saying what to leave out.
 *
 * `.cairnignore` is read like `.gitignore`: one glob per line, `#` starts a
 * comment, a trailing `/` matches folders only, a leading `/` anchors the glob
 * at the folder root, `!` takes a path back in (not inside a folder already
 * left out), and the last matching line wins. A glob without a leading `/` is
 * tried against the relative path and against each of its segments, so
 * `data` leaves out every folder or file named data. Wildcards: `*` and `?`
 * within a segment (dotfiles included), `**` across segments, `[abc]`,
 * `[a-z]`, `[!abc]`; `\` escapes the next character.
 */

/** Left out of every code package, before `.cairnignore` is read. */
export const DEFAULT_CODE_IGNORES: readonly string[] = [
  '.git',
  'node_modules',
  '.cairn',
  '.venv',
  'venv',
  '__pycache__',
  '.DS_Store',
  '*.pyc',
  '.mypy_cache',
  '.pytest_cache',
];

export const CAIRNIGNORE = '.cairnignore';

export interface PackCodeOptions {
  /** More globs to leave out, read like `.cairnignore` lines (after it, so they win). */
  exclude?: readonly string[];
  /** Files to leave out, by path (the pipeline file itself, say); relative paths are taken from `dir`. */
  skip?: readonly string[];
}

export interface PackedFile {
  /** Relative, `/`-separated. */
  path: string;
  sizeBytes: number;
  executable: boolean;
}

/** Something in the folder that could not be packed. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface CodePackage {
  /** The folder packed (absolute). */
  root: string;
  /** The framed files, ready to upload; empty when there are no files. */
  body: Uint8Array;
  /** How many files. */
  files: number;
  /** Their bytes (content only). */
  sizeBytes: number;
  /** In path order (code units), as the manifest will list them. */
  entries: PackedFile[];
  /** Links and other entries left out, which the caller may want to mention. */
  skipped: SkippedEntry[];
}

// ── globs ──

function classSource(glob: string, start: number): { source: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (glob[i] === '!' || glob[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === ']' && !first) {
      return body === '' ? undefined : { source: `[${negate ? '^/' : ''}${body}]`, end: i };
    }
    first = false;
    if (ch === '/') return undefined;
    if (ch === '\\' && i + 1 < glob.length) {
      i++;
      body += `\\${glob[i] as string}`;
    } else body += ch.replace(/[\]\\^]/g, '\\$&');
  }
  return undefined;
}

/**
 * A glob as a regular expression over a whole `/`-separated relative path:
 * `*` and `?` stay inside a segment, `**` as a segment spans any number of
 * them, `[…]` is a character class; everything else is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    const atSegmentStart = i === 0 || glob[i - 1] === '/';
    if (
      ch === '*' &&
      glob[i + 1] === '*' &&
      atSegmentStart &&
      (i + 2 === glob.length || glob[i + 2] === '/')
    ) {
      if (i + 2 === glob.length) {
        source += '.*';
        i += 1;
      } else {
        source += '(?:[^/]*/)*';
        i += 2;
      }
    } else if (ch === '*') {
      source += '[^/]*';
      while (glob[i + 1] === '*') i++;
    } else if (ch === '?') {
      source += '[^/]';
    } else if (ch === '[') {
      const cls = classSource(glob, i);
      if (cls === undefined) source += '\\[';
      else {
        source += cls.source;
        i = cls.end;
      }
    } else if (ch === '\\' && i + 1 < glob.length) {
      i++;
      source += (glob[i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

export interface IgnoreRule {
  pattern: RegExp;
  /** `!` lines take paths back in. */
  negate: boolean;
  /** A trailing `/`: folders only. */
  dirOnly: boolean;
  /** A leading `/`: the whole relative path only, never a segment. */
  anchored: boolean;
}

/** The rules of `.cairnignore`-style lines; blank lines and `#` comments give none. */
export function parseIgnoreLines(lines: readonly string[]): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of lines) {
    let line = raw.replace(/\r$/, '');
    if (!line.endsWith('\\ ')) line = line.replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1);
    } else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.replace(/\/+$/, '');
    const anchored = line.startsWith('/');
    if (anchored) line = line.replace(/^\/+/, '');
    if (line === '') continue;
    rules.push({ pattern: globToRegExp(line), negate, dirOnly, anchored });
  }
  return rules;
}

/** Whether the rules leave out `relative` (a file, or a folder when `isDir`): the last matching rule decides. */
export function isIgnored(rules: readonly IgnoreRule[], relative: string, isDir: boolean): boolean {
  const name = relative.slice(relative.lastIndexOf('/') + 1);
  let ignored = false;
  for (const rule of rules) {
    if (rule.dirOnly && !isDir) continue;
    if (rule.pattern.test(relative) || (!rule.anchored && rule.pattern.test(name))) ignored = !rule.negate;
  }
  return ignored;
}

// ── packing ──

interface Found extends PackedFile {
  localPath: string;
}

// Far past the limit the count is enough to refuse; walking on would only cost time.
const STOP_WALK_AT = PIPELINE_LIMITS.maxCodeFiles * 4;

const byPath = (a: { path: string }, b: { path: string }): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The biggest top-level entries, to say where the bulk is. */
function largestParts(found: readonly Found[], by: 'files' | 'bytes'): string {
  const parts = new Map<string, { files: number; bytes: number; dir: boolean }>();
  for (const f of found) {
    const slash = f.path.indexOf('/');
    const top = slash < 0 ? f.path : f.path.slice(0, slash);
    const part = parts.get(top) ?? { files: 0, bytes: 0, dir: slash >= 0 };
    part.files++;
    part.bytes += f.sizeBytes;
    parts.set(top, part);
  }
  return [...parts]
    .sort((a, b) => (by === 'files' ? b[1].files - a[1].files : b[1].bytes - a[1].bytes))
    .slice(0, 5)
    .map(([name, p]) => `${name}${p.dir ? '/' : ''} (${p.files} files, ${formatSize(p.bytes)})`)
    .join(', ');
}

function tooLarge(
  root: string,
  what: string,
  parts: { found: readonly Found[]; by: 'files' | 'bytes' },
): CairnError {
  return new CairnError(
    'PAYLOAD_TOO_LARGE',
    `The code folder ${root} ${what}. The largest parts: ${largestParts(parts.found, parts.by)}. ` +
      `List what the steps do not need as code (data, outputs, environments) in ${path.join(root, CAIRNIGNORE)}, ` +
      'one glob per line such as data/ or *.csv, and run again.',
    { field: 'codeDir' },
  );
}

async function readRules(root: string, exclude: readonly string[]): Promise<IgnoreRule[]> {
  let text = '';
  try {
    text = await readFile(path.join(root, CAIRNIGNORE), 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  return parseIgnoreLines([...DEFAULT_CODE_IGNORES, ...text.split('\n'), ...exclude]);
}

async function walkCode(
  root: string,
  scope: { rules: readonly IgnoreRule[]; skip: ReadonlySet<string> },
): Promise<{ found: Found[]; skipped: SkippedEntry[] }> {
  const found: Found[] = [];
  const skipped: SkippedEntry[] = [];
  const walk = async (dir: string, relative: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (found.length > STOP_WALK_AT) return;
      const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const localPath = path.join(dir, entry.name);
      if (isIgnored(scope.rules, rel, entry.isDirectory())) continue;
      const problem = treePathProblem(rel);
      if (entry.isSymbolicLink())
        skipped.push({ path: rel, reason: 'a symbolic link (links are not followed)' });
      else if (problem !== undefined) skipped.push({ path: rel, reason: `the path ${problem}` });
      else if (entry.isDirectory()) await walk(localPath, rel);
      else if (!entry.isFile()) skipped.push({ path: rel, reason: 'not a regular file' });
      else if (!scope.skip.has(localPath)) {
        const info = await lstat(localPath);
        found.push({ path: rel, localPath, sizeBytes: info.size, executable: (info.mode & 0o100) !== 0 });
      }
    }
  };
  await walk(root, '');
  return { found, skipped };
}

/** Reads exactly `size` bytes of `file` into `into` at `offset`; a file that changed size fails. */
async function readInto(file: Found, into: Uint8Array, offset: number): Promise<void> {
  const handle = await open(file.localPath, 'r');
  try {
    let done = 0;
    while (done < file.sizeBytes) {
      const { bytesRead } = await handle.read(into, offset + done, file.sizeBytes - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    const extra = await handle.read(new Uint8Array(1), 0, 1, file.sizeBytes);
    if (done !== file.sizeBytes || extra.bytesRead !== 0) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `${file.localPath} changed while it was being packed; run again.`,
        {
          field: 'codeDir',
        },
      );
    }
  } finally {
    await handle.close();
  }
}

/**
 * Packs the files of `dir` (see the top of this file for what is left out)
 * into one framed body, in path order: the same folder always gives the same
 * bytes. An empty result (`files: 0`) needs no upload.
 */
export async function packCodeDirectory(dir: string, options: PackCodeOptions = {}): Promise<CodePackage> {
  const root = path.resolve(dir);
  const info = await lstat(root).catch((error: unknown) => {
    throw new CairnError('INVALID_ARGUMENT', `${root} does not exist or cannot be read`, {
      field: 'codeDir',
      cause: error,
    });
  });
  if (!info.isDirectory()) {
    throw new CairnError('INVALID_ARGUMENT', `${root} is not a folder`, { field: 'codeDir' });
  }
  const rules = await readRules(root, options.exclude ?? []);
  const skip = new Set((options.skip ?? []).map((p) => path.resolve(root, p)));
  const { found, skipped } = await walkCode(root, { rules, skip });
  found.sort(byPath);
  if (found.length > PIPELINE_LIMITS.maxCodeFiles) {
    const count = found.length > STOP_WALK_AT ? `more than ${STOP_WALK_AT}` : String(found.length);
    throw tooLarge(root, `holds ${count} files; at most ${PIPELINE_LIMITS.maxCodeFiles} go with a pipeline`, {
      found,
      by: 'files',
    });
  }
  const sizeBytes = found.reduce((sum, f) => sum + f.sizeBytes, 0);
  if (sizeBytes > PIPELINE_LIMITS.maxCodeBytes) {
    throw tooLarge(
      root,
      `holds ${formatSize(sizeBytes)} of files; at most ${formatSize(PIPELINE_LIMITS.maxCodeBytes)} go with a pipeline`,
      { found, by: 'bytes' },
    );
  }
  const headers = found.map((f) =>
    treeFrameHeader({ path: f.path, sizeBytes: f.sizeBytes, executable: f.executable }),
  );
  const body = new Uint8Array(headers.reduce((sum, h) => sum + h.byteLength, 0) + sizeBytes);
  let offset = 0;
  for (const [i, file] of found.entries()) {
    const header = headers[i] as Uint8Array;
    body.set(header, offset);
    offset += header.byteLength;
    await readInto(file, body, offset);
    offset += file.sizeBytes;
  }
  return {
    root,
    body,
    files: found.length,
    sizeBytes,
    entries: found.map(({ path: p, sizeBytes: s, executable }) => ({ path: p, sizeBytes: s, executable })),
    skipped,
  };
}

// ── outputs to disk ──

/** `target` joined with a manifest path, refused when it would leave `target`. */
export function pathInside(target: string, relative: string): string {
  const problem = treePathProblem(relative);
  const root = path.resolve(target);
  const joined = path.resolve(root, ...relative.split('/'));
  if (problem !== undefined || !joined.startsWith(root + path.sep)) {
    throw new CairnError('DATA_LOSS', `refusing the output path ${JSON.stringify(relative)}`);
  }
  return joined;
}

/**
 * Streams a response body to `target` through a temporary name, checking its
 * sha256 (`sha256:<hex>`) and size when given; renamed into place only whole.
 */
export async function saveBody(
  response: Response,
  target: string,
  expected: { digest?: string | null; sizeBytes?: number | null } = {},
): Promise<number> {
  await mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.cairn-partial`;
  const hash = createHash('sha256');
  let size = 0;
  const body =
    response.body === null ? Readable.from([]) : Readable.fromWeb(response.body as WebReadableStream);
  try {
    await pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      }),
      createWriteStream(partial),
    );
    const digest = `sha256:${hash.digest('hex')}`;
    const wrongDigest = typeof expected.digest === 'string' && expected.digest !== digest;
    const wrongSize = typeof expected.sizeBytes === 'number' && expected.sizeBytes !== size;
    if (wrongDigest || wrongSize) {
      throw new CairnError(
        'DATA_LOSS',
        `${target}: expected ${expected.digest ?? 'a digest'} (${expected.sizeBytes ?? '?'} bytes), ` +
          `received ${digest} (${size} bytes)`,
      );
    }
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return size;
}

/** Fails unless `target` is a folder or does not exist yet; creates it. */
export async function ensureFolder(target: string): Promise<void> {
  const info = await lstat(target).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new CairnError('INVALID_ARGUMENT', `${target} exists and is not a folder`, { field: 'target' });
  }
  await mkdir(target, { recursive: true });
}
