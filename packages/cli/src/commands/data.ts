import type { Command } from 'commander';
import { lazy } from './lazy.js';

const write = () => import('./data-write.js');
const read = () => import('./data-read.js');
const transfer = () => import('./data-transfer.js');

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `cairn data …`: versioned datasets. Definitions only; each action loads its code when run. */
export function registerDataCommands(program: Command): void {
  const group = program
    .command('data')
    .description('Version datasets: add files, browse history, diff, check out, push and pull')
    .addHelpText(
      'after',
      '\nA version is named NAME@VERSION, NAME@ALIAS or NAME@latest; NAME alone is the latest version.',
    );

  group
    .command('add')
    .argument('<name>', 'dataset name (created when missing)')
    .argument('<paths...>', 'files, folders (taken recursively) and globs ("data/**/*.csv")')
    .description('Add files as the next version of a dataset; unchanged files are not sent again')
    .requiredOption('-m, --message <text>', 'what this version changes')
    .option('--project <id>', 'project of a dataset this creates (default: default); ignored when it exists')
    .option('--alias <alias>', 'point this alias at the new version (repeatable)', collect)
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print {"dataset","version","files","bytesTotal","bytesNew"}')
    .addHelpText(
      'after',
      '\nVersion paths are relative to the deepest folder holding every argument: a file alone is its\n' +
        'name, a folder keeps its own name (data → data/train.csv) unless written as "data/" or ".",\n' +
        'and a glob is relative to the folder before its first wildcard.',
    )
    .action(lazy(async () => (await write()).addCommand));

  group
    .command('log')
    .argument('<name>', 'dataset name')
    .description('List the versions of a dataset, newest first')
    .option('--max-results <n>', 'page size', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await read()).logCommand));

  group
    .command('ls')
    .alias('list')
    .description('List datasets')
    .option('--project <id>', 'only datasets of this project')
    .option('--prefix <text>', 'only names starting with this text')
    .option('--max-results <n>', 'page size', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await read()).listCommand));

  group
    .command('show')
    .argument('<ref>', 'NAME@VERSION, NAME@ALIAS or NAME')
    .description('Show a version: message, files and the profile of each table (csv, parquet, jsonl)')
    .option('--files <n>', 'how many files to list', '20')
    .option('--all', 'list every file')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await read()).showCommand));

  group
    .command('diff')
    .argument('<from>', 'NAME@VERSION (or alias)')
    .argument('<to>', 'NAME@VERSION (or alias) of the same dataset')
    .description(
      'Files added, removed and changed; per table rows added/removed/changed, schema and stat shifts',
    )
    .option('--key <column>', 'match table rows by this column (by whole-row content otherwise)')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await read()).diffCommand));

  group
    .command('checkout')
    .argument('<ref>', 'NAME@VERSION, NAME@ALIAS or NAME')
    .description('Write the files of a version into a folder; files already right are left alone')
    .requiredOption('-o, --output <dir>', 'folder to write to (created when missing)')
    .option('--verify', 'hash every file already there instead of trusting the stat cache')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await write()).checkoutCommand));

  for (const direction of ['push', 'pull'] as const) {
    group
      .command(direction)
      .argument('<ref>', 'NAME, or NAME@VERSION for that version and its ancestors')
      .description(
        direction === 'push'
          ? 'Copy the versions a remote Cairn lacks to it (only missing chunks travel)'
          : 'Copy the versions this Cairn lacks from a remote one (only missing chunks travel)',
      )
      .requiredOption('--remote <url>', 'the other Cairn server')
      .option('--remote-token <token>', 'API token for the remote [env CAIRN_REMOTE_TOKEN]')
      .option('--project <id>', 'project of the dataset when this creates it (default: default)')
      .option('--json', 'print JSON')
      .action(lazy(async () => (await transfer())[direction === 'push' ? 'pushCommand' : 'pullCommand']));
  }

  group
    .command('gc')
    .description('Delete stored data no version reaches any more (Cairn admins)')
    .option('--grace-seconds <n>', 'keep anything younger than this (an add may still need it)')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await write()).gcCommand));

  group
    .command('alias')
    .argument('<name>', 'dataset name')
    .argument('<alias>', 'alias to set')
    .argument('[version]', 'version number (or another alias, or latest) to point it at')
    .description('Point an alias at a version (or remove it with --delete)')
    .option('--delete', 'remove the alias')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await write()).aliasCommand));
}
