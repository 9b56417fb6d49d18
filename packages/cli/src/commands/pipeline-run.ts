import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline as pipeStreams } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  EXIT_CODE_BY_CODE,
  formatProblems,
  validatePipelineDefinition,
  type DefinitionProblem,
  type PipelineExecutorName,
  type PipelineRunDetailJson,
  type PipelineSpec,
} from '@cairn/contract';
import { parseOutputRef, stepRunsOf, type Cairn, type OutputRef, type UploadedCode } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { formatBytes } from '../output/models-format.js';
import { failureReport, LiveView, resultLine, runSummaryJson } from '../output/pipeline-format.js';
import { printJson, printLine } from '../output/print.js';
import { clientFor } from './context.js';
import {
  checkRunParams,
  loadPipelineFile,
  parseParamFlags,
  problemsOf,
  type LoadedPipeline,
} from './pipeline-file.js';

interface RunFlags {
  param?: string[];
  executor?: PipelineExecutorName;
  /** false with --no-cache. */
  cache?: boolean;
  project?: string;
  json?: boolean;
  detach?: boolean;
}

export type Checked =
  { ok: true; loaded: LoadedPipeline; spec: PipelineSpec } | { ok: false; problems: DefinitionProblem[] };

/** Loads and validates; the problems of a definition the SDK builder refused while loading count as its own. */
export async function loadChecked(file: string): Promise<Checked> {
  let loaded: LoadedPipeline;
  try {
    loaded = await loadPipelineFile(file);
  } catch (error) {
    const problems = problemsOf(error);
    if (problems === undefined) throw error;
    return { ok: false, problems };
  }
  const result = validatePipelineDefinition(loaded.definition);
  return result.ok ? { ok: true, loaded, spec: result.spec } : result;
}

const problemCount = (n: number): string => (n === 1 ? '1 problem' : `${n} problems`);

/** Problems one per line on stderr, with the exit code of INVALID_ARGUMENT. */
export function reportProblems(file: string, problems: readonly DefinitionProblem[]): void {
  const lines = formatProblems(problems)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  process.stderr.write(
    `Error: ${file} is not a valid pipeline (${problemCount(problems.length)}):\n${lines}\n`,
  );
  process.exitCode = EXIT_CODE_BY_CODE.INVALID_ARGUMENT;
}

export function describeUpload(code: UploadedCode, dir: string): string {
  const lines =
    code.digest === null
      ? [`No code to upload: ${dir} holds no other files.`]
      : [
          `Uploaded ${code.files} code ${code.files === 1 ? 'file' : 'files'} (${formatBytes(code.sizeBytes)}) from ${dir}.`,
        ];
  const shown = code.skipped.slice(0, 5).map((s) => `  left out ${s.path}: ${s.reason}`);
  if (code.skipped.length > shown.length) shown.push(`  … and ${code.skipped.length - shown.length} more`);
  return [...lines, ...shown].join('\n');
}

/**
 * Follows a started (or resumed) run to its end: the live view (or, with
 * `--json`, silence and then the summary), the result, and exit code 0 only
 * when it succeeded. Ctrl-C asks the server to cancel and goes on waiting for
 * the end; a second Ctrl-C stops waiting at once.
 */
export async function followRun(
  cairn: Cairn,
  started: PipelineRunDetailJson,
  options: { json?: boolean },
): Promise<void> {
  const stderr = process.stderr;
  const view =
    options.json === true ? undefined : new LiveView({ stream: stderr, tty: stderr.isTTY === true });
  const say = (text: string): void => {
    if (view === undefined) stderr.write(`${text}\n`);
    else view.note(text);
  };
  if (view !== undefined) {
    stderr.write(
      `Run ${started.id} of ${started.pipeline} (executor ${started.executor}); Ctrl-C cancels it.\n`,
    );
    view.start();
    view.update(started);
  }
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts > 1) {
      view?.stop();
      stderr.write(`Stopped waiting; run ${started.id} goes on ending on the server.\n`);
      process.exit(130);
    }
    say(`Cancelling run ${started.id}… (Ctrl-C again to stop waiting)`);
    cairn.pipelines.cancel(started.id).catch((error: unknown) => {
      say(`Could not cancel ${started.id}: ${error instanceof Error ? error.message : String(error)}`);
    });
  };
  process.on('SIGINT', onInterrupt);
  let final: PipelineRunDetailJson;
  try {
    final = await cairn.pipelines.wait(started.id, { onUpdate: (detail) => view?.update(detail) });
  } finally {
    process.off('SIGINT', onInterrupt);
    view?.stop();
  }
  if (options.json === true) printJson(runSummaryJson(final));
  else {
    printLine(resultLine(final));
    if (final.status !== 'succeeded') stderr.write(`${failureReport(final)}\n`);
  }
  if (final.status !== 'succeeded') process.exitCode = 1;
}

