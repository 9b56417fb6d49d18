export { AccessControl, deniedAttemptOf, deniedError } from './access-control.js';
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
// identity: users, tokens, projects, authentication
export { AuthenticationFailure, Authenticator, readCredentials } from './authenticator.js';
export type { AuthFailureReason } from './authenticator.js';
export { bootstrapAdmin, ensureFirstAdmin, FIRST_ADMIN_NAME } from './bootstrap.js';
export type { BootstrapDeps } from './bootstrap.js';
export { anonymousCaller, authFailedEntry, DeniedAttempts } from './denied-attempts.js';
export { notifyingTransactor } from './identity-context.js';
export type { IdentityContext, IdentityTransactionStores } from './identity-context.js';
export { LoginThrottle } from './login-throttle.js';
export type { LoginThrottleOptions } from './login-throttle.js';
export { ProjectsService } from './projects.service.js';
export type { CreateProjectInput, RoleChange } from './projects.service.js';
export { generateToken, hashSecret, parseToken, secretMatches } from './token-secret.js';
export type { HashedSecret, NewToken, ParsedToken } from './token-secret.js';
export { TokensService } from './tokens.service.js';
export type { CreatedToken, CreateTokenInput, TokenInfo } from './tokens.service.js';
export { UsersService } from './users.service.js';
export type { CreateUserInput } from './users.service.js';
// audit trail read side: query, verify, signed checkpoints, export, retention
export { AuditService } from './audit.service.js';
export type {
  AuditExport,
  AuditQueryInput,
  AuditServiceDeps,
  AuditTransactionStores,
} from './audit.service.js';
export { auditEventJson } from './audit-json.js';
export { startCheckpoints, startRetention, startServerTimer } from './audit-retention.js';
export type { RetentionOptions, RetentionTimer } from './audit-retention.js';
export {
  AuditSigner,
  auditKeyIdOfPem,
  auditPublicKeyPem,
  checkpointSignatureError,
  checkpointSigningInput,
  generateAuditKeyPem,
  verifyCheckpoint,
} from './audit-signing.js';
export { recomputeAuditHash, verifyAuditChain } from './audit-verify.js';
export type {
  AuditChainSource,
  AuditProblem,
  AuditProblemKind,
  AuditVerifyResult,
  VerifyChainOptions,
} from './audit-verify.js';
export { verifyAuditExport } from './audit-export-verify.js';
export type { ExportVerifyOptions, ExportVerifyResult } from './audit-export-verify.js';
// policies: what a project protects and what a promotion must pass
export {
  approvalsRequired,
  compareMetric,
  GOVERNED_DEFAULT_POLICY,
  LOCAL_DEFAULT_POLICY,
  parseMetricCondition,
  parsePolicyDocument,
  parsePolicySource,
  policyJson,
  protects,
  sniffPolicyFormat,
} from './policy-document.js';
export type { MetricCondition, Policy, PolicyFormat } from './policy-document.js';
export { PoliciesService } from './policies.service.js';
export type {
  EffectivePolicy,
  PoliciesContext,
  PolicyTransactionStores,
  SetPolicyInput,
} from './policies.service.js';
