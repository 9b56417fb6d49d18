import {
  DATASET_ALIAS_PATTERN,
  DATASET_NAME_PATTERN,
  type PipelineExecutorName,
  type PipelineTriggerJson,
} from '@cairn/contract';
import type { UploadedCode } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable, terminalWidth, type Column } from '../output/table.js';
import { clientFor } from './context.js';
import { checkRunParams, parseParamFlags } from './pipeline-file.js';
import { describeUpload, followRun, loadChecked, reportProblems } from './pipeline-run.js';

/**
 * `cairn pipeline schedule FILE` and `cairn pipeline schedules …`: triggers
 * that start a pipeline on a cron schedule or on each new version of a
 * dataset (or move of one of its aliases). The flag parsing and the text
 * forms are pure and exported for tests.
 */

// ── flags ──

export interface DatasetWatch {
  name: string;
  /** Absent: every new version. */
  alias?: string;
}

export type TriggerWhen = { schedule: { cron: string; timezone?: string } } | { dataset: DatasetWatch };

const DATASET_NAME = new RegExp(DATASET_NAME_PATTERN);
const DATASET_ALIAS = new RegExp(DATASET_ALIAS_PATTERN);

/** `churn` (each new version), `churn@golden` (each move of the alias); `churn@latest` is the same as `churn`. */
export function parseDatasetWatch(text: string): DatasetWatch {
  const at = text.indexOf('@');
  const name = (at < 0 ? text : text.slice(0, at)).trim();
  const alias = at < 0 ? undefined : text.slice(at + 1).trim();
  const flag = `--on-dataset "${text}"`;
  if (name === '') throw new UsageError(`${flag}: give the dataset, e.g. --on-dataset churn or churn@golden`);
  if (!DATASET_NAME.test(name)) {
    throw new UsageError(
      `${flag}: "${name}" is not a dataset name (letters, digits, ".", "_", "-", starting with a letter or digit)`,
    );
  }
  if (alias === undefined || alias === 'latest') return { name };
  if (alias === '') throw new UsageError(`${flag}: give an alias after "@", e.g. ${name}@golden`);
  if (/^\d+$/.test(alias)) {
    throw new UsageError(
      `${flag}: version ${alias} never changes; watch the dataset (${name}) or one of its aliases (${name}@golden)`,
    );
  }
  if (!DATASET_ALIAS.test(alias)) throw new UsageError(`${flag}: "${alias}" is not an alias name`);
  return { name, alias };
}

/** Exactly one of `--cron` (with an optional `--timezone`) and `--on-dataset`. */
export function triggerWhen(flags: { cron?: string; timezone?: string; onDataset?: string }): TriggerWhen {
  if (flags.cron !== undefined && flags.onDataset !== undefined) {
    throw new UsageError('give --cron or --on-dataset, not both: a trigger fires on one of them');
  }
  if (flags.onDataset !== undefined) {
    if (flags.timezone !== undefined) throw new UsageError('--timezone goes with --cron, not --on-dataset');
    return { dataset: parseDatasetWatch(flags.onDataset) };
  }
  if (flags.cron === undefined) {
    throw new UsageError(
      'say when the pipeline runs: --cron "0 3 * * *" (a schedule) or --on-dataset NAME[@ALIAS] (new data)',
    );
  }
  return {
    schedule: { cron: flags.cron, ...(flags.timezone === undefined ? {} : { timezone: flags.timezone }) },
  };
}

// ── text ──

