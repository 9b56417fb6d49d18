import { Option, type Command } from 'commander';
import { lazy } from './lazy.js';

const manage = () => import('./deploy-manage.js');
const traffic = () => import('./deploy-traffic.js');

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/**
 * `--no-X` as a flag of its own (read as `noX`). Commander would make it the
 * negation of `--X`, where the last of the two silently wins; `--canary a:10
 * --no-canary` is a mistake to point out, not to guess at.
 */
function removal(flags: string, description: string): Option {
  const option = new Option(flags, description);
  option.negate = false;
  return option;
}

/** Text after a command's options: paragraphs, a blank line before each. */
const after = (...paragraphs: string[]): string => paragraphs.map((p) => `\n${p}`).join('\n');
const examples = (...lines: string[]): string => `Examples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

const REFS =
  'REF names one model version: NAME@ALIAS (churn@champion) or NAME/VERSION (churn/3). The server\n' +
  'resolves it when the revision is made, so a revision always serves exact versions.';

/** The batching and logging flags `create` and `update` share; `update` keeps what is not given. */
function withSettings(command: Command, options: { defaults: boolean }): Command {
  const or = (value: string): string => (options.defaults ? ` (default ${value})` : '');
  return command
    .option('--max-batch-size <n>', `requests batched into one model call, at most${or('64')}`)
    .option(
      '--max-batch-wait-ms <n>',
      `how long a request may wait for others to batch with, while the model is busy${or('1')}`,
    )
    .option(
      '--max-queue <n>',
      `requests waiting per model at most; more are answered 503 with Retry-After${or('1024')}`,
    )
    .option('--sample-rate <r>', `share of requests logged with inputs and outputs, 0 to 1${or('1')}`);
}

/** `cairn deploy …`: serving. Definitions only; each action loads its code when run. */
export function registerDeployCommands(program: Command): void {
  const group = program
    .command('deploy')
    .alias('deployments')
    .description('Serve model versions: deployments with canaries, shadows, rollback and a prediction log')
    .addHelpText(
      'after',
      after(
        'A deployment is a named endpoint; every change to it is a new numbered revision, and\n' +
          'rollback makes a new revision equal to an older one.',
        REFS,
        examples(
          'cairn deploy create churn-api --model churn@champion --follow',
          'cairn deploy update churn-api --canary churn@challenger:10',
          "cairn deploy predict churn-api --instances '[[0.3, 12, 1]]'",
          'cairn deploy rollback churn-api',
        ),
      ),
    );

  withSettings(
    group
      .command('create')
      .argument('<name>', 'deployment name: letters, digits, ".", "_", "-"')
      .description('Create a deployment serving a model version, and print where to call it')
      .requiredOption('--model <ref>', 'the primary version: it gets the traffic the canaries leave')
      .option(
        '--canary <ref:weight>',
        'also send WEIGHT% (1-99) of live traffic to REF (repeatable)',
        collect,
      )
      .option(
        '--shadow <ref[:percent]>',
        'copy PERCENT% (default 100) of live requests to REF; its answers are logged, never returned (repeatable)',
        collect,
      )
      .option('--follow', 'roll to a new revision whenever the alias --model names moves (NAME@ALIAS)')
      .option('--port <n>', 'also listen on this port of its own (default: none)')
      .option('--project <id>', 'the project it belongs to (default: default); needs the editor role there')
      .option('--description <text>', 'what it is for'),
    { defaults: true },
  )
    .option('--json', 'print the deployment as JSON')
    .addHelpText(
      'after',
      after(
        REFS,
        examples(
          'cairn deploy create churn-api --model churn@champion',
          'cairn deploy create churn-api --model churn/3 --canary churn/4:10 --port 8081',
          'cairn deploy create churn-api --model churn@champion --follow --shadow churn@challenger:50',
        ),
      ),
    )
    .action(lazy(async () => (await manage()).createCommand));

  group
    .command('list')
    .alias('ls')
    .description('List deployments: revision, routes with their weights, status, port')
    .option('--project <id>', 'only deployments of this project')
    .option('--json', 'print a JSON array of deployments')
    .addHelpText('after', after(examples('cairn deploy list', 'cairn deploy list --project risk --json')))
    .action(lazy(async () => (await manage()).listCommand));

  group
    .command('get')
    .alias('show')
    .argument('<name>', 'deployment name')
    .description('Show a deployment: its live revision, routes, shadows, status and endpoints')
    .option('--json', 'print the deployment as JSON')
    .addHelpText('after', after(examples('cairn deploy get churn-api', 'cairn deploy get churn-api --json')))
    .action(lazy(async () => (await manage()).getCommand));

  withSettings(
    group
      .command('update')
      .argument('<name>', 'deployment name')
      .description('Change a deployment: a new revision; whatever no flag mentions stays as it is')
      .option('--model <ref>', 'a new primary version')
      .option(
        '--canary <ref:weight>',
        'the canaries, replacing the current ones: WEIGHT% (1-99) to REF (repeatable)',
        collect,
      )
      .addOption(removal('--no-canary', 'remove every canary: the primary gets all the traffic'))
      .option(
        '--shadow <ref[:percent]>',
        'the shadows, replacing the current ones: PERCENT% (default 100) copied to REF (repeatable)',
        collect,
      )
      .addOption(removal('--no-shadow', 'remove every shadow'))
      .option('--follow', 'follow the alias the primary is named by (NAME@ALIAS)')
      .addOption(removal('--no-follow', 'stop following: keep the current versions until changed')),
    { defaults: false },
  )
    .option('--json', 'print the deployment as JSON')
    .addHelpText(
      'after',
      after(
        REFS,
        examples(
          'cairn deploy update churn-api --canary churn@challenger:10     # start a 10% canary',
          'cairn deploy update churn-api --canary churn@challenger:50     # raise it to 50%',
          'cairn deploy update churn-api --model churn@challenger --no-canary   # promote it',
          'cairn deploy update churn-api --shadow churn/5 --sample-rate 0.1',
        ),
      ),
    )
    .action(lazy(async () => (await manage()).updateCommand));

  group
    .command('rollback')
    .argument('<name>', 'deployment name')
    .description('Serve an earlier revision again (as a new revision); by default the one before the current')
    .option('--to <rev>', 'the revision to go back to (see cairn deploy revisions)')
    .option('--json', 'print the deployment as JSON')
    .addHelpText(
      'after',
      after(examples('cairn deploy rollback churn-api', 'cairn deploy rollback churn-api --to 2')),
    )
    .action(lazy(async () => (await manage()).rollbackCommand));

  group
    .command('revisions')
    .argument('<name>', 'deployment name')
    .description('List the revisions of a deployment, newest first, with why and by whom each was made')
    .option('--limit <n>', "how many (default: the server's, 100)")
    .option('--json', 'print a JSON array of revisions')
    .addHelpText(
      'after',
      after(
        examples('cairn deploy revisions churn-api', 'cairn deploy revisions churn-api --limit 5 --json'),
      ),
    )
    .action(lazy(async () => (await manage()).revisionsCommand));

  group
    .command('delete')
    .alias('rm')
    .argument('<name>', 'deployment name')
    .description('Stop serving and delete a deployment')
    .option('--json', 'print JSON')
    .addHelpText('after', after(examples('cairn deploy delete churn-api')))
    .action(lazy(async () => (await manage()).deleteCommand));

  group
    .command('predictions')
    .argument('<name>', 'deployment name')
    .description('List logged predictions, newest first: inputs, outputs, latency, and the truth sent later')
    .option('--kind <kind>', 'live (answers returned) or shadow (answers compared)')
    .option(
      '--since <time>',
      'from this time on: 30m, 2h, 7d ago, an ISO date such as 2026-03-03, or epoch ms',
    )
    .option('--until <time>', 'before this time (same forms)')
    .option('--limit <n>', 'how many at most', '20')
    .option('--page-token <token>', 'continue from where an earlier listing stopped')
    .option('--json', 'print a JSON array of predictions, inputs and outputs whole')
    .addHelpText(
      'after',
      after(
        examples(
          'cairn deploy predictions churn-api --since 1h',
          'cairn deploy predictions churn-api --kind shadow --json',
        ),
      ),
    )
    .action(lazy(async () => (await traffic()).predictionsCommand));

  group
    .command('shadow')
    .argument('<name>', 'deployment name')
    .description('Compare each shadow with the live answers: agreement rate, mean difference, latency')
    .option('--since <time>', 'from this time on: 30m, 2h, 7d ago, an ISO date, or epoch ms (default: 24h)')
    .option('--json', 'print a JSON array, one entry per shadow version')
    .addHelpText(
      'after',
      after(examples('cairn deploy shadow churn-api', 'cairn deploy shadow churn-api --since 7d --json')),
    )
    .action(lazy(async () => (await traffic()).shadowCommand));

  group
    .command('predict')
    .argument('<name>', 'deployment name')
    .description('Send instances to a deployment and print its predictions (to try it out)')
    .requiredOption(
      '--instances <json>',
      'a JSON array, one entry per instance (or {"instances": [...]}); @FILE reads a file, @- stdin',
    )
    .option('--key <key>', 'route by this key: the same key always reaches the same canary or primary')
    .option('--json', 'print {"predictions","requestId","model","version"}')
    .addHelpText(
      'after',
      after(
        examples(
          "cairn deploy predict churn-api --instances '[[0.3, 12, 1], [0.9, 3, 0]]'",
          'cairn deploy predict churn-api --instances @rows.json --key user-42',
        ),
      ),
    )
    .action(lazy(async () => (await traffic()).predictCommand));

  group
    .command('feedback')
    .argument('<name>', 'deployment name')
    .description('Record the right answer (ground truth) for an earlier prediction, by its request id')
    .requiredOption('--request-id <id>', 'the requestId the prediction answered with')
    .requiredOption('--truth <json>', 'the right answer as JSON: 1, "churned", [0, 1]; @FILE reads a file')
    .option('--json', 'print {"accepted": 1}')
    .addHelpText(
      'after',
      after(
        examples(
          'cairn deploy feedback churn-api --request-id 4f1c2a --truth 1',
          'cairn deploy feedback churn-api --request-id 4f1c2a --truth \'"churned"\'',
        ),
      ),
    )
    .action(lazy(async () => (await traffic()).feedbackCommand));
}
