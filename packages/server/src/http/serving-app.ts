import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { InferenceService, PredictionsService, ServingEngine } from '../modules/serving/index.js';
import { inferenceRoutes } from '../modules/serving/inference.routes.js';
import { registerAuth, type AuthOptions } from './auth.js';
import { registerErrorHandler, sendError } from './error-handler.js';
import { registerMetricsRoute, type MetricsSource } from './metrics.routes.js';
import { inferenceFastPath, serverWithFastPath } from './inference-fast-path.js';
import { requestIdOf } from './request-id.js';

export interface ServingAppOptions {
  inference: InferenceService;
  engine: ServingEngine;
  predictions: PredictionsService;
  auth: AuthOptions;
  metrics: MetricsSource;
  /** A deployment's own port answers for that deployment only. */
  only?: string;
  maxBodyBytes: number;
  serverVersion: string;
  logLevel: string;
  /** Runs once the listener has stopped and its requests have drained. */
  onClose?: () => Promise<void>;
}

/**
 * A lean HTTP app with the data plane only — v2, predict, feedback, health
 * and metrics — for a deployment's own port and for `cairn serve`
 * processes. Same auth and error shapes as the API server.
 */
export async function buildServingApp(options: ServingAppOptions): Promise<FastifyInstance> {
  let closing = false;
  const fastPath = inferenceFastPath({
    inference: options.inference,
    ...(options.only === undefined ? {} : { only: options.only }),
    maxBodyBytes: options.maxBodyBytes,
    authEnabled: options.auth.authEnabled,
    closing: () => closing,
    onInternalError: (error, requestId) => app.log.error({ err: error, requestId }, 'request failed'),
  });
  const app = Fastify({
    serverFactory: serverWithFastPath(fastPath),
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel },
    bodyLimit: options.maxBodyBytes,
    genReqId: (request) => requestIdOf(request.headers),
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, error);
    },
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandler(app);
  registerAuth(app, options.auth);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const ready = options.engine.ready;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'loading' });
  });
  registerMetricsRoute(app, options.metrics);
  await app.register(inferenceRoutes, {
    inference: options.inference,
    engine: options.engine,
    predictions: options.predictions,
    maxBodyBytes: options.maxBodyBytes,
    serverVersion: options.serverVersion,
    ...(options.only === undefined ? {} : { only: options.only }),
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  const { onClose } = options;
  if (onClose !== undefined) app.addHook('onClose', onClose);
  await app.ready();
  return app;
}
