import type { PipelineRunStatus } from '@cairn/contract';
import type { Command } from 'commander';
import { runDetailText, runsTable } from '../output/pipeline-format.js';
import { printJson, printLine } from '../output/print.js';
import { terminalWidth } from '../output/table.js';
import { clientFor, parsePositiveInt } from './context.js';
import { followRun } from './pipeline-run.js';

interface JsonFlag {
  json?: boolean;
}

interface ListFlags extends JsonFlag {
  project?: string;
  pipeline?: string;
  status?: PipelineRunStatus;
  limit?: string;
  pageToken?: string;
}

/** `cairn pipeline runs ls`: newest first. */
export async function listRunsCommand(flags: ListFlags, command: Command): Promise<void> {
  const page = await clientFor(command).pipelines.list({
    ...(flags.project === undefined ? {} : { project: flags.project }),
    ...(flags.pipeline === undefined ? {} : { pipeline: flags.pipeline }),
    ...(flags.status === undefined ? {} : { status: flags.status }),
    ...(flags.limit === undefined ? {} : { maxResults: parsePositiveInt(flags.limit, '--limit') }),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.runs.length === 0) printLine('No pipeline runs.');
  else printLine(runsTable(page.runs, Date.now(), terminalWidth()));
  if (page.nextPageToken !== undefined) printLine(`More: --page-token ${page.nextPageToken}`);
}

/** `cairn pipeline runs show RUN`: `--json` prints the PipelineRunDetailJson itself. */
export async function showRunCommand(run: string, flags: JsonFlag, command: Command): Promise<void> {
  const detail = await clientFor(command).pipelines.get(run);
  if (flags.json === true) printJson(detail);
  else printLine(runDetailText(detail, { now: Date.now(), width: terminalWidth() }));
}

/** `cairn pipeline runs logs RUN STEP [--stderr]`: the log as it is, on stdout. */
export async function logsCommand(...args: [string, string, { stderr?: boolean }, Command]): Promise<void> {
  const [run, step, flags, command] = args;
  const text = await clientFor(command).pipelines.logs(
    run,
    step,
    flags.stderr === true ? 'stderr' : 'stdout',
  );
  process.stdout.write(text);
}

/** `cairn pipeline runs resume RUN`: then follows it like `pipeline run`. */
export async function resumeCommand(
  run: string,
  flags: JsonFlag & { detach?: boolean },
  command: Command,
): Promise<void> {
  const cairn = clientFor(command);
  const resumed = await cairn.pipelines.resume(run);
  if (flags.detach === true) {
    if (flags.json === true) printJson(resumed);
    else printLine(resumed.id);
    return;
  }
  await followRun(cairn, resumed, { json: flags.json });
}

/** `cairn pipeline runs cancel RUN`: `--json` prints the PipelineRunJson. */
export async function cancelCommand(run: string, flags: JsonFlag, command: Command): Promise<void> {
  const cancelled = await clientFor(command).pipelines.cancel(run);
  if (flags.json === true) printJson(cancelled);
  else if (cancelled.status === 'cancelling') {
    printLine(
      `Cancelling run ${cancelled.id}: running steps are being stopped (see cairn pipeline runs show ${cancelled.id}).`,
    );
  } else printLine(`Run ${cancelled.id} is ${cancelled.status}.`);
}
