import { rolesGrant, type AccessControl, type AuditTarget, type Permission } from '../governance/index.js';

/**
 * Who owns an artifact path, for permission checks:
 * - `project`: a run's artifacts (`<experiment>/<run>/artifacts/…`) or a
 *   model version's pinned files (`_registry/<version>/…`);
 * - `staging`: a model folder uploaded before registration (`_uploads/<uuid>/…`),
 *   open to anyone who may write in some project, since registering it needs that;
 * - `server`: anything else (the root, half paths, unknown layouts): Cairn admins only.
 */
export type ArtifactOwner = { kind: 'project'; projectId: string } | { kind: 'staging' } | { kind: 'server' };

/** Given a normalised path, names its owner. Wired in app.ts, where tracking and the registry are known. */
export type ArtifactOwnerResolver = (path: string) => Promise<ArtifactOwner>;

export const artifactTarget = (path: string): AuditTarget => ({ kind: 'artifact', id: path });

/** The project an event about an owned path is filed under: none for staging and server paths. */
export function ownerProject(owner: ArtifactOwner): string | null {
  return owner.kind === 'project' ? owner.projectId : null;
}

/** Throws PERMISSION_DENIED (carrying the attempt for the audit trail) unless the caller may act on the path. */
export function requireArtifactAccess(
  access: AccessControl,
  owner: ArtifactOwner,
  attempt: { permission: Permission; action: string; path: string },
): void {
  const { permission, action, path } = attempt;
  const target = artifactTarget(path);
  if (owner.kind === 'project') {
    access.require(permission, owner.projectId, { action, target });
    return;
  }
  if (owner.kind === 'server') {
    access.requireAdmin({ action, target });
    return;
  }
  const caller = access.caller();
  if (caller.isAdmin) return;
  for (const roles of caller.roles.values()) if (rolesGrant(roles, 'write')) return;
  // No editor role anywhere: refuse through the project the caller knows best, so the message says what to ask for.
  const [known = 'default'] = caller.roles.keys();
  access.require('write', known, { action, target });
}
