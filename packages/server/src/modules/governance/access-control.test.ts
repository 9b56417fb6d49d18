import { describe, expect, it } from 'vitest';
import { AccessControl, deniedAttemptOf } from './access-control.js';
import { runAsCaller, type Caller } from './caller.js';
import { ROLES, type Permission, type Role } from './roles.js';

function callerWith(roles: Record<string, Role[]>, isAdmin = false): Caller {
  return {
    actor: 'alice',
    userId: 'u-alice',
    isAdmin,
    roles: new Map(Object.entries(roles).map(([project, list]) => [project, new Set(list)])),
    requestId: 'req-1',
  };
}

const attempt = { action: 'runs.log_batch', target: { kind: 'run', id: 'r1' } };

const EXPECTED: Record<Role, Permission[]> = {
  viewer: ['read'],
  editor: ['read', 'write', 'promote'],
  approver: ['read', 'approve'],
  admin: ['read', 'write', 'promote', 'approve', 'admin'],
};

describe('AccessControl', () => {
  const on = new AccessControl({ authEnabled: true });

  it.each(ROLES)('grants a %s exactly its permissions, only in its own project', (role) => {
    runAsCaller(callerWith({ p1: [role] }), () => {
      for (const permission of ['read', 'write', 'promote', 'approve', 'admin'] as const) {
        expect(on.can(permission, 'p1')).toBe(EXPECTED[role].includes(permission));
        expect(on.can(permission, 'p2')).toBe(false);
      }
    });
  });

  it('refuses with a message naming the role to ask for, carrying the attempt for the audit trail', () => {
    runAsCaller(callerWith({ p1: ['viewer'] }), () => {
      let thrown: unknown;
      try {
        on.require('write', 'p1', attempt);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: 'PERMISSION_DENIED' });
      expect((thrown as Error).message).toContain('needs the editor role');
      expect((thrown as Error).message).toContain('cairn projects grant p1 alice editor');
      expect(deniedAttemptOf(thrown)).toMatchObject({
        action: 'runs.log_batch',
        projectId: 'p1',
        outcome: 'denied',
      });
    });
  });

  it('lets a server admin do anything anywhere', () => {
    runAsCaller(callerWith({}, true), () => {
      expect(() => on.require('admin', 'any', attempt)).not.toThrow();
      expect(() => on.requireAdmin(attempt)).not.toThrow();
      expect(on.readableProjects()).toBe('all');
    });
  });

  it('fails closed with auth on and no caller, and lets the local user do anything with auth off', () => {
    expect(() => on.require('read', 'p1', attempt)).toThrow(/no authenticated caller/);
    const off = new AccessControl({ authEnabled: false });
    expect(() => off.require('admin', 'p1', attempt)).not.toThrow();
    expect(off.caller().actor).toBe('local');
  });

  it('lists only the projects a caller holds a role in as readable', () => {
    runAsCaller(callerWith({ p1: ['approver'], p2: ['viewer'] }), () => {
      expect(on.readableProjects()).toEqual(['p1', 'p2']);
      expect(() => on.requireAdmin(attempt)).toThrow(/only a Cairn admin/);
    });
  });
});
