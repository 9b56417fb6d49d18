import type { AddProgress, CheckoutProgress } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { formatBytes, formatCount } from '../output/models-format.js';
import { printJson, printLine } from '../output/print.js';
import { createProgressBar } from '../output/progress-bar.js';
import { clientFor, parsePositiveInt } from './context.js';
import { datasetRef } from './data-args.js';

interface AddFlags {
  message: string;
  project?: string;
  alias?: string[];
  progress?: boolean;
  json?: boolean;
}

const plural = (n: number, word: string): string => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;

const ADD_LABELS: Record<AddProgress['phase'], string> = {
  hashing: 'Checking ',
  uploading: 'Uploading',
  committing: 'Saving   ',
};

// Commander passes the arguments, then the flags, then the command: a tuple keeps them typed.
export async function addCommand(...args: [string, string[], AddFlags, Command]): Promise<void> {
  const [name, paths, flags, command] = args;
  datasetRef(name);
  const cairn = clientFor(command);
  const bar = createProgressBar({
    label: ADD_LABELS.hashing,
    force: flags.progress === true,
    off: flags.json === true && flags.progress !== true,
  });
  let version;
  try {
    version = await cairn.addDataset(name, paths, {
      message: flags.message,
      ...(flags.project === undefined ? {} : { project: flags.project }),
      aliases: flags.alias ?? [],
      onProgress: (p) => bar.update(p, ADD_LABELS[p.phase]),
    });
  } finally {
    bar.done();
  }
  if (flags.json === true) {
    printJson({
      dataset: version.dataset,
      version: version.version,
      files: version.files,
      bytesTotal: version.bytesTotal,
      bytesNew: version.bytesNew,
    });
    return;
  }
  const aliases = version.aliases.length === 0 ? '' : ` [${version.aliases.join(', ')}]`;
  printLine(
    `Added ${version.dataset}@${version.version}${aliases}: ${plural(version.files, 'file')}, ` +
      `${formatBytes(version.bytesTotal)} (${formatBytes(version.bytesNew)} new)`,
  );
}

interface CheckoutFlags {
  output: string;
  verify?: boolean;
  progress?: boolean;
  json?: boolean;
}

/** How many extra paths a human sees before "and N more". */
const EXTRA_SHOWN = 10;

export async function checkoutCommand(ref: string, flags: CheckoutFlags, command: Command): Promise<void> {
  const at = datasetRef(ref);
  const cairn = clientFor(command);
  const bar = createProgressBar({
    label: 'Checking',
    force: flags.progress === true,
    off: flags.json === true && flags.progress !== true,
  });
  let result;
  try {
    result = await cairn.checkoutDataset(at, flags.output, {
      ...(flags.verify === true ? { verifyAll: true } : {}),
      onProgress: (p: CheckoutProgress) => bar.update(p, p.phase === 'checking' ? 'Checking' : 'Fetching'),
    });
  } finally {
    bar.done();
  }
  if (flags.json === true) {
    printJson(result);
    return;
  }
  printLine(
    `Checked out ${result.dataset}@${result.version} into ${result.dir}: ` +
      `${plural(result.written.length, 'file')} written (${formatBytes(result.bytesWritten)}), ` +
      `${formatCount(result.skipped)} already up to date`,
  );
  if (result.extra.length > 0) {
    printLine(`${plural(result.extra.length, 'file')} there not in the version (left alone):`);
    for (const p of result.extra.slice(0, EXTRA_SHOWN)) printLine(`  ${p}`);
    if (result.extra.length > EXTRA_SHOWN)
      printLine(`  … and ${formatCount(result.extra.length - EXTRA_SHOWN)} more`);
  }
}

export async function gcCommand(
  flags: { graceSeconds?: string; json?: boolean },
  command: Command,
): Promise<void> {
  let graceSeconds: number | undefined;
  if (flags.graceSeconds !== undefined) {
    graceSeconds = Number(flags.graceSeconds);
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
      throw new UsageError(`--grace-seconds must be a whole number of seconds, not "${flags.graceSeconds}"`);
    }
  }
  const result = await clientFor(command).datasets.gc(graceSeconds === undefined ? {} : { graceSeconds });
  if (flags.json === true) {
    printJson(result);
    return;
  }
  printLine(
    `Freed ${formatBytes(result.bytesFreed)}: ${plural(result.objectsDeleted, 'file object')}, ` +
      `${plural(result.chunksDeleted, 'chunk')} and ${plural(result.packsDeleted, 'pack')} deleted, ` +
      `${plural(result.packsRewritten, 'pack')} rewritten, ${plural(result.uploadsExpired, 'abandoned add')} expired`,
  );
}

export async function aliasCommand(
  ...args: [string, string, string | undefined, { delete?: boolean; json?: boolean }, Command]
): Promise<void> {
  const [name, alias, versionArg, flags, command] = args;
  datasetRef(name);
  const cairn = clientFor(command);
  if (flags.delete === true) {
    if (versionArg !== undefined) throw new UsageError('--delete takes no VERSION');
    await cairn.datasets.deleteAlias(name, alias);
    if (flags.json === true) printJson({ dataset: name, alias, deleted: true });
    else printLine(`Removed ${name}@${alias}`);
    return;
  }
  if (versionArg === undefined) throw new UsageError('Give the VERSION to point the alias at (or --delete)');
  const version = /^\d+$/.test(versionArg)
    ? parsePositiveInt(versionArg, 'VERSION')
    : (await cairn.datasets.getVersion(name, datasetRef(`${name}@${versionArg}`).ref)).version.version;
  await cairn.datasets.setAlias(name, alias, version);
  if (flags.json === true) printJson({ dataset: name, alias, version });
  else printLine(`${name}@${alias} → ${version}`);
}
