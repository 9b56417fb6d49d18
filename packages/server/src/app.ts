import path from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { DuckDbTableAnalytics } from './adapters/analytics/duckdb-table-analytics.js';
import { openBlobStore } from './adapters/blob/open-blob-store.js';
import { openDatabase, type MetadataDatabase } from './adapters/sql/database.js';
import { createSqlStores, createSqlTransactor } from './adapters/sql/sql-stores.js';
import type { CairnConfig } from './config/load-config.js';
import { registerErrorHandler, sendError } from './http/error-handler.js';
import { registerHealthRoutes } from './http/health.routes.js';
import { registerOpenApi } from './http/openapi.js';
import { artifactOwners, modelVersionDescriber } from './project-resolvers.js';
import { systemClock, type Clock } from './kernel/clock.js';
import { ArtifactService, type BlobStore } from './modules/artifacts/index.js';
import { mlflowArtifactsRoutes } from './modules/artifacts/mlflow-artifacts.routes.js';
import { AccessControl, PoliciesService, type ProtectedTargets } from './modules/governance/index.js';
import { policyRoutes } from './modules/governance/policies.routes.js';
import { expireOverdueRequests, PromotionsService } from './modules/promotions/index.js';
import { promotionRoutes } from './modules/promotions/promotions.routes.js';
import { registerAuth } from './http/auth.js';
import {
  Authenticator,
  notifyingTransactor,
  DeniedAttempts,
  ensureFirstAdmin,
  LoginThrottle,
  ProjectsService,
  TokensService,
  UsersService,
  type LoginThrottleOptions,
} from './modules/governance/index.js';
import { identityRoutes } from './modules/governance/identity.routes.js';
import { loadOrCreateAuditKey } from './adapters/keys/audit-key-file.js';
import {
  AuditService,
  AuditSigner,
  startCheckpoints,
  startRetention,
  startServerTimer,
} from './modules/governance/index.js';
import { auditRoutes } from './modules/governance/audit.routes.js';
import { LineageService } from './modules/lineage/index.js';
import {
  ChunkReader,
  DataGcService,
  DatasetDiffService,
  DatasetReadService,
  DatasetsService,
  DatasetTransferService,
  DatasetVersionDescriber,
  ObjectFiles,
  TableProfilesService,
  UploadsService,
} from './modules/datasets/index.js';
import { datasetRoutes } from './modules/datasets/datasets.routes.js';
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
  CodeVersionService,
  ExperimentService,
  TRACKING_NODE_KINDS,
  TrackingNodeDescriber,
  TrackingService,
} from './modules/tracking/index.js';
import { mlflowTrackingRoutes } from './modules/tracking/mlflow-tracking.routes.js';
import { trackingRoutes } from './modules/tracking/tracking.routes.js';
import { codeVersionRoutes } from './modules/tracking/code-versions.routes.js';
import { deploymentRoutes } from './modules/serving/deployments.routes.js';
import { inferenceRoutes } from './modules/serving/inference.routes.js';
import {
  DeploymentDescriber,
  type DeploymentsService,
  type InferenceService,
  type PredictionsService,
} from './modules/serving/index.js';
import { registerMetricsRoute } from './http/metrics.routes.js';
import { CAIRN_VERSION, createServing, startServingIn } from './serving-wiring.js';
import { createPipelines, startPipelinesIn } from './pipelines-wiring.js';
import {
  PipelineRunDescriber,
  type PipelineFilesService,
  type PipelineRunsService,
  type PipelineTriggersService,
} from './modules/pipelines/index.js';
import { inferenceFastPath, serverWithFastPath } from './http/inference-fast-path.js';
import { requestIdOf } from './http/request-id.js';

