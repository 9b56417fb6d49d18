export * from './errors.js';
export * from './tracking.js';
