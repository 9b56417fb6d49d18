import type { ApiToken, Project, ProjectMember, User } from '@cairn/contract';
import type { ProjectRecord, RoleBindingRecord, UserRecord } from './entities.js';
import type { TokenInfo } from './tokens.service.js';

/** Records to the native API's shapes: only what a client may see (never salts or hashes). */
export function userJson(user: UserRecord): User {
  return {
    name: user.name,
    displayName: user.displayName,
    email: user.email,
    isAdmin: user.isAdmin,
    disabled: user.disabledAt !== null,
    disabledAt: user.disabledAt,
    createdAt: user.createdAt,
    createdBy: user.createdBy,
  };
}

export function tokenJson(token: TokenInfo): ApiToken {
  return {
    id: token.tokenId,
    name: token.name,
    user: token.user,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    revokedAt: token.revokedAt,
    lastUsedAt: token.lastUsedAt,
  };
}

export function projectJson(project: ProjectRecord): Project {
  return {
    id: project.projectId,
    name: project.name,
    description: project.description,
    createdAt: project.createdAt,
    createdBy: project.createdBy,
  };
}

export function memberJson(binding: RoleBindingRecord): ProjectMember {
  return {
    user: binding.userName,
    role: binding.role,
    createdAt: binding.createdAt,
    createdBy: binding.createdBy,
  };
}
