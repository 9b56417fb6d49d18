import type { AuditEvent } from './audit-event.js';
import type {
  AuditCheckpoint,
  AuditHead,
  AuditQuery,
  PolicyVersionRecord,
  ProjectRecord,
  RoleBindingRecord,
  TokenRecord,
  UserRecord,
} from './entities.js';
import type { Role } from './roles.js';

/** Users, tokens, projects and who holds which role where. */
export interface IdentityStore {
  countUsers(): Promise<number>;
  insertUser(user: UserRecord): Promise<void>;
  getUserById(userId: string): Promise<UserRecord | undefined>;
  getUserByName(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  setUserDisabled(userId: string, disabledAt: number | null): Promise<void>;

  insertToken(token: TokenRecord): Promise<void>;
  getToken(tokenId: string): Promise<TokenRecord | undefined>;
  listTokens(userId: string | undefined): Promise<TokenRecord[]>;
  revokeToken(tokenId: string, revokedAt: number): Promise<boolean>;
  touchToken(tokenId: string, usedAt: number): Promise<void>;

  insertProject(project: ProjectRecord): Promise<void>;
  getProject(projectId: string): Promise<ProjectRecord | undefined>;
  listProjects(projectIds: readonly string[] | 'all'): Promise<ProjectRecord[]>;

  /** Every project role of one user, in one statement: authentication needs it per request. */
  rolesOfUser(userId: string): Promise<Array<{ projectId: string; role: Role }>>;
  listBindings(projectId: string): Promise<RoleBindingRecord[]>;
  insertBinding(binding: Omit<RoleBindingRecord, 'userName'>): Promise<void>;
  deleteBinding(binding: { projectId: string; userId: string; role: Role }): Promise<boolean>;
}

/** Versioned project policies. */
export interface PolicyStore {
  latestPolicy(projectId: string): Promise<PolicyVersionRecord | undefined>;
  getPolicy(projectId: string, version: number): Promise<PolicyVersionRecord | undefined>;
  listPolicies(projectId: string): Promise<PolicyVersionRecord[]>;
  insertPolicy(policy: PolicyVersionRecord): Promise<void>;
}

/** Reading, pruning and checkpointing the chain; appending happens in the transactor. */
export interface AuditStore {
  head(): Promise<AuditHead>;
  query(query: AuditQuery): Promise<AuditEvent[]>;
  /** Every retained event in seq order, streamed in pages. */
  scan(options?: { fromSeq?: number; pageSize?: number }): AsyncIterable<AuditEvent[]>;
  /** Deletes events older than `before` (never past `maxSeq`) and re-anchors the chain; returns how many. */
  prune(options: { before: number; maxSeq: number }): Promise<number>;
  insertCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  listCheckpoints(): Promise<AuditCheckpoint[]>;
}

export interface GovernanceStores {
  identity: IdentityStore;
  policies: PolicyStore;
  auditLog: AuditStore;
}
