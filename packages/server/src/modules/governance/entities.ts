import type { Role } from './roles.js';

export interface UserRecord {
  readonly userId: string;
  readonly name: string;
  readonly displayName: string;
  readonly email: string;
  readonly isAdmin: boolean;
  readonly disabledAt: number | null;
  readonly createdAt: number;
  readonly createdBy: string;
}

/** A token as stored: the secret exists only as a salted hash. */
export interface TokenRecord {
  readonly tokenId: string;
  readonly userId: string;
  readonly name: string;
  readonly salt: string;
  readonly secretHash: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
}

export interface ProjectRecord {
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly createdAt: number;
  readonly createdBy: string;
}

export interface RoleBindingRecord {
  readonly projectId: string;
  readonly userId: string;
  readonly userName: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly createdBy: string;
}

export interface PolicyVersionRecord {
  readonly projectId: string;
  readonly version: number;
  /** Canonical JSON of the checked policy document. */
  readonly document: string;
  /** The text as the author wrote it. */
  readonly source: string;
  readonly sourceFormat: 'json' | 'yaml';
  readonly comment: string;
  readonly createdAt: number;
  readonly createdBy: string;
}

export interface AuditHead {
  readonly lastSeq: number;
  readonly lastHash: string;
  /** First retained event after pruning, and the hash it must chain from. */
  readonly firstSeq: number;
  readonly anchorHash: string;
}

export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly time: number;
  readonly keyId: string;
  /** base64 Ed25519 signature over the canonical JSON of `{ hash, keyId, seq, time }`. */
  readonly signature: string;
}

export interface AuditQuery {
  readonly targetKind?: string | undefined;
  readonly targetId?: string | undefined;
  readonly actor?: string | undefined;
  /** Exact action, or a prefix ending in `.` (`models.`). */
  readonly action?: string | undefined;
  readonly outcome?: 'ok' | 'denied' | undefined;
  readonly projectIds?: readonly string[] | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  /** Keyset paging: events after this seq (ascending) or before it (descending). */
  readonly afterSeq?: number | undefined;
  readonly beforeSeq?: number | undefined;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
}
