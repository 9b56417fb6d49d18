// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/.work/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-params': ['error', 3],
      'no-console': 'off',
    },
  },
  {
    // Domain code stays free of HTTP, storage drivers and the process environment (DESIGN.md).
    files: ['packages/server/src/modules/**/*.ts', 'packages/server/src/kernel/**/*.ts'],
    ignores: ['packages/server/src/modules/**/*.routes.ts', 'packages/server/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['fastify', '@fastify/*'], message: 'Only *.routes.ts may import Fastify.' },
            {
              group: ['kysely', 'pg', 'better-sqlite3', '@aws-sdk/*'],
              message: 'Storage libraries belong in adapters/.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through loadConfig().' },
      ],
    },
  },
  {
    // Test code reads JSON bodies of every shape; helpers mirror `inject` arguments.
    files: ['**/*.test.ts', 'e2e/**', 'packages/server/src/testing/**'],
    rules: { 'max-params': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        module: 'writable',
        require: 'readonly',
        URL: 'readonly',
      },
    },
  },
  {
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
