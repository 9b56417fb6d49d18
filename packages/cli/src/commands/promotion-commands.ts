import type { Command } from 'commander';
import { lazy } from './lazy.js';

const policy = () => import('./policy.js');
const promotions = () => import('./promotions.js');

/** `cairn policy …` and `cairn promotions …`: definitions only; code loads when run. */
export function registerPromotionCommands(program: Command): void {
  const policyGroup = program
    .command('policy')
    .alias('policies')
    .description('Show and set what a project protects and what a promotion must pass');
  policyGroup
    .command('show')
    .argument('[project]', 'project id', 'default')
    .description('Show the policy in force (the latest version, or the default)')
    .option('--source', 'print the text as its author wrote it')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await policy()).showPolicyCommand));
  policyGroup
    .command('set')
    .argument('<project>', 'project id')
    .argument('<file>', 'policy as YAML or JSON (by extension, else by content); - reads stdin')
    .description('Store a new version of the project policy (project admins)')
    .option('-m, --message <comment>', 'why it changed')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await policy()).setPolicyCommand));
  policyGroup
    .command('history')
    .argument('<project>', 'project id')
    .description('List the stored versions, newest first')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await policy()).policyHistoryCommand));

  const group = program
    .command('promotions')
    .alias('promotion')
    .description('Request, review and apply moves onto protected aliases and stages');
  group
    .command('request')
    .argument('<name/version>', 'model and version, e.g. churn/3')
    .description('Ask for a version to move to a protected alias or stage')
    .option('--alias <alias>', 'the alias to move, e.g. champion')
    .option('--stage <stage>', 'the stage to move to: Staging, Production or Archived')
    .option(
      '--archive-existing',
      'with --stage: archive the versions already in that stage when this one moves in',
    )
    .option('-m, --message <reason>', 'why')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await promotions()).requestPromotionCommand));
  group
    .command('ls')
    .alias('list')
    .description('List promotion requests, newest first')
    .option('--project <id>', 'only this project')
    .option('--status <status>', 'pending, applied, rejected, expired or cancelled')
    .option('--model <name>', 'only this model')
    .option('--max-results <n>', 'page size', '100')
    .option('--page-token <token>', 'continue from a previous page')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await promotions()).listPromotionsCommand));
  group
    .command('show')
    .argument('<id>', 'request id')
    .description('Show a request: each check with ✓/✗ and its evidence, approvals, expiry')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await promotions()).showPromotionCommand));
  for (const [verb, what, comment] of [
    ['approve', 'Approve a request (approvers; not your own under four eyes)', 'comment'],
    ['reject', 'Reject a request; final (approvers)', 'why (required)'],
    ['cancel', 'Withdraw your request (or any, as a project admin)', 'comment'],
  ] as const) {
    group
      .command(verb)
      .argument('<id>', 'request id')
      .description(what)
      .option('-m, --message <comment>', comment)
      .option('--json', 'print JSON')
      .action(lazy(async () => (await promotions()).decideCommand(verb)));
  }
  group
    .command('evaluate')
    .argument('<id>', 'request id')
    .description('Re-run the checks with fresh evidence; applies the move if every check passes')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await promotions()).evaluatePromotionCommand));
}
