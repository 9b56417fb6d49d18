export * from './test-databases.js';
export * from './test-app.js';
