import { Command, CommanderError, Option } from 'commander';
import { lazy } from './commands/lazy.js';
import { registerModelCommands } from './commands/models-commands.js';
import { registerIdentityCommands } from './commands/identity-commands.js';
import { registerPromotionCommands } from './commands/promotion-commands.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerDataCommands } from './commands/data.js';
import { registerDeployCommands } from './commands/deploy.js';
import { registerPipelineCommands } from './commands/pipeline.js';
import { environmentHelp } from './commands/server-help.js';
import { reportError, UsageError } from './output/errors.js';

export interface GlobalOptions {
  url?: string;
  json?: boolean;
}

const DEFAULT_URL = 'http://127.0.0.1:5000';

export function buildProgram(): Command {
  const program = new Command('cairn')
    .description('Cairn — version data, track experiments, govern and serve models.')
    .version('0.1.0', '-v, --version')
    .addOption(new Option('--url <url>', 'Cairn server to talk to').env('CAIRN_URL').default(DEFAULT_URL))
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true })
    .exitOverride();

  program
    .command('server')
    .description('Start the Cairn server (API, MLflow-compatible API) on this machine')
    .option('--host <address>', 'address to bind [env CAIRN_HOST] (default "127.0.0.1")')
    .option('--port <number>', 'TCP port [env CAIRN_PORT] (default 5000)')
    .option(
      '--data-dir <dir>',
      'folder for the SQLite database and blobs [env CAIRN_DATA_DIR] (default "./.cairn")',
    )
    .option('--db-url <url>', 'metadata database: sqlite:PATH or postgres://… [env CAIRN_DB_URL]')
    .option('--blob-url <url>', 'blob store: file:PATH or s3://bucket/prefix [env CAIRN_BLOB_URL]')
    .option('--auth', 'require a token on every route but health, with roles per project [env CAIRN_AUTH]')
    .addHelpText('after', environmentHelp)
    .action(lazy(async () => (await import('./commands/server.js')).serverCommand));

  program
    .command('serve')
    .description(
      'Run a stateless serving process for deployments: loads their models from the blob store, ' +
        'follows their revisions, answers v2 / predict / metrics (no API)',
    )
    .requiredOption('--deployment <name...>', 'deployment(s) to serve (repeat or list several)')
    .option('--host <address>', 'address to bind [env CAIRN_HOST] (default "127.0.0.1")')
    .option('--port <number>', 'TCP port (default 5001)')
    .option('--data-dir <dir>', 'folder of the local database, blobs and model cache [env CAIRN_DATA_DIR]')
    .option('--db-url <url>', 'metadata database the deployments are in [env CAIRN_DB_URL]')
    .option('--blob-url <url>', 'blob store the models are in [env CAIRN_BLOB_URL]')
    .option('--auth', 'require a token on every route but health [env CAIRN_AUTH]')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  cairn serve --deployment churn --port 5001\n' +
        '  CAIRN_DB_URL=postgres://db/cairn CAIRN_BLOB_URL=s3://models/cairn cairn serve --deployment churn --host 0.0.0.0 --auth\n',
    )
    .action(lazy(async () => (await import('./commands/serve.js')).serveCommand));

  program
    .command('worker')
    .description(
      'Run pipeline steps from the job queue (steps of runs started with --executor queue); ' +
        'start as many as the work needs, on any machine that reaches Redis, the database and the blob store',
    )
    .option('--queue-url <url>', 'redis://host:6379 of the job queue [env CAIRN_QUEUE_URL]')
    .option('--concurrency <n>', 'steps at once [env CAIRN_WORKER_CONCURRENCY] (default: cores)')
    .option('--name <name>', 'how the worker is named in step runs (default worker:<host>:<pid>)')
    .option(
      '--data-dir <dir>',
      'folder for step workspaces (and a local database/blobs) [env CAIRN_DATA_DIR]',
    )
    .option('--db-url <url>', "metadata database, the server's [env CAIRN_DB_URL]")
    .option('--blob-url <url>', "blob store, the server's [env CAIRN_BLOB_URL]")
    .addHelpText(
      'after',
      '\nSteps log their metrics to the server named by --url / CAIRN_URL.\n' +
        '\nExamples:\n' +
        '  CAIRN_QUEUE_URL=redis://127.0.0.1:6379 cairn worker\n' +
        '  CAIRN_QUEUE_URL=redis://redis:6379 CAIRN_DB_URL=postgres://db/cairn CAIRN_BLOB_URL=s3://bucket/cairn \\\n' +
        '    cairn worker --concurrency 8 --url http://cairn:5000\n',
    )
    .action(lazy(async () => (await import('./commands/worker.js')).workerCommand));

  const experiments = program.command('experiments').alias('exp').description('List and manage experiments');
  experiments
    .command('ls')
    .alias('list')
    .description('List experiments')
    .option('--filter <expr>', `MLflow filter, e.g. "name LIKE 'churn%'"`)
    .option('--order-by <clause...>', 'e.g. "name ASC" or "creation_time DESC"')
    .option('--view <view>', 'active, deleted or all', 'active')
    .option('--max-results <n>', 'page size', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/experiments.js')).listExperiments));
  experiments
    .command('create')
    .argument('<name>', 'experiment name')
    .description('Create an experiment')
    .option('--artifact-location <uri>', 'where its runs store artifacts (default: this server)')
    .option('--project <id>', 'the project it belongs to (default: default); needs the editor role there')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/experiments.js')).createExperiment));

  const runs = program.command('runs').description('List and inspect runs');
  runs
    .command('ls')
    .alias('list')
    .description('List runs of one or more experiments (newest first)')
    .option(
      '-e, --experiment <name-or-id...>',
      'experiment name or id (default: "0", the Default experiment)',
    )
    .option('--filter <expr>', `MLflow filter, e.g. "metrics.acc > 0.9 and params.model = 'tree'"`)
    .option('--order-by <clause...>', 'e.g. "metrics.acc DESC"')
    .option('--view <view>', 'active, deleted or all', 'active')
    .option('--max-results <n>', 'page size', '50')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/runs.js')).listRuns));
  runs
    .command('show')
    .argument('<run-id>', 'run id')
    .description('Show one run: info, params, latest metrics, tags, inputs, artifacts')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/runs.js')).showRun));
  runs
    .command('code')
    .argument('<run-id>', 'run id')
    .description(
      'Recreate the source a run ran from: clone, check out its commit, apply its uncommitted diff',
    )
    .requiredOption('-o, --output <dir>', 'folder to create (must be new or empty)')
    .option('--repo <path-or-url>', 'repository to clone (default: the remote URL the run recorded)')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await import('./commands/runs-code.js')).runCode));

  registerModelCommands(program);
  registerIdentityCommands(program);
  registerPromotionCommands(program);
  registerAuditCommands(program);
  registerDataCommands(program);
  registerDeployCommands(program);
  registerPipelineCommands(program);
  return program;
}

/** Runs the CLI; sets process.exitCode rather than exiting so output is flushed. */
export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`Error: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.exitCode = reportError(error);
  }
}
