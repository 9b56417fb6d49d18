import type { Caller, Role } from '../modules/governance/index.js';

/** The server admin, as a service sees whoever calls it (for tests that call services directly). */
export const ADMIN_CALLER: Caller = { actor: 'root', userId: 'u-root', isAdmin: true, roles: new Map() };

/** A user `actor` holding `roles` (project id → role) and no server-wide rights. */
export function memberCaller(actor: string, roles: Record<string, Role>): Caller {
  const map = new Map(Object.entries(roles).map(([projectId, role]) => [projectId, new Set([role])]));
  return { actor, userId: `u-${actor}`, isAdmin: false, roles: map };
}
