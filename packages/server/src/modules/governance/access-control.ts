import { CairnError } from '@cairn/contract';
import type { AuditEntry, AuditTarget } from './audit-event.js';
import { currentCaller, LOCAL_CALLER, type Caller } from './caller.js';
import { LEAST_ROLE_FOR, rolesGrant, type Permission } from './roles.js';

/** What is being attempted, for the denial message and the audit trail. */
export interface Attempt {
  /** Same vocabulary as audit actions: `runs.log_batch`. */
  readonly action: string;
  readonly target: AuditTarget;
}

const DENIAL = Symbol.for('cairn.denied-attempt');

/** The audit entry a denial carries to whoever records it once the failed use case is over. */
export function deniedAttemptOf(error: unknown): AuditEntry | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { [DENIAL]?: AuditEntry })[DENIAL];
}

/**
 * A PERMISSION_DENIED that carries the attempt, so the request's failure path
 * records it in the audit trail once the failed use case is over (recording
 * inside it would roll back with it). For refusals decided outside
 * `AccessControl`: protected labels, four eyes.
 */
export function deniedError(message: string, entry: AuditEntry): CairnError {
  const error = new CairnError('PERMISSION_DENIED', message);
  Object.defineProperty(error, DENIAL, { value: entry, enumerable: false });
  return error;
}

/**
 * Permission checks for every face: services call it before they open their
 * transaction. With auth off everyone is the local user and may do anything.
 * With auth on, a call with no caller is refused (fail closed), so a code path
 * that escaped the request context can never act as an admin.
 */
export class AccessControl {
  constructor(private readonly options: { authEnabled: boolean }) {}

  get authEnabled(): boolean {
    return this.options.authEnabled;
  }

  caller(): Caller {
    const caller = currentCaller();
    if (caller !== undefined) return caller;
    if (!this.options.authEnabled) return LOCAL_CALLER;
    throw new CairnError('UNAUTHENTICATED', 'this call has no authenticated caller');
  }

  can(permission: Permission, projectId: string): boolean {
    const caller = this.caller();
    return caller.isAdmin || rolesGrant(caller.roles.get(projectId), permission);
  }

  /** Throws PERMISSION_DENIED (carrying the attempt for the audit trail) unless allowed. */
  require(permission: Permission, projectId: string, attempt: Attempt): void {
    if (this.can(permission, projectId)) return;
    const caller = this.caller();
    const role = LEAST_ROLE_FOR[permission];
    throw deniedError(
      `${caller.actor} may not ${attempt.action} in project '${projectId}': that needs the ${role} role there ` +
        `(a project admin can grant it: cairn projects grant ${projectId} ${caller.actor} ${role}).`,
      { ...attempt, projectId, outcome: 'denied', details: { needed: permission } },
    );
  }

  /** Server-wide administration: users, projects, the whole audit trail. */
  requireAdmin(attempt: Attempt): void {
    const caller = this.caller();
    if (caller.isAdmin) return;
    throw deniedError(`${caller.actor} may not ${attempt.action}: only a Cairn admin may.`, {
      ...attempt,
      outcome: 'denied',
      details: { needed: 'server admin' },
    });
  }

  /** Projects the caller may read: `all`, or a list to filter searches by. */
  readableProjects(): 'all' | string[] {
    const caller = this.caller();
    if (caller.isAdmin) return 'all';
    return [...caller.roles.entries()].filter(([, roles]) => rolesGrant(roles, 'read')).map(([id]) => id);
  }
}
