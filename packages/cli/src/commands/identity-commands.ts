import type { Command } from 'commander';
import { lazy } from './lazy.js';

const users = () => import('./users.js');
const tokens = () => import('./tokens.js');
const projects = () => import('./projects.js');
const admin = () => import('./admin.js');

const ROLES = 'viewer, editor, approver or admin';

/** `cairn users|tokens|projects|whoami|admin`: who may do what. Definitions only; code loads when run. */
export function registerIdentityCommands(program: Command): void {
  program
    .command('whoami')
    .description('Show who CAIRN_TOKEN signs you in as, and your roles per project')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await users()).whoamiCommand));

  const userGroup = program.command('users').alias('user').description('Manage user accounts (Cairn admins)');
  userGroup
    .command('create')
    .argument('<name>', 'user name: lower-case letters, digits, ".", "_" or "-"')
    .description('Create a user; then give them a token with `cairn tokens create --user NAME`')
    .option('--admin', 'a Cairn admin: every project, users and the whole audit trail')
    .option('--email <address>', 'e-mail address')
    .option('--display-name <text>', 'full name to show')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await users()).createUserCommand));
  userGroup
    .command('ls')
    .alias('list')
    .description('List users')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await users()).listUsersCommand));
  for (const [verb, what] of [
    ['disable', 'Disable a user: nothing they send is accepted (tokens and roles are kept)'],
    ['enable', 'Enable a disabled user again'],
  ] as const) {
    userGroup
      .command(verb)
      .argument('<name>', 'user name')
      .description(what)
      .option('--json', 'print JSON')
      .action(lazy(async () => (await users()).setDisabledCommand(verb === 'disable')));
  }

  const tokenGroup = program
    .command('tokens')
    .alias('token')
    .description('Create, list and revoke API tokens');
  tokenGroup
    .command('create')
    .description('Create an API token and print it once (only a salted hash is kept)')
    .option('--name <name>', 'what the token is for, e.g. laptop or ci', 'default')
    .option('--expires-in-days <days>', 'stop accepting it after this many days (default: never)')
    .option('--user <name>', "another user's token (Cairn admins)")
    .option('--json', 'print {"token", "id", "name", "expiresAt"}')
    .action(lazy(async () => (await tokens()).createTokenCommand));
  tokenGroup
    .command('ls')
    .alias('list')
    .description('List your tokens (never their secrets)')
    .option('--user <name>', "another user's tokens (Cairn admins)")
    .option('--json', 'print JSON')
    .action(lazy(async () => (await tokens()).listTokensCommand));
  tokenGroup
    .command('revoke')
    .argument('<id>', 'token id (the 16 hex characters after cairn_, as `cairn tokens ls` shows)')
    .description('Revoke a token: it stops working at once')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await tokens()).revokeTokenCommand));

  const projectGroup = program
    .command('projects')
    .alias('project')
    .description('Projects (the permission boundary) and their members');
  projectGroup
    .command('create')
    .argument('<id>', 'project id: lower-case letters, digits, "_" or "-"')
    .description('Create a project (Cairn admins)')
    .option('--name <name>', 'display name (default: the id)')
    .option('--description <text>', 'what the project is for')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await projects()).createProjectCommand));
  projectGroup
    .command('ls')
    .alias('list')
    .description('List the projects you may read')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await projects()).listProjectsCommand));
  projectGroup
    .command('show')
    .argument('<id>', 'project id')
    .description('Show a project and its members')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await projects()).showProjectCommand));
  projectGroup
    .command('members')
    .argument('<project>', 'project id')
    .description('List who holds which role in a project')
    .option('--json', 'print JSON')
    .action(lazy(async () => (await projects()).membersCommand));
  for (const [verb, what] of [
    ['grant', 'Give a user a role in a project (project admins)'],
    ['revoke', 'Take a role from a user in a project (project admins)'],
  ] as const) {
    projectGroup
      .command(verb)
      .argument('<project>', 'project id')
      .argument('<user>', 'user name')
      .argument('<role>', ROLES)
      .description(what)
      .option('--json', 'print JSON')
      .action(lazy(async () => (await projects()).roleCommand(verb)));
  }

  const adminGroup = program
    .command('admin')
    .description('Server administration that works without a server');
  adminGroup
    .command('bootstrap')
    .description('Create the first admin directly in a store and print its token once')
    .option('--data-dir <dir>', 'the folder `cairn server --data-dir` uses')
    .option('--db-url <url>', 'the metadata database: sqlite:PATH or postgres://…')
    .option('--name <name>', 'the admin’s user name', 'admin')
    .option('--json', 'print {"token", "id", "user"}')
    .action(lazy(async () => (await admin()).bootstrapCommand));
}
