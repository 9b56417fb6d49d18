import { createServer } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { defaultRuntimes, type RuntimeRegistry } from '@cairn/serving';
import { PrometheusMetrics } from './adapters/metrics/prometheus-metrics.js';
import type { MetadataStores } from './adapters/sql/sql-stores.js';
import type { CairnConfig } from './config/load-config.js';
import type { AuthOptions } from './http/auth.js';
import { DeploymentListeners } from './http/deployment-listeners.js';
import { buildServingApp } from './http/serving-app.js';
import type { Clock } from './kernel/clock.js';
import type { Transactor } from './kernel/transactor.js';
import type { BlobStore } from './modules/artifacts/index.js';
import type { AccessControl } from './modules/governance/index.js';
import { WorkerPredictionSink } from './adapters/sql/serving/worker-prediction-sink.js';
import {
  AliasFollower,
  inlinePredictionSink,
  DeploymentsService,
  InferenceService,
  ModelFileCache,
  PredictionLog,
  PredictionsService,
  RuntimePool,
  ServingEngine,
  type ModelVersionSource,
  type ServingContext,
} from './modules/serving/index.js';

export const CAIRN_VERSION = '0.1.0';
/** How often a serving process looks for new revisions made elsewhere, and for moved aliases. */
const POLL_MS = 1_000;
const FOLLOW_MS = 2_000;

export interface ServingParts {
  deployments: DeploymentsService;
  predictions: PredictionsService;
  inference: InferenceService;
  engine: ServingEngine;
  metrics: PrometheusMetrics;
  log: PredictionLog;
  pool: RuntimePool;
  store: MetadataStores['deployments'];
}

export interface ServingDeps {
  config: CairnConfig;
  stores: MetadataStores;
  transactor: Transactor<MetadataStores>;
  clock: Clock;
  access: AccessControl;
  blobs: BlobStore;
  models: ModelVersionSource;
  onError: (error: unknown, message: string) => void;
  /** Serve only these deployments (`cairn serve --deployment`). */
  only?: readonly string[];
  runtimes?: RuntimeRegistry;
  /** Write the prediction log on the serving thread (a database the worker cannot open: in-memory ones). */
  inlineLog?: boolean;
}

/** The serving module's parts, shared by `cairn server` (with the API) and `cairn serve` (data plane only). */
export function createServing(deps: ServingDeps): ServingParts {
  const { config, stores, clock, access, onError } = deps;
  const metrics = new PrometheusMetrics();
  const context: ServingContext = {
    store: stores.deployments,
    transactor: deps.transactor,
    clock,
    access,
    projects: stores.identity,
    models: deps.models,
  };
  const files = new ModelFileCache({
    blobs: deps.blobs,
    models: deps.models,
    cacheDir: path.join(config.dataDir, 'cache'),
  });
  const pool = new RuntimePool({ runtimes: deps.runtimes ?? defaultRuntimes(), files, observer: metrics });
  // A build writes the log from a worker thread; tests running the TypeScript sources write it inline.
  const sink =
    deps.inlineLog !== true && WorkerPredictionSink.available()
      ? new WorkerPredictionSink({ dbUrl: config.dbUrl })
      : inlinePredictionSink(stores.deployments);
  const log = new PredictionLog(sink, {
    onError: (error) => onError(error, 'writing the prediction log failed'),
    onDropped: (count) => metrics.predictionsDropped(count),
  });
  const engine = new ServingEngine({
    store: stores.deployments,
    pool,
    onError,
    ...(deps.only === undefined ? {} : { only: deps.only }),
  });
  const deployments = new DeploymentsService({ ...context, ports: { free: freePort } }, engine);
  const predictions = new PredictionsService(context);
  const inference = new InferenceService({ engine, log, access, observer: metrics, now: () => clock.now() });
  return { deployments, predictions, inference, engine, metrics, log, pool, store: stores.deployments };
}

/**
 * Starts serving inside `cairn server`: loads deployments once the app is
 * ready, gives each deployment with a port its own listener, follows
 * aliases, and on shutdown drains in order — listeners and requests in
 * flight first, then the runtimes, then the prediction log.
 */
export function startServingIn(
  app: FastifyInstance,
  input: { parts: ServingParts; config: CairnConfig; auth: AuthOptions; onError: ServingDeps['onError'] },
): void {
  const { parts, config, auth, onError } = input;
  const listeners = new DeploymentListeners({
    host: config.host,
    build: (name) =>
      buildServingApp({
        inference: parts.inference,
        engine: parts.engine,
        predictions: parts.predictions,
        auth,
        metrics: parts.metrics,
        only: name,
        maxBodyBytes: config.bodyLimitBytes,
        serverVersion: CAIRN_VERSION,
        logLevel: config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'warn',
      }),
    onError,
  });
  const follower = new AliasFollower({
    store: parts.store,
    deployments: parts.deployments,
    intervalMs: FOLLOW_MS,
    onError,
  });
  parts.engine.onServed((name, active) => listeners.update(name, active?.deployment.port ?? null));
  app.addHook('onReady', async () => {
    void parts.engine.start(POLL_MS);
    follower.start();
  });
  app.addHook('preClose', async () => {
    await follower.stop();
    await listeners.closeAll();
  });
  // After the API's own requests have drained.
  app.addHook('onClose', async () => {
    await parts.engine.stop();
    await parts.pool.closeAll();
    await parts.log.close();
  });
}

/** A port nothing listens on now, for a deployment created without one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