/** The zone this machine shows times in. */
export const localZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** `2026-11-28 03:00` as a wall clock in `timeZone` shows it. */
export function wallClock(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

const isUtc = (zone: string): boolean => ['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal'].includes(zone);

/** `2026-11-28 03:00 Europe/Paris (2026-11-28 02:00 UTC)`: local time, then UTC. */
export function formatNextAt(ms: number, zone: string): string {
  const utc = `${wallClock(ms, 'UTC')} UTC`;
  return isUtc(zone) ? utc : `${wallClock(ms, zone)} ${zone} (${utc})`;
}

/** The table's WHEN: `0 3 * * * Europe/Paris` (UTC when no zone), `churn`, `churn@golden`. */
export function whenText(trigger: PipelineTriggerJson): string {
  if (trigger.kind === 'schedule') return `${trigger.cron ?? '?'} ${trigger.timezone ?? 'UTC'}`;
  return trigger.alias === null ? (trigger.dataset ?? '?') : `${trigger.dataset ?? '?'}@${trigger.alias}`;
}

/** In a sentence: `on "0 3 * * *" (Europe/Paris)`, `on each new version of churn`, `each time alias golden of churn moves`. */
export function firesText(trigger: PipelineTriggerJson): string {
  if (trigger.kind === 'schedule') return `on "${trigger.cron ?? '?'}" (${trigger.timezone ?? 'UTC'})`;
  return trigger.alias === null
    ? `on each new version of ${trigger.dataset ?? '?'}`
    : `each time alias ${trigger.alias} of ${trigger.dataset ?? '?'} moves`;
}

/** The table's NEXT: the UTC time of a schedule, what a dataset trigger waits for, or paused. */
export function nextText(trigger: PipelineTriggerJson): string {
  if (!trigger.enabled) return 'paused';
  if (trigger.kind === 'dataset') return trigger.alias === null ? 'new version' : `${trigger.alias} moves`;
  return trigger.nextAt === null ? '-' : `${wallClock(trigger.nextAt, 'UTC')} UTC`;
}

const named = (trigger: PipelineTriggerJson): string =>
  trigger.project === 'default' ? trigger.name : `${trigger.name} (project ${trigger.project})`;

/** What `schedule` prints once the trigger is saved: one line. */
export function savedLine(trigger: PipelineTriggerJson, zone: string): string {
  const next =
    trigger.kind === 'schedule' && trigger.nextAt !== null
      ? `, next at ${formatNextAt(trigger.nextAt, zone)}`
      : '';
  return `Saved schedule ${named(trigger)}: pipeline ${trigger.pipeline} runs ${firesText(trigger)}${next}.`;
}

export function triggersTable(triggers: readonly PipelineTriggerJson[], width?: number): string {
  const columns: Column<PipelineTriggerJson>[] = [
    { header: 'NAME', value: (t) => t.name, keep: true },
    { header: 'PROJECT', value: (t) => t.project },
    { header: 'KIND', value: (t) => t.kind },
    { header: 'WHEN', value: whenText },
    { header: 'PIPELINE', value: (t) => t.pipeline },
    { header: 'ENABLED', value: (t) => (t.enabled ? 'yes' : 'no') },
    { header: 'NEXT', value: nextText },
  ];
  return renderTable(triggers, columns, width);
}

const LABEL_WIDTH = 11;
const field = (label: string, value: string): string => `${`${label}:`.padEnd(LABEL_WIDTH)}${value}`;
const paramText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** What `schedules show` prints. */
export function triggerDetailText(trigger: PipelineTriggerJson, zone: string): string {
  const params = Object.entries(trigger.params);
  const lines = [
    field('Schedule', `${trigger.name} (project ${trigger.project}, id ${trigger.id})`),
    field('Pipeline', trigger.pipeline),
    field('Runs', firesText(trigger)),
    field('Status', trigger.enabled ? 'enabled' : 'paused'),
  ];
  if (trigger.kind === 'schedule') {
    const next = trigger.nextAt === null ? '-' : formatNextAt(trigger.nextAt, zone);
    lines.push(field('Next', trigger.enabled ? next : `- (paused; resume to fire from the next time on)`));
  } else {
    lines.push(field('Last seen', trigger.lastSeen ?? '- (no version yet)'));
  }
  lines.push(
    field('Params', params.length === 0 ? '-' : params.map(([k, v]) => `${k}=${paramText(v)}`).join(', ')),
    field('Executor', trigger.executor),
    field('Created', `${formatTime(trigger.createdAt)} by ${trigger.createdBy}`),
  );
  return lines.join('\n');
}

// ── commands ──

interface ProjectFlags {
  project?: string;
  json?: boolean;
}

interface ScheduleFlags extends ProjectFlags {
  cron?: string;
  timezone?: string;
  onDataset?: string;
  name?: string;
  param?: string[];
  executor?: PipelineExecutorName;
}

const projectOf = (flags: ProjectFlags) => (flags.project === undefined ? {} : { project: flags.project });

/** `cairn pipeline schedule FILE (--cron EXPR | --on-dataset NAME[@ALIAS])`: validate here, upload, save. */
export async function scheduleCommand(file: string, flags: ScheduleFlags, command: Command): Promise<void> {
  const when = triggerWhen(flags);
  const checked = await loadChecked(file);
  if (!checked.ok) {
    reportProblems(file, checked.problems);
    return;
  }
  const { loaded, spec } = checked;
  const params = parseParamFlags(flags.param ?? []);
  checkRunParams(spec, params);
  const options = {
    name: flags.name ?? spec.name,
    ...projectOf(flags),
    ...(Object.keys(params).length === 0 ? {} : { params }),
    ...(flags.executor === undefined ? {} : { executor: flags.executor }),
    codeDir: loaded.dir,
    skip: [loaded.file],
    onCodeUploaded: (code: UploadedCode) => {
      if (flags.json !== true) process.stderr.write(`${describeUpload(code, loaded.dir)}\n`);
    },
  };
  const triggers = clientFor(command).pipelines.triggers;
  const saved =
    'schedule' in when
      ? await triggers.schedule(loaded.definition, { ...options, ...when.schedule })
      : await triggers.onDataset(loaded.definition, {
          ...options,
          dataset: when.dataset.name,
          ...(when.dataset.alias === undefined ? {} : { alias: when.dataset.alias }),
        });
  if (flags.json === true) printJson(saved);
  else printLine(savedLine(saved, localZone()));
}

/** `cairn pipeline schedules ls`: `--json` prints an array of PipelineTriggerJson. */
export async function listSchedulesCommand(flags: ProjectFlags, command: Command): Promise<void> {
  const triggers = await clientFor(command).pipelines.triggers.list(projectOf(flags));
  if (flags.json === true) printJson(triggers);
  else if (triggers.length === 0) printLine('No pipeline schedules.');
  else printLine(triggersTable(triggers, terminalWidth()));
}

export async function showScheduleCommand(
  name: string,
  flags: ProjectFlags,
  command: Command,
): Promise<void> {
  const trigger = await clientFor(command).pipelines.triggers.get(name, projectOf(flags));
  if (flags.json === true) printJson(trigger);
  else printLine(triggerDetailText(trigger, localZone()));
}

export async function pauseScheduleCommand(
  name: string,
  flags: ProjectFlags,
  command: Command,
): Promise<void> {
  const trigger = await clientFor(command).pipelines.triggers.pause(name, projectOf(flags));
  if (flags.json === true) printJson(trigger);
  else printLine(`Paused ${named(trigger)}: it starts no runs until resumed.`);
}

export async function resumeScheduleCommand(
  name: string,
  flags: ProjectFlags,
  command: Command,
): Promise<void> {
  const trigger = await clientFor(command).pipelines.triggers.resume(name, projectOf(flags));
  if (flags.json === true) printJson(trigger);
  else {
    const next =
      trigger.kind === 'schedule' && trigger.nextAt !== null
        ? `, next at ${formatNextAt(trigger.nextAt, localZone())}`
        : '';
    printLine(`Resumed ${named(trigger)}: pipeline ${trigger.pipeline} runs ${firesText(trigger)}${next}.`);
  }
}

/** `rm NAME`: `--json` prints {"deleted":{"name","project"}}, as other `rm` commands do. */
export async function removeScheduleCommand(
  name: string,
  flags: ProjectFlags,
  command: Command,
): Promise<void> {
  await clientFor(command).pipelines.triggers.delete(name, projectOf(flags));
  const project = flags.project ?? 'default';
  if (flags.json === true) printJson({ deleted: { name, project } });
  else printLine(`Deleted schedule ${name}${project === 'default' ? '' : ` (project ${project})`}.`);
}

/** `fire NAME`: starts a run now, then follows it as `pipeline run` does. */
export async function fireScheduleCommand(
  name: string,
  flags: ProjectFlags & { detach?: boolean },
  command: Command,
): Promise<void> {
  const cairn = clientFor(command);
  const started = await cairn.pipelines.triggers.fire(name, projectOf(flags));
  if (flags.detach === true) {
    if (flags.json === true) printJson(started);
    else printLine(started.id);
    return;
  }
  await followRun(cairn, started, { json: flags.json });
}
