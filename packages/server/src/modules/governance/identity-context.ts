import { CairnError } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { AccessControl } from './access-control.js';
import type { AuditStores } from './audit-recorder.js';
import type { UserRecord } from './entities.js';
import type { IdentityStore } from './governance.store.js';

export type IdentityTransactionStores = { identity: IdentityStore } & AuditStores;

/** What the users, tokens and projects services share. */
export interface IdentityContext {
  /** For reads outside a transaction. */
  identity: IdentityStore;
  transactor: Transactor<IdentityTransactionStores>;
  access: AccessControl;
  clock: Clock;
}

export async function requireUser(
  identity: IdentityStore,
  name: string,
  field = 'name',
): Promise<UserRecord> {
  const user = await identity.getUserByName(name);
  if (user === undefined) {
    throw new CairnError('NOT_FOUND', `User '${name}' does not exist (cairn users ls lists them).`, {
      field,
    });
  }
  return user;
}

/**
 * The identity services' transactor: after every committed change to users,
 * tokens or role bindings, `changed` runs (the authenticator forgets what it
 * remembered), so a revoked token or a removed role stops working at once.
 */
export function notifyingTransactor(
  transactor: Transactor<IdentityTransactionStores>,
  changed: () => void,
): Transactor<IdentityTransactionStores> {
  return {
    async run<T>(work: (stores: IdentityTransactionStores) => Promise<T>): Promise<T> {
      try {
        return await transactor.run(work);
      } finally {
        changed();
      }
    },
  };
}
