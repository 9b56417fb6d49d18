import { AsyncLocalStorage } from 'node:async_hooks';
import type { Role } from './roles.js';

/**
 * Who is asking. Set once per request by the HTTP layer (or by a background
 * job) and read by services for permission checks and audit events, so no
 * use case needs an extra parameter threaded through every call.
 */
export interface Caller {
  /** User name, or `local` (auth off) or `system` (the server's own jobs). */
  readonly actor: string;
  readonly userId: string | null;
  /** A global admin: every project, users and server settings. */
  readonly isAdmin: boolean;
  /** Project id → the roles held there. */
  readonly roles: ReadonlyMap<string, ReadonlySet<Role>>;
  readonly requestId?: string | undefined;
  readonly address?: string | undefined;
  /** Id of the token the request came with, for the audit trail; never the secret. */
  readonly tokenId?: string | undefined;
}

/** Everyone, when auth is off: a laptop has one user. */
export const LOCAL_CALLER: Caller = Object.freeze({
  actor: 'local',
  userId: null,
  isAdmin: true,
  roles: new Map(),
});

/** The server acting on its own (migrations, retention, start-up defaults). */
export const SYSTEM_CALLER: Caller = Object.freeze({
  actor: 'system',
  userId: null,
  isAdmin: true,
  roles: new Map(),
});

const storage = new AsyncLocalStorage<Caller>();

export function currentCaller(): Caller | undefined {
  return storage.getStore();
}

export function runAsCaller<T>(caller: Caller, work: () => T): T {
  return storage.run(caller, work);
}
