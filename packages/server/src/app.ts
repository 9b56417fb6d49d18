import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { openBlobStore } from './adapters/blob/open-blob-store.js';
import { openDatabase, type MetadataDatabase } from './adapters/sql/database.js';
import { createSqlStores, createSqlTransactor } from './adapters/sql/sql-stores.js';
import type { CairnConfig } from './config/load-config.js';
import { registerErrorHandler, sendError } from './http/error-handler.js';
import { registerHealthRoutes } from './http/health.routes.js';
import { registerOpenApi } from './http/openapi.js';
import { systemClock, type Clock } from './kernel/clock.js';
import { ArtifactService, type BlobStore } from './modules/artifacts/index.js';
import { mlflowArtifactsRoutes } from './modules/artifacts/mlflow-artifacts.routes.js';
import { AccessControl } from './modules/governance/index.js';
import { LineageService } from './modules/lineage/index.js';
import { lineageRoutes } from './modules/lineage/lineage.routes.js';
import {
  ModelCardService,
  ModelVersionService,
  PINNED_ARTIFACT_ROOT,
  PinnedFilesTree,
  RegisteredModelService,
} from './modules/registry/index.js';
import { mlflowRegistryRoutes } from './modules/registry/mlflow-registry.routes.js';
import { registryRoutes } from './modules/registry/registry.routes.js';
import {
  ExperimentService,
  TRACKING_NODE_KINDS,
  TrackingNodeDescriber,
  TrackingService,
} from './modules/tracking/index.js';
import { mlflowTrackingRoutes } from './modules/tracking/mlflow-tracking.routes.js';
import { trackingRoutes } from './modules/tracking/tracking.routes.js';

export interface AppOverrides {
  clock?: Clock;
  database?: MetadataDatabase;
  blobs?: BlobStore;
  /** Pino logger options or false; defaults to the configured level. */
  logger?: boolean | Record<string, unknown>;
}

export interface Services {
  access: AccessControl;
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
  lineage: LineageService;
  models: RegisteredModelService;
  versions: ModelVersionService;
  cards: ModelCardService;
}

declare module 'fastify' {
  interface FastifyInstance {
    cairn: { config: CairnConfig; services: Services; database: MetadataDatabase; blobs: BlobStore };
  }
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The only place adapters are created: config in, a ready Fastify app out
 * (migrated database, default experiment present). Tests call it with
 * `inject()`; `cairn server` calls it and listens.
 */
export async function buildApp(config: CairnConfig, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const clock = overrides.clock ?? systemClock;
  const database = overrides.database ?? openDatabase(config.dbUrl);
  const ownsDatabase = overrides.database === undefined;
  try {
    await database.migrate();
  } catch (error) {
    if (ownsDatabase) await database.close().catch(() => undefined);
    throw error;
  }
  const blobs = overrides.blobs ?? (await openBlobStore(config.blobUrl, config.s3));

  const stores = createSqlStores(database.db, database.helpers);
  const transactor = createSqlTransactor(database, clock);
  const access = new AccessControl({ authEnabled: config.auth.enabled });
  const experiments = new ExperimentService({ store: stores.tracking, transactor, clock });
  const tracking = new TrackingService({ experiments, store: stores.tracking, transactor, clock });
  const artifacts = new ArtifactService({ blobs, index: stores.artifacts, transactor, clock });
  const lineage = new LineageService({ store: stores.lineage, clock });
  const trackingNodes = new TrackingNodeDescriber(stores.tracking);
  for (const kind of TRACKING_NODE_KINDS) lineage.registerDescriber(kind, trackingNodes);
  const registryContext = { store: stores.registry, transactor, clock };
  const models = new RegisteredModelService(registryContext);
  const versions = new ModelVersionService(registryContext, { runs: tracking, artifacts, blobs });
  const cards = new ModelCardService(registryContext, { versions, runs: tracking, lineage });
  lineage.registerDescriber('model_version', { describe: (_kind, ids) => versions.describeVersions(ids) });
  artifacts.mountReadOnly(PINNED_ARTIFACT_ROOT, new PinnedFilesTree(stores.registry, clock));
  await experiments.ensureDefaults();

  const app = Fastify({
    logger: overrides.logger ?? (config.logLevel === 'silent' ? false : { level: config.logLevel }),
    bodyLimit: config.bodyLimitBytes,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    },
    logController: new LogController({
      disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace',
    }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    forceCloseConnections: true,
    // Errors Fastify raises before routing (a malformed URL) get the same shapes as the rest.
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, error);
    },
  });
  const services: Services = { access, experiments, tracking, artifacts, lineage, models, versions, cards };
  app.decorate('cairn', { config, services, database, blobs });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onClose', async () => {
    if (ownsDatabase) await database.close();
  });

  registerErrorHandler(app);
  await registerOpenApi(app);
  registerHealthRoutes(app);
  for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
    await app.register(mlflowTrackingRoutes, { prefix, experiments, tracking, artifacts });
    await app.register(mlflowRegistryRoutes, { prefix, models, versions });
  }
  for (const prefix of ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts']) {
    await app.register(mlflowArtifactsRoutes, { prefix, artifacts });
  }
  await app.register(trackingRoutes, { prefix: '/api/v1', experiments, tracking, artifacts });
  await app.register(lineageRoutes, { prefix: '/api/v1', lineage });
  await app.register(registryRoutes, { prefix: '/api/v1', models, versions, cards, artifacts, lineage });
  await app.ready();
  return app;
}
