export { AccessControl, deniedAttemptOf } from './access-control.js';
export type { Attempt } from './access-control.js';
export {
  auditEventHash,
  auditHashInput,
  canonicalJson,
  chainAuditEvents,
  GENESIS_HASH,
  redactSecrets,
} from './audit-event.js';
export type { AuditDraft, AuditEntry, AuditEvent, AuditOutcome, AuditTarget } from './audit-event.js';
export { NO_AUDIT_OUTSIDE_TRANSACTION, PendingAuditEvents, toDraft } from './audit-recorder.js';
export type { AuditRecorder, AuditStores } from './audit-recorder.js';
export { currentCaller, LOCAL_CALLER, runAsCaller, SYSTEM_CALLER } from './caller.js';
export type { Caller } from './caller.js';
export type {
  AuditCheckpoint,
  AuditHead,
  AuditQuery,
  PolicyVersionRecord,
  ProjectRecord,
  RoleBindingRecord,
  TokenRecord,
  UserRecord,
} from './entities.js';
export type { AuditStore, GovernanceStores, IdentityStore, PolicyStore } from './governance.store.js';
export { isRole, LEAST_ROLE_FOR, PERMISSIONS, ROLE_PERMISSIONS, ROLES, rolesGrant } from './roles.js';
export type { Permission, Role } from './roles.js';
export { NOTHING_PROTECTED } from './protected-targets.js';
export type { LabelTarget, ProtectedTargets } from './protected-targets.js';
