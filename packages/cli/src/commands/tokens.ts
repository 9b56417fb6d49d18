import type { ApiToken } from '@cairn/sdk';
import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';
import { formatTime, renderTable } from '../output/table.js';
import { clientFor } from './context.js';

interface CreateTokenFlags {
  name: string;
  expiresInDays?: string;
  user?: string;
  json?: boolean;
}

function parseDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const days = Number(value);
  if (value.trim() === '' || !Number.isFinite(days) || days <= 0) {
    throw new UsageError(`--expires-in-days must be a number of days above 0, not "${value}"`);
  }
  return days;
}

/** The token goes alone to stdout (so `export CAIRN_TOKEN=$(cairn tokens create)` works); the rest to stderr. */
export async function createTokenCommand(flags: CreateTokenFlags, command: Command): Promise<void> {
  const expiresInDays = parseDays(flags.expiresInDays);
  const created = await clientFor(command).tokens.create({
    name: flags.name,
    ...(expiresInDays === undefined ? {} : { expiresInDays }),
    ...(flags.user === undefined ? {} : { user: flags.user }),
  });
  if (flags.json === true) {
    printJson({ token: created.token, id: created.id, name: created.name, expiresAt: created.expiresAt });
    return;
  }
  process.stderr.write(
    `Created token ${created.id} (${created.name}) for ${created.user}, ` +
      `${created.expiresAt === null ? 'never expiring' : `expiring ${formatTime(created.expiresAt)} UTC`}.\n` +
      'Copy it now: it will not be shown again (only a salted hash is kept).\n',
  );
  printLine(created.token);
}

const status = (token: ApiToken, now: number): string =>
  token.revokedAt !== null
    ? 'revoked'
    : token.expiresAt !== null && token.expiresAt <= now
      ? 'expired'
      : 'active';

export async function listTokensCommand(
  flags: { user?: string; json?: boolean },
  command: Command,
): Promise<void> {
  const tokens = await clientFor(command).tokens.list(flags.user === undefined ? {} : { user: flags.user });
  if (flags.json === true) {
    printJson({ tokens });
    return;
  }
  if (tokens.length === 0) {
    printLine('No tokens.');
    return;
  }
  const now = Date.now();
  printLine(
    renderTable(tokens, [
      { header: 'ID', value: (t: ApiToken) => t.id, keep: true },
      { header: 'NAME', value: (t: ApiToken) => t.name },
      { header: 'USER', value: (t: ApiToken) => t.user },
      { header: 'STATUS', value: (t: ApiToken) => status(t, now) },
      { header: 'CREATED', value: (t: ApiToken) => formatTime(t.createdAt), keep: true },
      {
        header: 'EXPIRES',
        value: (t: ApiToken) => (t.expiresAt === null ? 'never' : formatTime(t.expiresAt)),
      },
      { header: 'LAST USED', value: (t: ApiToken) => formatTime(t.lastUsedAt) },
    ]),
  );
}

export async function revokeTokenCommand(
  id: string,
  flags: { json?: boolean },
  command: Command,
): Promise<void> {
  const token = await clientFor(command).tokens.revoke(id);
  if (flags.json === true) {
    printJson(token);
    return;
  }
  printLine(`Revoked token ${token.id} (${token.name}) of ${token.user}.`);
}
