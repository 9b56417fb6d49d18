import type { Kysely, Selectable, Transaction } from 'kysely';
import {
  isRole,
  type IdentityStore,
  type ProjectRecord,
  type Role,
  type RoleBindingRecord,
  type TokenRecord,
  type UserRecord,
} from '../../../modules/governance/index.js';
import type { ApiTokensTable, Database, ProjectsTable, UsersTable } from '../schema.js';

function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    userId: row.user_id,
    name: row.name,
    displayName: row.display_name,
    email: row.email,
    isAdmin: Number(row.is_admin) === 1,
    disabledAt: row.disabled_ms === null ? null : Number(row.disabled_ms),
    createdAt: Number(row.created_ms),
    createdBy: row.created_by,
  };
}

function toToken(row: Selectable<ApiTokensTable>): TokenRecord {
  const optional = (value: number | null): number | null => (value === null ? null : Number(value));
  return {
    tokenId: row.token_id,
    userId: row.user_id,
    name: row.name,
    salt: row.salt,
    secretHash: row.secret_hash,
    createdAt: Number(row.created_ms),
    expiresAt: optional(row.expires_ms),
    revokedAt: optional(row.revoked_ms),
    lastUsedAt: optional(row.last_used_ms),
  };
}

function toProject(row: Selectable<ProjectsTable>): ProjectRecord {
  return {
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    createdAt: Number(row.created_ms),
    createdBy: row.created_by,
  };
}

function toRole(value: string): Role {
  if (!isRole(value)) throw new Error(`stored role "${value}" is not a role`);
  return value;
}

export class SqlIdentityStore implements IdentityStore {
  constructor(private readonly db: Kysely<Database> | Transaction<Database>) {}

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertUser(user: UserRecord): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        user_id: user.userId,
        name: user.name,
        display_name: user.displayName,
        email: user.email,
        is_admin: user.isAdmin ? 1 : 0,
        disabled_ms: user.disabledAt,
        created_ms: user.createdAt,
        created_by: user.createdBy,
      })
      .execute();
  }

  async getUserById(userId: string): Promise<UserRecord | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row === undefined ? undefined : toUser(row);
  }

  async getUserByName(name: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : toUser(row);
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  async setUserDisabled(userId: string, disabledAt: number | null): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ disabled_ms: disabledAt })
      .where('user_id', '=', userId)
      .execute();
  }

  async insertToken(token: TokenRecord): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({
        token_id: token.tokenId,
        user_id: token.userId,
        name: token.name,
        salt: token.salt,
        secret_hash: token.secretHash,
        created_ms: token.createdAt,
        expires_ms: token.expiresAt,
        revoked_ms: token.revokedAt,
        last_used_ms: token.lastUsedAt,
      })
      .execute();
  }

  async getToken(tokenId: string): Promise<TokenRecord | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('token_id', '=', tokenId)
      .executeTakeFirst();
    return row === undefined ? undefined : toToken(row);
  }

  async listTokens(userId: string | undefined): Promise<TokenRecord[]> {
    let query = this.db.selectFrom('api_tokens').selectAll();
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    const rows = await query.orderBy('created_ms').orderBy('token_id').execute();
    return rows.map(toToken);
  }

  async revokeToken(tokenId: string, revokedAt: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_tokens')
      .set({ revoked_ms: revokedAt })
      .where('token_id', '=', tokenId)
      .where('revoked_ms', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touchToken(tokenId: string, usedAt: number): Promise<void> {
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_ms: usedAt })
      .where('token_id', '=', tokenId)
      .execute();
  }

  async insertProject(project: ProjectRecord): Promise<void> {
    await this.db
      .insertInto('projects')
      .values({
        project_id: project.projectId,
        name: project.name,
        description: project.description,
        created_ms: project.createdAt,
        created_by: project.createdBy,
      })
      .execute();
  }

  async getProject(projectId: string): Promise<ProjectRecord | undefined> {
    const row = await this.db
      .selectFrom('projects')
      .selectAll()
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row === undefined ? undefined : toProject(row);
  }

  async listProjects(projectIds: readonly string[] | 'all'): Promise<ProjectRecord[]> {
    if (projectIds !== 'all' && projectIds.length === 0) return [];
    let query = this.db.selectFrom('projects').selectAll();
    if (projectIds !== 'all') query = query.where('project_id', 'in', [...projectIds]);
    const rows = await query.orderBy('project_id').execute();
    return rows.map(toProject);
  }

  async rolesOfUser(userId: string): Promise<Array<{ projectId: string; role: Role }>> {
    const rows = await this.db
      .selectFrom('role_bindings')
      .select(['project_id', 'role'])
      .where('user_id', '=', userId)
      .execute();
    return rows.map((row) => ({ projectId: row.project_id, role: toRole(row.role) }));
  }

  async listBindings(projectId: string): Promise<RoleBindingRecord[]> {
    const rows = await this.db
      .selectFrom('role_bindings')
      .innerJoin('users', 'users.user_id', 'role_bindings.user_id')
      .select([
        'role_bindings.project_id',
        'role_bindings.user_id',
        'users.name as user_name',
        'role_bindings.role',
        'role_bindings.created_ms',
        'role_bindings.created_by',
      ])
      .where('role_bindings.project_id', '=', projectId)
      .orderBy('users.name')
      .orderBy('role_bindings.role')
      .execute();
    return rows.map((row) => ({
      projectId: row.project_id,
      userId: row.user_id,
      userName: row.user_name,
      role: toRole(row.role),
      createdAt: Number(row.created_ms),
      createdBy: row.created_by,
    }));
  }

  async insertBinding(binding: Omit<RoleBindingRecord, 'userName'>): Promise<void> {
    await this.db
      .insertInto('role_bindings')
      .values({
        project_id: binding.projectId,
        user_id: binding.userId,
        role: binding.role,
        created_ms: binding.createdAt,
        created_by: binding.createdBy,
      })
      .execute();
  }

  async deleteBinding(binding: { projectId: string; userId: string; role: Role }): Promise<boolean> {
    const result = await this.db
      .deleteFrom('role_bindings')
      .where('project_id', '=', binding.projectId)
      .where('user_id', '=', binding.userId)
      .where('role', '=', binding.role)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
