export * from './errors.js';
export * from './tracking.js';
export * from './lineage.js';
export * from './registry.js';
