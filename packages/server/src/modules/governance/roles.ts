/** Roles per project, from DESIGN.md. */
export const ROLES = ['viewer', 'editor', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a role may do in its project. `promote` is asking for a promotion,
 * `approve` is deciding one: approvers are reviewers (risk, compliance), so
 * they read and decide but do not write runs or models.
 */
export const PERMISSIONS = ['read', 'write', 'promote', 'approve', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  viewer: ['read'],
  editor: ['read', 'write', 'promote'],
  approver: ['read', 'approve'],
  admin: ['read', 'write', 'promote', 'approve', 'admin'],
};

/** The least role that grants a permission, for "ask for …" messages. */
export const LEAST_ROLE_FOR: Readonly<Record<Permission, Role>> = {
  read: 'viewer',
  write: 'editor',
  promote: 'editor',
  approve: 'approver',
  admin: 'admin',
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function rolesGrant(roles: ReadonlySet<Role> | undefined, permission: Permission): boolean {
  if (roles === undefined) return false;
  for (const role of roles) if (ROLE_PERMISSIONS[role].includes(permission)) return true;
  return false;
}
