import { constants as fsConstants, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { encodeFileTree, parseFileTree, treePathProblem, type FileTreeEntry } from '@cairn/contract';
import { isDigest, type BlobStore } from '../../modules/artifacts/blob.store.js';
import type { LoggedMetric, ResolvedInput, StepOutput, StepTask } from '../../modules/pipelines/index.js';
import { paramText } from './command-template.js';

/**
 * An attempt's workspace: `code/` (the working directory), `inputs/<name>`,
 * `outputs/` (the command writes `outputs/<name>`) and `logs/`. Inputs are
 * laid out from the blob store, every read verified against its digest.
 */

/** Lays out a dataset version's files in a directory (the server's datasets module implements it). */
export interface DatasetFiles {
  materialize(input: { dataset: string; versionId: string; targetDir: string }): Promise<void>;
}

export interface WorkspaceLayout {
  root: string;
  codeDir: string;
  inputsDir: string;
  outputsDir: string;
  logsDir: string;
  /** Each input as the command sees it: an absolute path, or a value input's text. */
  inputs: Record<string, string>;
  /** Each declared output's absolute path (nothing is there until the command writes it). */
  outputs: Record<string, string>;
  stdoutFile: string;
  stderrFile: string;
  metricsFile: string;
}

/** An output the step left in a state that cannot be stored (a symbolic link, a socket): its fault, not ours. */
export class OutputError extends Error {
  readonly kind = 'OutputError';
}

/** Input, output and parameter names are plain file names; anything else is refused before touching the disk. */
const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const PARALLEL_BLOBS = 4;
const TAIL_BYTES = 4096;
const MAX_METRICS = 10_000;
const MAX_METRIC_LINE = 64 * 1024;
const METRIC_KEY = /^[A-Za-z0-9_.\-/ ]{1,250}$/;
/** O_NONBLOCK: opening a named pipe must not wait for a writer. */
const READ_NO_FOLLOW = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/** Where everything of an attempt lives under `root` (absolute); pure, so the command can be rendered first. */
export function workspaceLayout(root: string, task: Pick<StepTask, 'inputs' | 'outputs'>): WorkspaceLayout {
  const base = resolve(root);
  const inputsDir = join(base, 'inputs');
  const outputsDir = join(base, 'outputs');
  const logsDir = join(base, 'logs');
  const inputs: Record<string, string> = {};
  for (const [name, input] of Object.entries(task.inputs)) {
    checkedName(name, 'input');
    inputs[name] = input.kind === 'value' ? paramText(input.value) : join(inputsDir, name);
  }
  const outputs: Record<string, string> = {};
  for (const name of task.outputs) outputs[name] = join(outputsDir, checkedName(name, 'output'));
  return {
    root: base,
    codeDir: join(base, 'code'),
    inputsDir,
    outputsDir,
    logsDir,
    inputs,
    outputs,
    stdoutFile: join(logsDir, 'stdout.log'),
    stderrFile: join(logsDir, 'stderr.log'),
    metricsFile: join(logsDir, 'metrics.jsonl'),
  };
}

/** Creates the workspace afresh (anything left at its root is removed) and lays out code and inputs. */
export async function prepareWorkspace(options: {
  layout: WorkspaceLayout;
  task: Pick<StepTask, 'inputs' | 'codeDigest'>;
  blobs: BlobStore;
  datasets: DatasetFiles;
}): Promise<void> {
  const { layout, task, blobs, datasets } = options;
  await rm(layout.root, { recursive: true, force: true });
  for (const dir of [layout.codeDir, layout.inputsDir, layout.outputsDir, layout.logsDir]) {
    await mkdir(dir, { recursive: true });
  }
  if (task.codeDigest !== null) await materializeTree(blobs, task.codeDigest, layout.codeDir);
  for (const [name, input] of Object.entries(task.inputs)) {
    const target = layout.inputs[name] as string;
    try {
      await layOutInput(blobs, input, { target, datasets });
    } catch (error) {
      throw new Error(`input "${name}": ${(error as Error).message}`, { cause: error });
    }
  }
}

async function layOutInput(
  blobs: BlobStore,
  input: ResolvedInput,
  at: { target: string; datasets: DatasetFiles },
): Promise<void> {
  switch (input.kind) {
    case 'value':
      return;
    case 'blob':
      return layOutOutput(blobs, input.output, at.target);
    case 'joined': {
      await mkdir(at.target);
      let index = 0;
      for (const item of input.items) {
        if (item !== null) await layOutOutput(blobs, item, join(at.target, String(index).padStart(5, '0')));
        index += 1;
      }
      return;
    }
    case 'dataset':
      await mkdir(at.target);
      await at.datasets.materialize({
        dataset: input.dataset,
        versionId: input.versionId,
        targetDir: at.target,
      });
      return;
  }
}

async function layOutOutput(blobs: BlobStore, output: StepOutput, target: string): Promise<void> {
  if (output.type === 'dir') {
    await mkdir(target);
    await materializeTree(blobs, output.digest, target);
  } else {
    await writeBlobFile(blobs, output.digest, { path: target, executable: false });
  }
}

/** Writes every file of the tree whose manifest is `digest` under `targetDir`, with executable bits. */
export async function materializeTree(blobs: BlobStore, digest: string, targetDir: string): Promise<void> {
  const tree = parseFileTree(await readManifest(blobs, digest));
  const base = resolve(targetDir);
  await forEachLimit(tree.files, PARALLEL_BLOBS, async (file) => {
    const path = resolve(base, file.path);
    // parseFileTree already refuses `..` and absolute paths; this keeps the promise even if that changes.
    if (!path.startsWith(base + sep)) {
      throw new Error(`tree ${digest} has a path outside its root: ${file.path}`);
    }
    await mkdir(dirname(path), { recursive: true });
    await writeBlobFile(blobs, file.digest, { path, executable: file.executable });
  });
}

async function readManifest(blobs: BlobStore, digest: string): Promise<string> {
  if (!isDigest(digest)) throw new Error(`"${digest}" is not a digest`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await blobs.get(digest)) {
    size += (chunk as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) throw new Error(`${digest} is too large to be a file tree manifest`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function writeBlobFile(
  blobs: BlobStore,
  digest: string,
  file: { path: string; executable: boolean },
): Promise<void> {
  if (!isDigest(digest)) throw new Error(`"${digest}" is not a digest`);
  // `get` verifies: a corrupted blob fails the stream, and so the pipeline.
  await pipeline(await blobs.get(digest), createWriteStream(file.path, { flags: 'wx' }));
  await chmod(file.path, file.executable ? 0o755 : 0o644);
}

/**
 * Stores what the command left at `path`: a file as one blob, a directory as
 * a blob per file plus a tree manifest (its digest names the output; its size
 * is the files' total). Null when nothing is there. Symbolic links and special
 * files are refused with an OutputError; blob store failures are thrown as they come.
 */
export async function storeOutput(blobs: BlobStore, path: string, name: string): Promise<StepOutput | null> {
  let top: FileHandle;
  try {
    top = await openNoFollow(path, name, '');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    if (!(await top.stat()).isDirectory()) {
      const stored = await storeOpenFile(blobs, top, { name, rel: '' });
      return { digest: stored.digest, sizeBytes: stored.sizeBytes, type: 'file' };
    }
  } finally {
    await top.close();
  }
  const entries: FileTreeEntry[] = [];
  await collectDir(blobs, { root: path, dir: path, name, entries });
  const manifest = await blobs.put(Readable.from([Buffer.from(encodeFileTree(entries), 'utf8')]));
  const sizeBytes = entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);
  return { digest: manifest.digest, sizeBytes, type: 'dir' };
}

async function collectDir(
  blobs: BlobStore,
  at: { root: string; dir: string; name: string; entries: FileTreeEntry[] },
): Promise<void> {
  const children = await readdir(at.dir, { withFileTypes: true });
  for (const child of children) {
    const path = join(at.dir, child.name);
    const rel = relative(at.root, path).split(sep).join('/');
    const problem = treePathProblem(rel);
    if (problem !== undefined) {
      throw new OutputError(`output "${at.name}": the path ${JSON.stringify(rel)} ${problem}`);
    }
    if (child.isDirectory()) {
      await collectDir(blobs, { ...at, dir: path });
    } else if (child.isFile()) {
      at.entries.push(await storeFile(blobs, { path, name: at.name, rel }));
    } else {
      throw new OutputError(
        `output "${at.name}": ${quoted(rel)} ${kindOf(child)}; outputs hold only files and directories`,
      );
    }
  }
}

async function storeFile(
  blobs: BlobStore,
  file: { path: string; name: string; rel: string },
): Promise<FileTreeEntry> {
  const handle = await openNoFollow(file.path, file.name, file.rel);
  try {
    return await storeOpenFile(blobs, handle, file);
  } finally {
    await handle.close();
  }
}

async function storeOpenFile(
  blobs: BlobStore,
  handle: FileHandle,
  file: { name: string; rel: string },
): Promise<FileTreeEntry> {
  const info = await handle.stat();
  if (!info.isFile()) {
    throw new OutputError(`output "${file.name}": ${quoted(file.rel)} is not a regular file or directory`);
  }
  const stored = await blobs.put(handle.createReadStream({ autoClose: false, start: 0 }));
  return {
    path: file.rel,
    digest: stored.digest,
    sizeBytes: stored.sizeBytes,
    executable: (info.mode & 0o111) !== 0,
  };
}

/** Opens without following a symbolic link, so nothing outside the output is ever read. */
async function openNoFollow(path: string, name: string, rel: string): Promise<FileHandle> {
  try {
    return await open(path, READ_NO_FOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new OutputError(
        `output "${name}": ${quoted(rel)} is a symbolic link; outputs hold only files and directories`,
      );
    }
    if (code === 'ENOENT') throw error;
    throw new OutputError(`output "${name}": ${quoted(rel)} cannot be read: ${(error as Error).message}`);
  }
}

/** The last lines of an open file, at most `maxLines` and 4 KiB, read from its end. */
export async function readTail(handle: FileHandle, maxLines: number): Promise<string> {
  const { size } = await handle.stat();
  const length = Math.min(size, TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, size - length);
  let start = 0;
  while (start < bytesRead && ((buffer[start] as number) & 0xc0) === 0x80) start += 1; // a cut character
  let lines = buffer
    .subarray(start, bytesRead)
    .toString('utf8')
    .replace(/\r?\n$/, '')
    .split(/\r?\n/);
  if (size > length && lines.length > 1) lines = lines.slice(1); // a cut line
  return lines.slice(-maxLines).join('\n');
}

/**
 * Metrics the command wrote as JSON lines (`{"key", "value", "step"?, "timestamp"?}`):
 * malformed lines are skipped, the first 10,000 kept. Only a regular file is read
 * (never a link, a pipe or a device the command put in its place).
 */
export async function readMetrics(path: string, now: number): Promise<LoggedMetric[]> {
  const handle = await open(path, READ_NO_FOLLOW).catch(() => null);
  if (handle === null) return [];
  const metrics: LoggedMetric[] = [];
  const take = (line: string): void => {
    const metric = parseMetric(line, now);
    if (metric !== null) metrics.push(metric);
  };
  let pending = '';
  let overlong = false;
  try {
    if (!(await handle.stat()).isFile()) return [];
    for await (const chunk of handle.createReadStream({ encoding: 'utf8', autoClose: false })) {
      const text = chunk as string;
      let from = 0;
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', from)) {
        if (!overlong) take(pending + text.slice(from, newline));
        [pending, overlong, from] = ['', false, newline + 1];
        if (metrics.length >= MAX_METRICS) return metrics;
      }
      if (!overlong) pending += text.slice(from);
      if (pending.length > MAX_METRIC_LINE) [pending, overlong] = ['', true];
    }
  } finally {
    await handle.close();
  }
  if (!overlong) take(pending);
  return metrics;
}

function parseMetric(line: string, now: number): LoggedMetric | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const { key, value, step, timestamp } = raw as Record<string, unknown>;
  if (typeof key !== 'string' || !METRIC_KEY.test(key)) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  if (step !== undefined && !Number.isSafeInteger(step)) return null;
  if (timestamp !== undefined && (!Number.isSafeInteger(timestamp) || (timestamp as number) < 0)) return null;
  return {
    key,
    value,
    step: (step as number | undefined) ?? 0,
    timestamp: (timestamp as number | undefined) ?? now,
  };
}

const quoted = (rel: string): string => (rel === '' ? 'it' : JSON.stringify(rel));

function kindOf(entry: { isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (entry.isSymbolicLink()) return 'is a symbolic link';
  if (entry.isFIFO()) return 'is a named pipe';
  if (entry.isSocket()) return 'is a socket';
  return 'is a device or other special file';
}

function checkedName(name: string, what: string): string {
  if (!NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a valid ${what} name`);
  return name;
}

async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
