import { CODE_VERSION_LIMITS } from '@cairn/contract';
import type { RunsResource } from './runs.js';

/** The git source of a working directory, as a run records it. */
export interface CapturedCodeVersion {
  commit: string;
  /** Null on a detached HEAD. */
  branch: string | null;
  /** `origin`'s URL; null without one. The server strips credentials from it. */
  remoteUrl: string | null;
  dirty: boolean;
  /**
   * Tracked changes against HEAD plus every untracked, non-ignored file as an
   * addition: `git apply --binary` on a clean checkout of `commit` recreates
   * the working tree. Undefined for a clean tree, or when too large to keep.
   */
  diff: Uint8Array | undefined;
}

export interface CaptureOptions {
  /** The directory whose repository to read; the process's working directory by default. */
  cwd?: string;
  /** Told once why capture failed or was cut short (never thrown). */
  warn?: (message: string) => void;
}

/** Patches that `git apply` reads the same whatever the user's diff settings (colour, prefixes, textconv). */
const DIFF_FLAGS = [
  'diff',
  '--binary',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--src-prefix=a/',
  '--dst-prefix=b/',
];
const MAX_OUTPUT = CODE_VERSION_LIMITS.maxDiffBytes + 1024 * 1024;

interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** The output outgrew the buffer: a diff too large to keep. */
  overflow: boolean;
}

class TooLarge extends Error {}

type Git = (
  args: readonly string[],
  options?: { okCodes?: readonly number[]; env?: Record<string, string> },
) => Promise<Buffer>;

/**
 * Reads the git state of `cwd` without changing anything in the repository.
 * Resolves undefined outside a git work tree (or without git); never rejects:
 * problems go to `warn`.
 */
export async function captureCodeVersion(
  options: CaptureOptions = {},
): Promise<CapturedCodeVersion | undefined> {
  const warn = options.warn ?? (() => undefined);
  const { execFile } = await import('node:child_process');
  const run = (
    args: readonly string[],
    at: { cwd: string | undefined; env?: Record<string, string> },
  ): Promise<GitResult> =>
    new Promise((resolve) => {
      execFile(
        'git',
        args,
        {
          cwd: at.cwd,
          encoding: 'buffer',
          maxBuffer: MAX_OUTPUT,
          windowsHide: true,
          ...(at.env === undefined ? {} : { env: { ...process.env, ...at.env } }),
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          const reason = error !== null && typeof error.code !== 'number' ? error.message : '';
          const overflow = error?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
          resolve({ code, stdout, stderr: stderr.toString('utf8') || reason, overflow });
        },
      );
    });

  const probe = await run(['rev-parse', '--show-toplevel'], { cwd: options.cwd });
  if (probe.code !== 0) return undefined; // not a work tree, or no git at all
  const top = probe.stdout.toString('utf8').trim();
  const git: Git = async (args, { okCodes = [0], env } = {}) => {
    const result = await run(args, env === undefined ? { cwd: top } : { cwd: top, env });
    if (result.overflow) throw new TooLarge();
    if (!okCodes.includes(result.code)) {
      throw new Error(`git ${args.join(' ')} failed: ${result.stderr.trim() || `exit code ${result.code}`}`);
    }
    return result.stdout;
  };
  try {
    const text = async (args: readonly string[]): Promise<string> =>
      (await git(args)).toString('utf8').trim();
    const commit = await text(['rev-parse', 'HEAD']);
    const branchName = await text(['rev-parse', '--abbrev-ref', 'HEAD']);
    const remote = await run(['remote', 'get-url', 'origin'], { cwd: top });
    const status = await git(['status', '--porcelain', '--untracked-files=all']);
    const dirty = status.length > 0;
    const diff = dirty ? await workingTreeDiff(git, warn) : undefined;
    return {
      commit,
      branch: branchName === 'HEAD' || branchName === '' ? null : branchName,
      remoteUrl: remote.code === 0 ? remote.stdout.toString('utf8').trim() || null : null,
      dirty,
      diff,
    };
  } catch (error) {
    warn(`could not record the run's git source: ${(error as Error).message}`);
    return undefined;
  }
}

async function workingTreeDiff(git: Git, warn: (message: string) => void): Promise<Uint8Array | undefined> {
  try {
    return await collectDiff(git);
  } catch (error) {
    if (!(error instanceof TooLarge)) throw error;
    warn(
      `the uncommitted changes are over ${CODE_VERSION_LIMITS.maxDiffBytes} bytes; ` +
        'the run records its commit without them',
    );
    return undefined;
  }
}

/**
 * Tracked changes and untracked (not ignored) files as one patch against HEAD,
 * from two git processes: untracked files are marked intent-to-add in a copy
 * of the index, so `git diff HEAD` shows them as new files. The real index and
 * the object store are left untouched.
 */
async function collectDiff(git: Git): Promise<Uint8Array | undefined> {
  const { copyFile, mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join, resolve } = await import('node:path');
  const scratch = await mkdtemp(join(tmpdir(), 'cairn-git-index-'));
  try {
    const index = join(scratch, 'index');
    const real = (await git(['rev-parse', '--git-path', 'index'])).toString('utf8').trim();
    const top = (await git(['rev-parse', '--show-toplevel'])).toString('utf8').trim();
    await copyFile(resolve(top, real), index).catch(() => undefined);
    const env = { GIT_INDEX_FILE: index };
    await git(['add', '--intent-to-add', '--all', '--', '.'], { env });
    // Run at the top of the work tree, so paths are the repository's whatever diff.relative says.
    const patch = await git([...DIFF_FLAGS, 'HEAD'], { env });
    if (patch.length > CODE_VERSION_LIMITS.maxDiffBytes) throw new TooLarge();
    return patch.length === 0 ? undefined : new Uint8Array(patch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Whether a new run records its git source: in Node, unless the option or
 * CAIRN_CAPTURE_CODE=0 turns it off (browsers have no working tree).
 */
export function codeCaptureEnabled(option: boolean | undefined): boolean {
  if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') return false;
  if (option !== undefined) return option;
  const value = process.env['CAIRN_CAPTURE_CODE'];
  return value === undefined || !/^(0|false|no|off)$/i.test(value.trim());
}

let warned = false;

/** One line on stderr per process: a training script should not drown in the same warning. */
function warnOnce(message: string): void {
  if (warned) return;
  warned = true;
  console.warn(`cairn: ${message}`);
}

/**
 * Records what `capture` found on the run. A failure is a warning: a run must
 * not fail because its source could not be recorded.
 */
export async function recordCodeVersion(
  runs: RunsResource,
  runId: string,
  capture: Promise<CapturedCodeVersion | undefined>,
): Promise<void> {
  try {
    const code = await capture;
    if (code === undefined) return;
    const { diff, ...rest } = code;
    await runs.setCodeVersion(runId, { ...rest, ...(diff === undefined ? {} : { diff }) });
  } catch (error) {
    warnOnce(`could not record the git source of run ${runId}: ${(error as Error).message}`);
  }
}

/** Starts reading the git state now, so it overlaps the request that creates the run. */
export function startCodeCapture(): Promise<CapturedCodeVersion | undefined> {
  return captureCodeVersion({ warn: warnOnce }).catch((error: unknown) => {
    warnOnce(`could not read the git source: ${(error as Error).message}`);
    return undefined;
  });
}
