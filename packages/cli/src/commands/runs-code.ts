import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CairnError, type CodeVersionJson } from '@cairn/contract';
import type { Command } from 'commander';
import { printJson, printLine } from '../output/print.js';
import { clientFor } from './context.js';

interface CodeFlags {
  output: string;
  repo?: string;
  json?: boolean;
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function git(args: readonly string[]): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', args, { maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        // ENOENT and friends: git itself could not be run.
        resolve({ code: -1, stdout: '', stderr: error.message });
        return;
      }
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

async function mustGit(args: readonly string[], failure: (stderr: string) => CairnError): Promise<string> {
  const result = await git(args);
  if (result.code === -1) {
    throw new CairnError('FAILED_PRECONDITION', `git could not be run (is it installed?): ${result.stderr}`);
  }
  if (result.code !== 0) throw failure(result.stderr.trim());
  return result.stdout;
}

/** The checkout goes only into a missing or empty folder. */
async function folderState(dir: string): Promise<'absent' | 'empty' | 'busy'> {
  try {
    return (await readdir(dir)).length === 0 ? 'empty' : 'busy';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
}

/** Undoes a failed checkout: the folder goes back to how it was found. */
async function clear(dir: string, state: 'absent' | 'empty'): Promise<void> {
  if (state === 'absent') {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  const entries = await readdir(dir).catch(() => []);
  await Promise.all(entries.map((entry) => rm(path.join(dir, entry), { recursive: true, force: true })));
}

/** `diff --git` headers: one per file the patch touches. */
const filesInPatch = (patch: Uint8Array): number =>
  Buffer.from(patch)
    .toString('latin1')
    .split('\n')
    .filter((line) => line.startsWith('diff --git ')).length;

/**
 * `cairn runs code RUN -o DIR`: clones the repository the run came from,
 * checks out its commit and applies its recorded uncommitted changes, so DIR
 * holds the source exactly as it ran. On failure DIR is removed again.
 */
export async function runCode(runId: string, flags: CodeFlags, command: Command): Promise<void> {
  const cairn = clientFor(command);
  const dir = path.resolve(flags.output);
  const version = await cairn.runs.codeVersion(runId);
  const repo = flags.repo ?? version.remoteUrl;
  if (repo === null || repo === '') {
    throw new CairnError(
      'FAILED_PRECONDITION',
      `Run ${runId} recorded no remote repository; pass --repo PATH_OR_URL naming a clone that has commit ${version.commit}.`,
    );
  }
  const state = await folderState(dir);
  if (state === 'busy') {
    throw new CairnError('FAILED_PRECONDITION', `${dir} is not empty; name a new or empty folder with -o.`);
  }
  // Fetched before anything is written, so a failed download leaves nothing behind.
  const patch = version.diffDigest === null ? undefined : await cairn.runs.codeDiff(runId);
  if (version.dirty && patch === undefined) {
    process.stderr.write(
      `Warning: run ${runId} ran with uncommitted changes that were not recorded (too large); ` +
        `${dir} holds commit ${version.commit} without them.\n`,
    );
  }
  try {
    await checkout({ repo, dir, version, patch });
  } catch (error) {
    await clear(dir, state);
    throw error;
  }
  const summary = {
    runId,
    dir,
    repo,
    commit: version.commit,
    branch: version.branch,
    dirty: version.dirty,
    diffApplied: patch !== undefined,
    filesChanged: patch === undefined ? 0 : filesInPatch(patch),
  };
  if (flags.json === true) {
    printJson(summary);
    return;
  }
  printLine(`Recreated the source of run ${runId} in ${dir}`);
  printLine(`${'Commit:'.padEnd(15)}${summary.commit}`);
  printLine(`${'Branch:'.padEnd(15)}${summary.branch ?? '(detached)'}`);
  printLine(`${'Repository:'.padEnd(15)}${repo}`);
  printLine(`${'Dirty:'.padEnd(15)}${summary.dirty ? 'yes' : 'no'}`);
  printLine(`${'Files changed:'.padEnd(15)}${summary.filesChanged}`);
}

async function checkout(job: {
  repo: string;
  dir: string;
  version: CodeVersionJson;
  patch: Uint8Array | undefined;
}): Promise<void> {
  const { repo, dir, version, patch } = job;
  await mustGit(
    ['clone', '--quiet', '--no-checkout', '--', repo, dir],
    (stderr) => new CairnError('FAILED_PRECONDITION', `git clone ${repo} failed: ${stderr}`),
  );
  const has = async (): Promise<boolean> =>
    (await git(['-C', dir, 'cat-file', '-e', `${version.commit}^{commit}`])).code === 0;
  // A commit on no branch the clone fetched may still be fetchable by id.
  if (!(await has())) await git(['-C', dir, 'fetch', '--quiet', 'origin', version.commit]);
  if (!(await has())) {
    throw new CairnError(
      'NOT_FOUND',
      `Commit ${version.commit} is not in ${repo} (was it pushed?); pass --repo naming a clone that has it.`,
    );
  }
  await mustGit(
    ['-C', dir, 'checkout', '--quiet', '--detach', version.commit],
    (stderr) => new CairnError('FAILED_PRECONDITION', `git checkout ${version.commit} failed: ${stderr}`),
  );
  if (patch === undefined) return;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'cairn-code-'));
  try {
    const file = path.join(scratch, 'run.patch');
    await writeFile(file, patch);
    await mustGit(
      ['-C', dir, 'apply', '--binary', '--whitespace=nowarn', file],
      (stderr) =>
        new CairnError(
          'FAILED_PRECONDITION',
          `The run's recorded changes do not apply to commit ${version.commit}: ${stderr}`,
        ),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
