import { openDatabase } from './adapters/sql/database.js';
import { createSqlStores, createSqlTransactor } from './adapters/sql/sql-stores.js';
import type { CairnConfig } from './config/load-config.js';
import { systemClock } from './kernel/clock.js';
import { bootstrapAdmin } from './modules/governance/index.js';

export interface BootstrappedAdmin {
  /** The token text: shown once, stored only as a salted hash. */
  token: string;
  tokenId: string;
  user: string;
}

/**
 * `cairn admin bootstrap`: opens the configured store directly (no server
 * needed, so it works before anyone can sign in), migrates it, and creates
 * the first admin with a fresh token. Refused once any admin exists.
 */
export async function bootstrapAdminInStore(
  config: Pick<CairnConfig, 'dbUrl'>,
  options: { name?: string | undefined } = {},
): Promise<BootstrappedAdmin> {
  const database = openDatabase(config.dbUrl);
  try {
    await database.migrate();
    const stores = createSqlStores(database.db, database.helpers);
    const transactor = createSqlTransactor(database, systemClock);
    const created = await bootstrapAdmin(
      { identity: stores.identity, transactor, clock: systemClock },
      options,
    );
    return { token: created.token, tokenId: created.tokenId, user: created.user.name };
  } finally {
    await database.close();
  }
}
