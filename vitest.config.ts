import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, file = 'index.ts'): string =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

// Tests run from TypeScript sources; only the CLI end-to-end tests use the built `dist/`.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@cairn\/contract$/, replacement: src('contract') },
      { find: /^@cairn\/serving$/, replacement: src('serving') },
      { find: /^@cairn\/server\/env-vars$/, replacement: src('server', 'config/env-vars.ts') },
      { find: /^@cairn\/server$/, replacement: src('server') },
      { find: /^@cairn\/sdk$/, replacement: src('sdk') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'e2e/**/*.test.ts'],
    allowOnly: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
