/** Import rules from STYLE.md, enforced in `npm run lint`. */
const SRV = '^packages/server/src';
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Module graph must stay acyclic.',
      from: { pathNot: '\\.test\\.ts$' },
      to: { circular: true },
    },
    {
      name: 'modules-through-index-only',
      severity: 'error',
      comment: 'A domain module uses another only through its index.ts.',
      from: { path: `${SRV}/modules/([^/]+)/` },
      to: { path: `${SRV}/modules/`, pathNot: [`${SRV}/modules/$1/`, `${SRV}/modules/[^/]+/index\\.ts$`] },
    },
    {
      name: 'domain-free-of-faces-and-adapters',
      severity: 'error',
      comment:
        'Domain modules receive ports from app.ts; they never import adapters, http/, config/ or app wiring.',
      from: { path: `${SRV}/(modules|kernel)/`, pathNot: '(\\.test|\\.routes)\\.ts$' },
      to: { path: `${SRV}/(adapters|http|config|app\\.ts|main\\.ts|testing)` },
    },
    {
      name: 'routes-use-http-helpers-only',
      severity: 'error',
      comment: 'Route plugins may use the cross-cutting http/ helpers, never adapters or app wiring.',
      from: { path: `${SRV}/modules/.+\\.routes\\.ts$` },
      to: { path: `${SRV}/(adapters|config|app\\.ts|main\\.ts|testing)` },
    },
    {
      name: 'only-routes-import-fastify',
      severity: 'error',
      comment: 'Inside modules only *.routes.ts may import Fastify.',
      from: { path: `${SRV}/(modules|kernel|adapters)/`, pathNot: '(\\.routes\\.ts|\\.test\\.ts)$' },
      to: { path: 'node_modules/(fastify|@fastify)/' },
    },
    {
      name: 'only-adapters-import-storage',
      severity: 'error',
      comment: 'Storage drivers belong in adapters/.',
      from: { path: `${SRV}/`, pathNot: [`${SRV}/adapters/`, `${SRV}/testing/`, '\\.test\\.ts$'] },
      to: { path: 'node_modules/(kysely|pg|better-sqlite3|@aws-sdk)/' },
    },
    {
      name: 'faces-never-import-server-internals',
      severity: 'error',
      comment: 'sdk and web talk HTTP only; cli may start the server through its package entry.',
      from: { path: '^packages/(sdk|web)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^packages/server/|node_modules/@cairn/server' },
    },
    {
      name: 'cli-uses-server-entry-only',
      severity: 'error',
      from: { path: '^packages/cli/' },
      to: { path: '^packages/server/src/(?!index\\.ts$|config/env-vars\\.ts$)' },
    },
    {
      name: 'serving-stands-alone',
      severity: 'error',
      comment:
        'Runtimes know nothing of the server, its storage or HTTP: a serving process can load them alone.',
      from: { path: '^packages/serving/src', pathNot: '\\.test\\.ts$' },
      to: {
        path: '^packages/(server|sdk|cli|web)/|node_modules/(fastify|@fastify|kysely|pg|better-sqlite3)/',
      },
    },
    {
      name: 'contract-is-pure',
      severity: 'error',
      comment: 'contract has no Node, no DOM and no other package.',
      from: { path: '^packages/contract/src' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'contract-depends-on-nothing-internal',
      severity: 'error',
      from: { path: '^packages/contract/src' },
      to: { path: '^packages/(server|sdk|cli|web)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
