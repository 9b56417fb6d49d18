import {
  MODEL_FORMATS,
  namesVersion,
  normalizeModelReference,
  type ModelFormat,
  type ModelVersion,
  type RegisteredModel,
} from '@cairn/contract';
import type { TransferProgress } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import {
  aliasList,
  formatBytes,
  formatCount,
  indent,
  signatureTable,
  versionSummary,
} from '../output/models-format.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor, parsePositiveInt } from './context.js';

interface RegisterFlags {
  project?: string;
  run?: string;
  format?: string;
  description?: string;
  tag?: string[];
  json?: boolean;
}

/** A source the server reads itself; anything else is a local path to upload. */
const REMOTE_SOURCE = /^(runs|models|mlflow-artifacts):/;

/** Upload progress is worth a line only when there is enough to wait for. */
const PROGRESS_MIN_BYTES = 8 * 1000 * 1000;
const PROGRESS_MIN_FILES = 50;

function parseFormat(value: string | undefined): ModelFormat | undefined {
  if (value === undefined) return undefined;
  const format = value.toLowerCase();
  if (!(MODEL_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${MODEL_FORMATS.join(', ')}, not "${value}"`);
  }
  return format as ModelFormat;
}

function parseTags(tags: string[] | undefined): Record<string, string> | undefined {
  if (tags === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const tag of tags) {
    const eq = tag.indexOf('=');
    if (eq < 1) throw new UsageError(`--tag takes key=value, not "${tag}"`);
    out[tag.slice(0, eq)] = tag.slice(eq + 1);
  }
  return out;
}

/** `Uploading 120/1,000 files, 3.4 MB of 12.3 MB` on one rewritten stderr line, at most 10 times a second. */
function progressLine(): { update(p: TransferProgress): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(p) {
      if (!tty || (p.bytesTotal < PROGRESS_MIN_BYTES && p.filesTotal < PROGRESS_MIN_FILES)) return;
      const now = Date.now();
      if (now - last < 100 && p.filesDone < p.filesTotal) return;
      last = now;
      shown = true;
      process.stderr.write(
        `\rUploading ${formatCount(p.filesDone)}/${formatCount(p.filesTotal)} files, ` +
          `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}\u001b[K`,
      );
    },
    done() {
      if (shown) process.stderr.write('\n');
    },
  };
}

// Commander passes the arguments, then the flags, then the command: a tuple keeps them typed.
export async function registerCommand(...args: [string, string, RegisterFlags, Command]): Promise<void> {
  const [name, pathOrUri, flags, command] = args;
  const cairn = clientFor(command);
  const format = parseFormat(flags.format);
  const tags = parseTags(flags.tag);
  const progress = progressLine();
  let version: ModelVersion;
  try {
    version = await cairn.registerModel({
      name,
      ...(flags.project === undefined ? {} : { project: flags.project }),
      ...(REMOTE_SOURCE.test(pathOrUri) ? { source: pathOrUri } : { path: pathOrUri }),
      ...(flags.run === undefined ? {} : { runId: flags.run }),
      ...(format === undefined ? {} : { format }),
      ...(flags.description === undefined ? {} : { description: flags.description }),
      ...(tags === undefined ? {} : { tags }),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.done();
  }
  if (flags.json === true) {
    printJson(version);
    return;
  }
  printLine(`Registered ${version.name} version ${version.version} (${versionSummary(version)})`);
  if (version.signature !== null)
    printLine(`\nSignature (${version.signature.source})\n${signatureTable(version.signature)}`);
  if (version.statusMessage !== '') printLine(`\nNote: ${version.statusMessage}`);
}

interface ListFlags {
  filter?: string;
  orderBy?: string[];
  maxResults: string;
  pageToken?: string;
  json?: boolean;
}

export async function listModelsCommand(flags: ListFlags, command: Command): Promise<void> {
  const cairn = clientFor(command);
  const page = await cairn.listModels({
    ...(flags.filter === undefined ? {} : { filter: flags.filter }),
    ...(flags.orderBy === undefined ? {} : { orderBy: flags.orderBy }),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
    maxResults: parsePositiveInt(flags.maxResults, '--max-results'),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.models.length === 0) {
    printLine('No registered models.');
    return;
  }
  printLine(
    renderTable(page.models, [
      { header: 'NAME', value: (m) => m.name },
      {
        header: 'LATEST',
        value: (m) => (m.latestVersion === null ? '-' : String(m.latestVersion)),
        align: 'right',
      },
      { header: 'ALIASES', value: (m) => aliasList(m.aliases) },
      { header: 'UPDATED', value: (m) => formatTime(m.lastUpdateTime), keep: true },
      { header: 'DESCRIPTION', value: (m) => m.description.split('\n')[0] ?? '' },
    ]),
  );
  if (page.nextPageToken !== undefined) printLine(`\nMore: --page-token ${page.nextPageToken}`);
}

const versionColumns = [
  { header: 'VERSION', value: (v: ModelVersion) => String(v.version), align: 'right' as const, keep: true },
  { header: 'ALIASES', value: (v: ModelVersion) => (v.aliases.length === 0 ? '-' : v.aliases.join(', ')) },
  { header: 'STAGE', value: (v: ModelVersion) => v.stage },
  { header: 'FORMAT', value: (v: ModelVersion) => v.format },
  { header: 'FILES', value: (v: ModelVersion) => formatCount(v.fileCount), align: 'right' as const },
  { header: 'SIZE', value: (v: ModelVersion) => formatBytes(v.sizeBytes), align: 'right' as const },
  { header: 'CREATED', value: (v: ModelVersion) => formatTime(v.creationTime), keep: true },
  { header: 'RUN', value: (v: ModelVersion) => v.runId ?? '-' },
];

export async function listVersionsCommand(
  name: string,
  flags: Omit<ListFlags, 'orderBy'>,
  command: Command,
): Promise<void> {
  const cairn = clientFor(command);
  const page = await cairn.listVersions(name, {
    ...(flags.filter === undefined ? {} : { filter: flags.filter }),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
    maxResults: parsePositiveInt(flags.maxResults, '--max-results'),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.versions.length === 0) {
    printLine(`No versions of ${name}.`);
    return;
  }
  printLine(renderTable(page.versions, versionColumns));
  if (page.nextPageToken !== undefined) printLine(`\nMore: --page-token ${page.nextPageToken}`);
}

const field = (label: string, value: string): string => `${`${label}:`.padEnd(13)}${value}`;

function tagsTable(tags: Record<string, string>): string | undefined {
  const entries = Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return undefined;
  return renderTable(entries, [
    { header: 'KEY', value: ([k]) => k },
    { header: 'VALUE', value: ([, v]) => v },
  ]);
}

function printModel(model: RegisteredModel, versions: ModelVersion[]): void {
  printLine(field('Model', model.name));
  printLine(field('Project', model.project));
  if (model.description !== '') printLine(field('Description', model.description));
  printLine(field('Latest', model.latestVersion === null ? '-' : String(model.latestVersion)));
  printLine(field('Aliases', aliasList(model.aliases)));
  printLine(field('Created', formatTime(model.creationTime)));
  printLine(field('Updated', formatTime(model.lastUpdateTime)));
  const tags = tagsTable(model.tags);
  if (tags !== undefined) printLine(`\nTags\n${tags}`);
  if (versions.length > 0) printLine(`\nVersions (newest first)\n${renderTable(versions, versionColumns)}`);
}

function printVersion(v: ModelVersion): void {
  const lines: Array<[string, string]> = [
    ['Model', v.name],
    ['Version', String(v.version)],
    ['Aliases', v.aliases.length === 0 ? '-' : v.aliases.join(', ')],
    ['Stage', v.stage],
    ['Status', v.status],
    ['Format', v.format],
    ['Digest', v.digest],
    ['Files', `${formatCount(v.fileCount)} (${formatBytes(v.sizeBytes)})`],
    ['Source', v.source],
    ['Run', v.runId ?? '-'],
    ['Registered', `${formatTime(v.creationTime)} by ${v.userId}`],
    ['Updated', formatTime(v.lastUpdateTime)],
  ];
  if (v.description !== '') lines.push(['Description', v.description]);
  for (const [label, value] of lines) printLine(field(label, value));
  printLine(
    v.signature === null
      ? '\nSignature: none recorded'
      : `\nSignature (${v.signature.source})\n${signatureTable(v.signature)}`,
  );
  const tags = tagsTable(v.tags);
  if (tags !== undefined) printLine(`\nTags\n${tags}`);
  if (v.statusMessage !== '') printLine(`\nNotes\n${indent(v.statusMessage)}`);
}

export async function showCommand(ref: string, flags: { json?: boolean }, command: Command): Promise<void> {
  const cairn = clientFor(command);
  if (namesVersion(ref)) {
    const version = await cairn.resolveModel(normalizeModelReference(ref));
    if (flags.json === true) printJson(version);
    else printVersion(version);
    return;
  }
  const model = await cairn.getModel(ref);
  if (flags.json === true) {
    printJson(model);
    return;
  }
  const versions = await cairn.listVersions(ref, { maxResults: 10 });
  printModel(model, versions.versions);
  if (versions.nextPageToken !== undefined) printLine(`\nAll versions: cairn models versions "${ref}"`);
}

export async function downloadCommand(...args: [string, string, { json?: boolean }, Command]): Promise<void> {
  const [ref, dir, flags, command] = args;
  const cairn = clientFor(command);
  const { version, files } = await cairn.downloadModel(normalizeModelReference(ref), dir);
  if (flags.json === true) {
    printJson({ version, files, dir });
    return;
  }
  printLine(
    `Downloaded ${version.name} version ${version.version} (${versionSummary(version)}) to ${dir}; ` +
      `every file matched its sha256`,
  );
}

export async function removeCommand(
  ...args: [string, string | undefined, { json?: boolean }, Command]
): Promise<void> {
  const [name, version, flags, command] = args;
  const cairn = clientFor(command);
  if (version === undefined) {
    await cairn.models.delete(name);
    if (flags.json === true) printJson({ deleted: { name } });
    else printLine(`Deleted model ${name} and all its versions (alias history is kept)`);
    return;
  }
  const number = parsePositiveInt(version, 'VERSION');
  await cairn.models.deleteVersion(name, number);
  if (flags.json === true) printJson({ deleted: { name, version: number } });
  else printLine(`Deleted ${name} version ${number}`);
}
