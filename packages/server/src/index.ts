export { buildApp } from './app.js';
export type { AppOverrides, Services } from './app.js';
export { startServer } from './main.js';
export type { RunningServer } from './main.js';
export { startServing } from './serve-main.js';
export type { RunningServing } from './serve-main.js';
export { bootstrapAdminInStore } from './admin-bootstrap.js';
export type { BootstrappedAdmin } from './admin-bootstrap.js';
export { loadConfig } from './config/load-config.js';
export type { CairnConfig, ConfigFlags, LoadConfigOptions } from './config/load-config.js';
export { ENV_VARS } from './config/env-vars.js';
export type { EnvVarSpec } from './config/env-vars.js';
export { auditPublicKeyOfDataDir, dataDirLocations, verifyAuditStore } from './audit-store-verify.js';
export type { VerifyAuditStoreOptions } from './audit-store-verify.js';
export { verifyAuditExport } from './modules/governance/index.js';
export type {
  AuditVerifyResult,
  ExportVerifyOptions,
  ExportVerifyResult,
} from './modules/governance/index.js';
export { startWorker } from './worker-main.js';
export type { RunningWorker, StartWorkerOptions } from './worker-main.js';
