import type { Command } from 'commander';
import { UsageError } from '../output/errors.js';
import { printJson, printLine } from '../output/print.js';

interface BootstrapFlags {
  dataDir?: string;
  dbUrl?: string;
  name: string;
  json?: boolean;
}

/**
 * Opens the store itself (no server, no token needed): the way to the first
 * admin when CAIRN_ADMIN_TOKEN is not wanted. Refused once any admin exists.
 */
export async function bootstrapCommand(flags: BootstrapFlags, _command: Command): Promise<void> {
  if (
    flags.dataDir === undefined &&
    flags.dbUrl === undefined &&
    (process.env['CAIRN_DATA_DIR'] ?? '') === '' &&
    (process.env['CAIRN_DB_URL'] ?? '') === ''
  ) {
    throw new UsageError('name the store to bootstrap: --data-dir DIR or --db-url URL');
  }
  const { bootstrapAdminInStore, loadConfig } = await import('@cairn/server');
  const config = loadConfig({
    flags: {
      ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
      ...(flags.dbUrl === undefined ? {} : { dbUrl: flags.dbUrl }),
    },
  });
  const created = await bootstrapAdminInStore(config, { name: flags.name });
  if (flags.json === true) {
    printJson({ token: created.token, id: created.tokenId, user: created.user });
    return;
  }
  process.stderr.write(
    `Created admin ${created.user} with token ${created.tokenId}.\n` +
      'Copy the token now: it will not be shown again (only a salted hash is kept).\n' +
      'Start the server with --auth and sign in with: export CAIRN_TOKEN=<the token>\n',
  );
  printLine(created.token);
}
