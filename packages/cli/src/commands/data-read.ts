import type { VersionFileJson } from '@cairn/sdk';
import type { Command } from 'commander';
import {
  datasetDiff,
  filesTable,
  tableProfile,
  versionLogTable,
  versionSummary,
} from '../output/data-format.js';
import { UsageError } from '../output/errors.js';
import { aliasList, formatCount } from '../output/models-format.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor, parsePositiveInt } from './context.js';
import { datasetRef } from './data-args.js';

interface PageFlags {
  maxResults: string;
  pageToken?: string;
  json?: boolean;
}

export async function logCommand(name: string, flags: PageFlags, command: Command): Promise<void> {
  datasetRef(name);
  const page = await clientFor(command).datasets.listVersions(name, {
    maxResults: parsePositiveInt(flags.maxResults, '--max-results'),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.versions.length === 0) {
    printLine(`${name} has no versions yet.`);
    return;
  }
  printLine(versionLogTable(page.versions));
  if (page.nextPageToken !== undefined) printLine(`\nMore: --page-token ${page.nextPageToken}`);
}

export async function listCommand(
  flags: PageFlags & { project?: string; prefix?: string },
  command: Command,
): Promise<void> {
  const page = await clientFor(command).datasets.list({
    maxResults: parsePositiveInt(flags.maxResults, '--max-results'),
    ...(flags.pageToken === undefined ? {} : { pageToken: flags.pageToken }),
    ...(flags.project === undefined ? {} : { project: flags.project }),
    ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
  });
  if (flags.json === true) {
    printJson(page);
    return;
  }
  if (page.datasets.length === 0) {
    printLine('No datasets.');
    return;
  }
  printLine(
    renderTable(page.datasets, [
      { header: 'NAME', value: (d) => d.name },
      { header: 'PROJECT', value: (d) => d.project },
      {
        header: 'LATEST',
        value: (d) => (d.latestVersion === 0 ? '-' : String(d.latestVersion)),
        align: 'right',
      },
      { header: 'ALIASES', value: (d) => aliasList(d.aliases) },
      { header: 'UPDATED', value: (d) => formatTime(d.updatedAt), keep: true },
      { header: 'DESCRIPTION', value: (d) => d.description.split('\n')[0] ?? '' },
    ]),
  );
  if (page.nextPageToken !== undefined) printLine(`\nMore: --page-token ${page.nextPageToken}`);
}

export async function showCommand(
  ref: string,
  flags: { files: string; all?: boolean; json?: boolean },
  command: Command,
): Promise<void> {
  const at = datasetRef(ref);
  const limit = parsePositiveInt(flags.files, '--files');
  const datasets = clientFor(command).datasets;
  const { version, tables } = await datasets.getVersion(at.name, at.ref);
  let files: VersionFileJson[];
  let more: boolean;
  if (flags.all === true) {
    files = await datasets.allFiles(at.name, version.version);
    more = false;
  } else {
    const page = await datasets.listFiles(at.name, version.version, { maxResults: limit });
    files = page.files.slice(0, limit);
    more = page.nextPageToken !== undefined || page.files.length > limit;
  }
  if (flags.json === true) {
    printJson({ version, tables, files, moreFiles: more });
    return;
  }
  printLine(versionSummary(version));
  if (files.length > 0) printLine(`\n${filesTable(files)}`);
  if (more) printLine(`… ${formatCount(version.files - files.length)} more (--all lists every file)`);
  for (const table of tables) printLine(`\n${tableProfile(table)}`);
}

export async function diffCommand(
  ...args: [string, string, { key?: string; json?: boolean }, Command]
): Promise<void> {
  const [fromRef, toRef, flags, command] = args;
  const from = datasetRef(fromRef);
  const to = datasetRef(toRef);
  if (from.name !== to.name) {
    throw new UsageError(`diff compares two versions of one dataset, not ${from.name} and ${to.name}`);
  }
  const diff = await clientFor(command).datasets.diff(from.name, {
    from: from.ref,
    to: to.ref,
    ...(flags.key === undefined ? {} : { key: flags.key }),
  });
  if (flags.json === true) printJson(diff);
  else printLine(datasetDiff(diff));
}
