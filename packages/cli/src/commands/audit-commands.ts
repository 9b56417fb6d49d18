import type { Command } from 'commander';
import { lazy } from './lazy.js';

const audit = () => import('./audit.js');

/** `cairn audit …`: the tamper-evident audit trail. Definitions only; each action loads its code when run. */
export function registerAuditCommands(program: Command): void {
  const group = program
    .command('audit')
    .description('Query, verify, export and prune the audit trail')
    .addHelpText(
      'after',
      '\nEvery change in Cairn appends a hash-chained audit event; docs/audit.md defines the chain.',
    );

  group
    .command('ls')
    .alias('list')
    .description('List audit events, newest first (Cairn admins: all; project admins: their projects)')
    .option('--target <kind[:id]>', 'e.g. run:4f1c… or model:churn, or a kind alone')
    .option('--actor <user>', 'who did it')
    .option('--action <action>', 'exact, e.g. models.alias_set, or a prefix ending in ".", e.g. models.')
    .option('--outcome <outcome>', 'ok or denied')
    .option('--project <id>', 'events of one project')
    .option('--since <time>', 'from this moment on: an ISO date such as 2026-03-03, or epoch ms')
    .option('--until <time>', 'before this moment')
    .option('--order <order>', 'desc (newest first) or asc', 'desc')
    .option('--limit <n>', 'events per page, up to 1000', '50')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await audit()).listAuditCommand));

  group
    .command('verify')
    .description(
      'Check the whole hash chain; exits non-zero naming the first event modified, deleted, inserted or reordered',
    )
    .option(
      '--data-dir <dir>',
      "check a server's data folder directly (its SQLite database), no server needed",
    )
    .option('--db-url <url>', 'check a database directly: sqlite:PATH or postgres://…, opened read-only')
    .option('--file <export.jsonl>', 'check an export offline: its chain and signed checkpoint')
    .option(
      '--public-key <pem-file>',
      "the server's public key (cairn audit public-key) to check signatures with",
    )
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await audit()).verifyAuditCommand));

  group
    .command('export')
    .description(
      'Write every event as JSON Lines, ending with a checkpoint signed by the server (Cairn admins)',
    )
    .option('-o, --output <file>', 'file to write ("-" or none: standard output)', '-')
    .option('--from-seq <n>', 'first event to include')
    .option('--json', 'print a JSON summary')
    .action(lazy(async () => (await audit()).exportAuditCommand));

  group
    .command('checkpoint')
    .description("Sign the chain's current head and keep it, pinning everything up to it (Cairn admins)")
    .option('--json', 'print JSON')
    .action(lazy(async () => (await audit()).checkpointCommand));

  group
    .command('public-key')
    .description("Print the server's Ed25519 public key (PEM) that signs checkpoints and exports")
    .option('--json', 'print JSON')
    .action(lazy(async () => (await audit()).publicKeyCommand));

  group
    .command('prune')
    .description('Delete events older than N days; never below the minimum retention (Cairn admins)')
    .requiredOption('--older-than-days <n>', 'age in days')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await audit()).pruneCommand));
}