export interface AppOverrides {
  clock?: Clock;
  database?: MetadataDatabase;
  blobs?: BlobStore;
  /** Pino logger options or false; defaults to the configured level. */
  logger?: boolean | Record<string, unknown>;
  /** Failed sign-ins allowed per address and the blocks after them (tests shorten them). */
  loginThrottle?: Omit<LoginThrottleOptions, 'clock'>;
  /** Which aliases and stages need a promotion request; tests substitute fixed answers for the policy's. */
  protectedTargets?: ProtectedTargets;
}

export interface Services {
  access: AccessControl;
  experiments: ExperimentService;
  tracking: TrackingService;
  codeVersions: CodeVersionService;
  datasets: DatasetsService;
  uploads: UploadsService;
  datasetReads: DatasetReadService;
  datasetTransfer: DatasetTransferService;
  datasetGc: DataGcService;
  tableProfiles: TableProfilesService;
  datasetDiffs: DatasetDiffService;
  artifacts: ArtifactService;
  lineage: LineageService;
  models: RegisteredModelService;
  versions: ModelVersionService;
  cards: ModelCardService;
  policies: PoliciesService;
  promotions: PromotionsService;
  users: UsersService;
  tokens: TokensService;
  projects: ProjectsService;
  audit: AuditService;
  deployments: DeploymentsService;
  predictions: PredictionsService;
  inference: InferenceService;
  pipelineRuns: PipelineRunsService;
  pipelineFiles: PipelineFilesService;
  pipelineTriggers: PipelineTriggersService;
}

declare module 'fastify' {
  interface FastifyInstance {
    cairn: {
      config: CairnConfig;
      services: Services;
      database: MetadataDatabase;
      blobs: BlobStore;
      /** Every route as registered, so tests can prove each one is covered by the permission table. */
      routes: Array<{ method: string; url: string }>;
    };
  }
}

/**
 * The only place adapters are created: config in, a ready Fastify app out
 * (migrated database, default experiment present). Tests call it with
 * `inject()`; `cairn server` calls it and listens.
 */