/** `cairn pipeline run FILE`: validate here, upload the file's folder, start, follow. */
export async function runCommand(file: string, flags: RunFlags, command: Command): Promise<void> {
  const checked = await loadChecked(file);
  if (!checked.ok) {
    reportProblems(file, checked.problems);
    return;
  }
  const { loaded, spec } = checked;
  const params = parseParamFlags(flags.param ?? []);
  checkRunParams(spec, params);
  const cairn = clientFor(command);
  const project = flags.project === undefined ? {} : { project: flags.project };
  const code = await cairn.pipelines.uploadCode(loaded.dir, { skip: [loaded.file], ...project });
  if (flags.json !== true) process.stderr.write(`${describeUpload(code, loaded.dir)}\n`);
  const started = await cairn.pipelines.start({
    definition: loaded.definition,
    ...(Object.keys(params).length === 0 ? {} : { params }),
    ...(flags.executor === undefined ? {} : { executor: flags.executor }),
    ...(flags.cache === false ? { noCache: true } : {}),
    ...project,
    ...(code.digest === null ? {} : { codeDigest: code.digest }),
  });
  if (flags.detach === true) {
    if (flags.json === true) printJson(started);
    else printLine(started.id);
    return;
  }
  await followRun(cairn, started, { json: flags.json });
}

/** `cairn pipeline validate FILE`: no server needed. */
export async function validateCommand(file: string, flags: { json?: boolean }): Promise<void> {
  let checked: Checked;
  try {
    checked = await loadChecked(file);
  } catch (error) {
    // A file that cannot be read or parsed is one problem of the pipeline, for --json readers.
    if (flags.json !== true) throw error;
    checked = {
      ok: false,
      problems: [{ step: null, field: '', message: error instanceof Error ? error.message : String(error) }],
    };
  }
  if (flags.json === true) {
    printJson({
      valid: checked.ok,
      problems: checked.ok ? [] : checked.problems,
      steps: checked.ok ? checked.spec.steps.map((s) => s.name) : [],
    });
  } else if (checked.ok) {
    const order = checked.spec.steps.map((s) => s.name);
    printLine(`ok: ${order.length} ${order.length === 1 ? 'step' : 'steps'} (order: ${order.join(' → ')})`);
  } else {
    printLine(`${file}: ${problemCount(checked.problems.length)}`);
    printLine(
      formatProblems(checked.problems)
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
    );
  }
  if (!checked.ok) process.exitCode = EXIT_CODE_BY_CODE.INVALID_ARGUMENT;
}

// ── outputs ──

/** What the run records of an output: its type, and its size summed over items. */
function recordedOutput(
  detail: PipelineRunDetailJson,
  ref: OutputRef,
): { type: 'file' | 'dir' | undefined; sizeBytes: number } {
  const rows = stepRunsOf(detail, ref.step);
  const sizeBytes = rows.reduce((sum, row) => sum + (row.outputs[ref.output]?.sizeBytes ?? 0), 0);
  const single = rows.length === 1 && (rows[0]?.index === null || ref.step.includes('['));
  if (single) return { type: rows[0]?.outputs[ref.output]?.type, sizeBytes };
  return { type: rows.length === 0 ? undefined : 'dir', sizeBytes };
}

async function isFolder(target: string): Promise<boolean> {
  return (await stat(target).catch(() => undefined))?.isDirectory() === true;
}

const MIB = 1024 * 1024;

async function outputToStdout(cairn: Cairn, run: string, ref: OutputRef): Promise<void> {
  const { sizeBytes } = recordedOutput(await cairn.pipelines.get(run), ref);
  const content = await cairn.pipelines.output(run, ref, {
    timeoutMs: 30_000 + Math.ceil(sizeBytes / MIB) * 1000,
  });
  if (content.type === 'dir') {
    throw new UsageError(
      `${ref.step}.${ref.output} is a directory (${content.tree.files.length} files): give -o DIR to write its files there`,
    );
  }
  const body = content.response.body;
  if (body === null) return;
  await pipeStreams(Readable.fromWeb(body as WebReadableStream<Uint8Array>), process.stdout, { end: false });
}

/** `cairn pipeline output RUN STEP.OUTPUT [-o PATH]`. */
export async function outputCommand(
  ...args: [string, string, { output?: string; json?: boolean }, Command]
): Promise<void> {
  const [run, where, flags, command] = args;
  const ref = parseOutputRef(where);
  if (flags.output === undefined) {
    if (flags.json === true)
      throw new UsageError('--json needs -o PATH: the output is written there and described');
    await outputToStdout(clientFor(command), run, ref);
    return;
  }
  const cairn = clientFor(command);
  let target = path.resolve(flags.output);
  const recorded = recordedOutput(await cairn.pipelines.get(run), ref);
  // Like cp: a file output given a folder (one that exists, or a path ending in /) goes inside it,
  // under the output's name.
  const namesFolder = /[/\\]$/.test(flags.output) || (await isFolder(target));
  if (recorded.type === 'file' && namesFolder) {
    await mkdir(target, { recursive: true });
    target = path.join(target, ref.output);
  }
  const written = await cairn.pipelines.downloadOutput(run, ref, target);
  const relative = path.relative(process.cwd(), written.path);
  const shown = relative === '' ? '.' : relative.startsWith('..') ? written.path : relative;
  if (flags.json === true) {
    printJson({ path: written.path, type: written.type, files: written.files, sizeBytes: written.sizeBytes });
  } else if (written.type === 'file') {
    printLine(`Wrote ${shown} (${formatBytes(written.sizeBytes)})`);
  } else {
    printLine(`Wrote ${written.files} files (${formatBytes(written.sizeBytes)}) under ${shown}/`);
  }
}
