import type { Transactor } from '../../kernel/transactor.js';
import type { AuditEntry } from './audit-event.js';
import type { AuditStores } from './audit-recorder.js';
import type { AuthenticationFailure } from './authenticator.js';
import { runAsCaller, type Caller } from './caller.js';

/** Whoever sent credentials that did not authenticate: named so in the audit trail. */
export function anonymousCaller(context: {
  requestId?: string | undefined;
  address?: string | undefined;
}): Caller {
  return {
    actor: 'anonymous',
    userId: null,
    isAdmin: false,
    roles: new Map(),
    ...(context.requestId === undefined ? {} : { requestId: context.requestId }),
    ...(context.address === undefined ? {} : { address: context.address }),
  };
}

/** The `auth.failed` entry of a refused login: the reason and address, never the credentials. */
export function authFailedEntry(failure: AuthenticationFailure, address: string): AuditEntry {
  return {
    action: 'auth.failed',
    target: { kind: 'address', id: address },
    outcome: 'denied',
    details: { reason: failure.reason, address, ...failure.subject },
  };
}

/**
 * Records refused attempts. The use case that was refused rolled back (or
 * never opened a transaction), so its denial is written in a transaction of
 * its own, stamped with the caller who tried.
 */
export class DeniedAttempts {
  constructor(private readonly transactor: Transactor<AuditStores>) {}

  async record(entry: AuditEntry, caller: Caller): Promise<void> {
    await runAsCaller(caller, () =>
      this.transactor.run(async ({ audit }) => {
        audit.record(entry);
      }),
    );
  }
}
