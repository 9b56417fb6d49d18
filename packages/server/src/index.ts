export { buildApp } from './app.js';
export type { AppOverrides, Services } from './app.js';
export { startServer } from './main.js';
export type { RunningServer } from './main.js';
export { loadConfig } from './config/load-config.js';
export type { CairnConfig, ConfigFlags, LoadConfigOptions } from './config/load-config.js';
export { ENV_VARS } from './config/env-vars.js';
export type { EnvVarSpec } from './config/env-vars.js';
