export * from './errors.js';
export * from './tracking.js';
export * from './lineage.js';
export * from './registry.js';
export * from './governance.js';
export * from './audit.js';
export * from './promotions.js';
