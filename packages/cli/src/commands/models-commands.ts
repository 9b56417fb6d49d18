import type { Command } from 'commander';
import { lazy } from './lazy.js';

const models = () => import('./models.js');
const labels = () => import('./models-labels.js');
const docs = () => import('./models-card.js');

/** `cairn models …`: the registry. Definitions only; each action loads its code when run. */
export function registerModelCommands(program: Command): void {
  const group = program
    .command('models')
    .alias('model')
    .description('Register, find, label and document model versions')
    .addHelpText(
      'after',
      '\nA version is named NAME@ALIAS, NAME/VERSION or NAME@VERSION; NAME alone is the newest version.',
    );

  group
    .command('register')
    .argument('<name>', 'registered model name (created when missing)')
    .argument(
      '<path>',
      'a local file or folder to upload, or a runs:/…, mlflow-artifacts:/… or models:/… URI',
    )
    .description('Register a new model version and print it with its signature')
    .option('--project <id>', 'project of a model this creates (default: default); ignored when it exists')
    .option('--run <run-id>', 'the run that made the model (recorded in lineage)')
    .option(
      '--format <format>',
      'onnx, mlflow, command (a folder with cairn-model.json) or opaque (detected when omitted)',
    )
    .option('--description <text>', 'description of the new version')
    .option('--tag <key=value...>', 'tags of the new version')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await models()).registerCommand));

  group
    .command('ls')
    .alias('list')
    .description('List registered models')
    .option('--filter <expr>', `e.g. "name LIKE 'churn%'" or "tags.team = 'risk'"`)
    .option('--order-by <clause...>', 'e.g. "name ASC" or "last_updated_timestamp DESC"')
    .option('--max-results <n>', 'page size', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await models()).listModelsCommand));

  group
    .command('show')
    .argument('<ref>', 'NAME for the model, or NAME@ALIAS / NAME/VERSION for one version')
    .description('Show a model, or one version with its signature, aliases, stage, digest and files')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await models()).showCommand));

  group
    .command('versions')
    .argument('<name>', 'registered model name')
    .description('List the versions of a model, newest first')
    .option('--filter <expr>', `e.g. "tags.validated = 'true'"`)
    .option('--max-results <n>', 'page size', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await models()).listVersionsCommand));

  group
    .command('download')
    .argument('<ref>', 'NAME@ALIAS, NAME/VERSION or NAME')
    .argument('<dir>', 'folder to write the files to')
    .description('Download the files of a version, each checked against its registered sha256')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await models()).downloadCommand));

  group
    .command('rm')
    .argument('<name>', 'registered model name')
    .argument('[version]', 'only this version')
    .description('Delete a model with all its versions, or one version')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await models()).removeCommand));

  group
    .command('alias')
    .argument('<name@alias>', 'model and alias, e.g. churn@champion')
    .argument('[version]', 'version number to point the alias at')
    .description('Point an alias at a version (or remove it with --delete)')
    .option('--delete', 'remove the alias')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await labels()).aliasCommand));

  group
    .command('history')
    .alias('alias-history')
    .argument('<name>', 'registered model name')
    .argument('[alias]', 'only this alias')
    .description('Which version each alias (and stage) pointed at, from when to when')
    .option('--at <date>', 'only what held at this moment, e.g. 2026-03-03 or 2026-03-03T12:00:00Z')
    .option('--kind <kind>', 'alias or stage (default: both; an ALIAS implies alias)')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await labels()).historyCommand));

  group
    .command('stage')
    .argument('<name>', 'registered model name')
    .argument('<version>', 'version number')
    .argument('<stage>', 'None, Staging, Production or Archived')
    .description('Move a version to an MLflow stage (kept for MLflow clients; prefer aliases)')
    .option('--archive-existing', 'archive the other versions in that stage')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await labels()).stageCommand));

  group
    .command('card')
    .argument('<name>', 'registered model name')
    .argument('<version>', 'version number or alias')
    .description('Print the model card as Markdown, or edit it')
    .option('--edit <file>', 'apply a .json file of sections, or replace from an edited Markdown export')
    .option('--markdown', 'print Markdown (the default)')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await docs()).cardCommand));

  group
    .command('lineage')
    .argument('<ref>', 'NAME@VERSION_OR_ALIAS (or NAME/VERSION)')
    .description('Print the provenance of a version: its run, datasets, parent runs and code versions')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await docs()).lineageCommand));
}