export async function buildApp(config: CairnConfig, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const clock = overrides.clock ?? systemClock;
  // Read (or made) before the database opens, so a bad key file fails start-up with nothing to undo.
  const auditSigner = new AuditSigner(loadOrCreateAuditKey(config.audit.keyFile));
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
  const experiments = new ExperimentService({ store: stores.tracking, transactor, clock, access });
  const tracking = new TrackingService({ experiments, store: stores.tracking, transactor, clock, access });
  const codeVersions = new CodeVersionService({
    experiments,
    store: stores.tracking,
    blobs,
    transactor,
    access,
    clock,
  });
  const ownerOf = artifactOwners({ tracking, registry: stores.registry });
  const index = stores.artifacts;
  const artifacts = new ArtifactService({ blobs, index, transactor, clock, access, ownerOf });
  const lineage = new LineageService({ store: stores.lineage, clock, access });
  const trackingNodes = new TrackingNodeDescriber(stores.tracking);
  for (const kind of TRACKING_NODE_KINDS) lineage.registerDescriber(kind, trackingNodes);
  lineage.registerDescriber('dataset_version', new DatasetVersionDescriber(stores.datasets));
  const datasetsContext = {
    store: stores.datasets,
    transactor,
    clock,
    access,
    projects: stores.identity,
    blobs,
    reader: new ChunkReader({ store: stores.datasets, blobs }),
  };
  const datasets = new DatasetsService(datasetsContext);
  const uploads = new UploadsService(datasetsContext);
  const datasetReads = new DatasetReadService(datasetsContext);
  const datasetTransfer = new DatasetTransferService(datasetsContext);
  const datasetGc = new DataGcService(datasetsContext);
  // Tables are read from local copies of their file objects, kept as a cache under the data folder.
  const analytics = new DuckDbTableAnalytics();
  const objectFiles = new ObjectFiles({
    reader: datasetsContext.reader,
    cacheDir: path.join(config.dataDir, 'cache'),
  });
  const tableProfiles = new TableProfilesService(datasetsContext, { analytics, files: objectFiles });
  uploads.onCommitted(tableProfiles.versionAdded);
  datasetTransfer.onCommitted(tableProfiles.versionAdded);
  const datasetDiffs = new DatasetDiffService(datasetsContext, {
    analytics,
    files: objectFiles,
    profiles: tableProfiles,
  });
  const policies = new PoliciesService({
    policies: stores.policies,
    identity: stores.identity,
    transactor,
    access,
    clock,
  });
  const registryContext = {
    store: stores.registry,
    transactor,
    clock,
    access,
    protectedTargets: overrides.protectedTargets ?? policies,
    projects: stores.identity,
  };
  const models = new RegisteredModelService(registryContext);
  const versions = new ModelVersionService(registryContext, {
    runs: tracking,
    experiments,
    artifacts,
    blobs,
  });
  const cards = new ModelCardService(registryContext, { versions, runs: tracking, lineage });
  const promotions = new PromotionsService({
    store: stores.promotions,
    transactor,
    clock,
    access,
    policies,
    models,
    evidence: { versions, cards, runs: tracking, lineage },
  });
  lineage.registerDescriber('model_version', modelVersionDescriber(versions, stores.registry));
  artifacts.mountReadOnly(PINNED_ARTIFACT_ROOT, new PinnedFilesTree(stores.registry, clock, access));
  await experiments.ensureDefaults();
  const authenticator = new Authenticator({ identity: stores.identity, clock });
  const identityContext = {
    identity: stores.identity,
    transactor: notifyingTransactor(transactor, () => authenticator.forget()),
    access,
    clock,
  };
  const users = new UsersService(identityContext);
  const tokens = new TokensService(identityContext);
  const projects = new ProjectsService(identityContext);
  const audit = new AuditService({
    log: stores.auditLog,
    transactor,
    access,
    clock,
    signer: auditSigner,
    minRetentionDays: config.audit.minRetentionDays,
  });
  if (config.auth.enabled) {
    try {
      await ensureFirstAdmin({ identity: stores.identity, transactor, clock }, config.auth);
    } catch (error) {
      if (ownsDatabase) await database.close().catch(() => undefined);
      throw error;
    }
  }

  const serving = createServing({
    config,
    stores,
    transactor,
    clock,
    access,
    blobs,
    models: versions,
    onError: (error, message) => app.log.error({ err: error }, message),
    // A database handed in (tests) may not be the one the config names: the worker could not find it.
    inlineLog: ownsDatabase === false,
  });
  lineage.registerDescriber('deployment', new DeploymentDescriber(stores.deployments));
  const pipelines = createPipelines({
    config,
    stores,
    transactor,
    clock,
    access,
    blobs,
    experiments,
    tracking,
    artifacts,
    datasets,
    datasetReads,
    onError: (error, message) => app.log.error({ err: error }, message),
  });
  lineage.registerDescriber('pipeline_run', new PipelineRunDescriber(stores.pipelines));
  let closing = false;
  const fastPath = inferenceFastPath({
    inference: serving.inference,
    maxBodyBytes: config.bodyLimitBytes,
    authEnabled: config.auth.enabled,
    closing: () => closing,
    onInternalError: (error, requestId) => app.log.error({ err: error, requestId }, 'request failed'),
  });
  const app = Fastify({
    serverFactory: serverWithFastPath(fastPath),
    logger: overrides.logger ?? (config.logLevel === 'silent' ? false : { level: config.logLevel }),
    bodyLimit: config.bodyLimitBytes,
    // Dataset names may be 256 characters (Fastify's default is 100).
    maxParamLength: 512,
    genReqId: (request) => requestIdOf(request.headers),
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
  const services: Services = {
    access,
    experiments,
    tracking,
    codeVersions,
    datasets,
    uploads,
    datasetReads,
    datasetTransfer,
    datasetGc,
    tableProfiles,
    datasetDiffs,
    artifacts,
    lineage,
    models,
    versions,
    cards,
    policies,
    promotions,
    users,
    tokens,
    projects,
    audit,
    deployments: serving.deployments,
    predictions: serving.predictions,
    inference: serving.inference,
    pipelineRuns: pipelines.runs,
    pipelineFiles: pipelines.files,
    pipelineTriggers: pipelines.triggers,
  };
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  app.decorate('cairn', { config, services, database, blobs, routes });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onClose', async () => {
    if (ownsDatabase) await database.close();
  });

  const { retentionDays } = config.audit;
  if (retentionDays !== undefined) {
    const retention = startRetention({
      audit,
      retentionDays,
      onPruned: (result) => app.log.info(result, 'audit events past retention deleted'),
      onError: (error) => app.log.error({ err: error }, 'audit retention run failed'),
    });
    app.addHook('preClose', async () => retention.stop());
  }
  const { checkpointMinutes } = config.audit;
  if (checkpointMinutes > 0) {
    const checkpoints = startCheckpoints({
      audit,
      intervalMs: checkpointMinutes * 60_000,
      onSigned: (checkpoint) => app.log.info({ seq: checkpoint.seq }, 'audit checkpoint signed'),
      onError: (error) => app.log.error({ err: error }, 'audit checkpoint failed'),
    });
    app.addHook('preClose', async () => checkpoints.stop());
  }
  const promotionExpiry = startServerTimer(
    async () => {
      const expired = await expireOverdueRequests({ store: stores.promotions, transactor, clock });
      if (expired > 0) app.log.info({ expired }, 'promotion requests past their expiry marked expired');
    },
    { onError: (error) => app.log.error({ err: error }, 'promotion expiry sweep failed') },
  );
  app.addHook('preClose', async () => promotionExpiry.stop());
  // Started once the app is ready, so a failed start-up leaves no worker behind.
  app.addHook('onReady', async () =>
    tableProfiles.start({ onError: (error, message) => app.log.error({ err: error }, message) }),
  );
  app.addHook('preClose', async () => {
    const stopping = tableProfiles.stop();
    // Closing the copies and DuckDB interrupts a profile in progress, so shutting down never waits
    // for a big table.
    objectFiles.close();
    await analytics.close();
    await stopping;
  });

  registerErrorHandler(app);
  const auth = {
    authEnabled: config.auth.enabled,
    authenticator,
    throttle: new LoginThrottle({ ...overrides.loginThrottle, clock }),
    deniedAttempts: new DeniedAttempts(transactor),
  };
  registerAuth(app, auth);
  startServingIn(app, {
    parts: serving,
    config,
    auth,
    onError: (error, message) => app.log.error({ err: error }, message),
  });
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
  await app.register(codeVersionRoutes, { prefix: '/api/v1', codeVersions });
  await app.register(datasetRoutes, {
    prefix: '/api/v1',
    datasets,
    uploads,
    reads: datasetReads,
    transfer: datasetTransfer,
    gc: datasetGc,
    profiles: tableProfiles,
    diffs: datasetDiffs,
  });
  await app.register(lineageRoutes, { prefix: '/api/v1', lineage });
  await app.register(registryRoutes, { prefix: '/api/v1', models, versions, cards, artifacts, lineage });
  await app.register(identityRoutes, { prefix: '/api/v1', access, users, tokens, projects });
  await app.register(auditRoutes, { prefix: '/api/v1', audit });
  await app.register(policyRoutes, { prefix: '/api/v1', policies });
  await app.register(promotionRoutes, { prefix: '/api/v1', promotions });
  await app.register(deploymentRoutes, {
    prefix: '/api/v1',
    deployments: serving.deployments,
    predictions: serving.predictions,
    engine: serving.engine,
  });
  await app.register(inferenceRoutes, {
    inference: serving.inference,
    engine: serving.engine,
    predictions: serving.predictions,
    maxBodyBytes: config.bodyLimitBytes,
    serverVersion: CAIRN_VERSION,
  });
  await startPipelinesIn(app, pipelines);
  registerMetricsRoute(app, serving.metrics);
  await app.ready();
  return app;
}
