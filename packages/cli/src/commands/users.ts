import type { User } from '@cairn/sdk';
import type { Command } from 'commander';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor } from './context.js';

interface JsonFlag {
  json?: boolean;
}

export async function whoamiCommand(flags: JsonFlag, command: Command): Promise<void> {
  const me = await clientFor(command).whoami();
  if (flags.json === true) {
    printJson(me);
    return;
  }
  const what = [me.isAdmin ? 'Cairn admin' : undefined, me.authEnabled ? undefined : 'authentication is off']
    .filter((part) => part !== undefined)
    .join(', ');
  printLine(`${me.user}${what === '' ? '' : ` (${what})`}`);
  if (me.tokenId !== null) printLine(`token   ${me.tokenId}`);
  if (me.roles.length > 0) {
    printLine('');
    printLine(
      renderTable(me.roles, [
        { header: 'PROJECT', value: (r) => r.projectId, keep: true },
        { header: 'ROLE', value: (r) => r.role },
      ]),
    );
  }
}

interface CreateUserFlags extends JsonFlag {
  admin?: boolean;
  email?: string;
  displayName?: string;
}

export async function createUserCommand(
  name: string,
  flags: CreateUserFlags,
  command: Command,
): Promise<void> {
  const user = await clientFor(command).users.create({
    name,
    ...(flags.admin === true ? { isAdmin: true } : {}),
    ...(flags.email === undefined ? {} : { email: flags.email }),
    ...(flags.displayName === undefined ? {} : { displayName: flags.displayName }),
  });
  if (flags.json === true) {
    printJson(user);
    return;
  }
  printLine(`Created ${user.isAdmin ? 'admin' : 'user'} ${user.name}.`);
  printLine(`Give them a token: cairn tokens create --user ${user.name}`);
}

export async function listUsersCommand(flags: JsonFlag, command: Command): Promise<void> {
  const users = await clientFor(command).users.list();
  if (flags.json === true) {
    printJson({ users });
    return;
  }
  printLine(
    renderTable(users, [
      { header: 'NAME', value: (u: User) => u.name, keep: true },
      { header: 'ADMIN', value: (u: User) => (u.isAdmin ? 'yes' : '-') },
      { header: 'STATUS', value: (u: User) => (u.disabled ? 'disabled' : 'active') },
      { header: 'CREATED', value: (u: User) => formatTime(u.createdAt), keep: true },
      { header: 'DISPLAY NAME', value: (u: User) => u.displayName || '-' },
      { header: 'EMAIL', value: (u: User) => u.email || '-' },
    ]),
  );
}

export function setDisabledCommand(disable: boolean) {
  return async (name: string, flags: JsonFlag, command: Command): Promise<void> => {
    const cairn = clientFor(command);
    const user = disable ? await cairn.users.disable(name) : await cairn.users.enable(name);
    if (flags.json === true) {
      printJson(user);
      return;
    }
    printLine(`${user.name} is ${user.disabled ? 'disabled' : 'enabled'}.`);
  };
}
