import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CairnError } from '@cairn/contract';
import { modelMetadataJson } from '@cairn/serving';
import type { ActiveDeployment } from './active-deployment.js';
import { answerInfer, answerPredict, ROUTE_KEY_HEADER } from './inference-answers.js';
import type { InferenceService } from './inference.service.js';
import type { PredictionsService } from './predictions.service.js';
import type { ServingEngine } from './serving-engine.js';

export interface InferenceRoutesOptions {
  inference: InferenceService;
  engine: ServingEngine;
  predictions: PredictionsService;
  /** Only this deployment answers (a deployment's own port); every deployment when absent. */
  only?: string;
  /** Request bodies above this are refused with 413 before they are parsed. */
  maxBodyBytes: number;
  serverVersion: string;
}

type Named = { Params: { name: string; version?: string } };

/**
 * The data plane: Open Inference Protocol v2 (as KServe and Triton serve
 * it) with the deployment's name as the model name, and a simple JSON
 * route per deployment. Bodies are checked against the signature of the
 * version the request is routed to; errors name the input at fault.
 */
export const inferenceRoutes: FastifyPluginAsync<InferenceRoutesOptions> = async (app, options) => {
  const { inference, engine, predictions, only } = options;
  const hide = { schema: { hide: true } };
  const bodyLimit = options.maxBodyBytes;
  // Plain JSON.parse: Fastify's default parser also scans for __proto__ and constructor keys, which
  // cost ~5 % of a small request here; the codecs read only a body's own properties, so those keys
  // are inert (the hostile-input tests send them).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      done(
        new CairnError('INVALID_ARGUMENT', `the body is not valid JSON: ${(error as Error).message}`),
        undefined,
      );
    }
  });

  const checkOnly = (name: string): void => {
    if (only !== undefined && name !== only) {
      throw new CairnError('NOT_FOUND', `this port serves deployment ${only}, not ${name}`);
    }
  };
  const activeFor = (name: string): ActiveDeployment => {
    checkOnly(name);
    return inference.readable(name);
  };
  const routeKey = (request: FastifyRequest): string | undefined => {
    const key = request.headers[ROUTE_KEY_HEADER];
    return typeof key === 'string' && key !== '' ? key : undefined;
  };
  const sendJson = (reply: FastifyReply, text: string) =>
    reply.header('content-type', 'application/json; charset=utf-8').send(text);

  app.get('/v2', hide, async () => ({ name: 'cairn', version: options.serverVersion, extensions: [] }));
  app.get('/v2/health/live', hide, async () => ({ live: true }));
  app.get('/v2/health/ready', hide, async (_request, reply) => {
    const ready = engine.ready;
    return reply.status(ready ? 200 : 503).send({ ready });
  });

  const metadata = async (request: FastifyRequest<Named>) => {
    const active = activeFor(request.params.name);
    const { version } = request.params;
    const loaded = active.pick({ version: version ?? String(active.routes[0]!.route.version) });
    return modelMetadataJson({
      name: active.name,
      versions: version === undefined ? active.versions : [version],
      platform: loaded.route.format === 'onnx' ? 'onnxruntime_onnx' : loaded.route.format,
      metadata: loaded.runtime.metadata,
    });
  };
  app.get<Named>('/v2/models/:name', hide, metadata);
  app.get<Named>('/v2/models/:name/versions/:version', hide, metadata);

  const ready = async (request: FastifyRequest<Named>, reply: FastifyReply) => {
    const { name, version } = request.params;
    let isReady = false;
    try {
      const active = activeFor(name);
      isReady = version === undefined || active.versions.includes(version);
    } catch (error) {
      // Loading (or failed to load): known, but not ready. Anything else (unknown, forbidden) is an error.
      if (!(error instanceof CairnError && error.code === 'UNAVAILABLE')) throw error;
    }
    return reply.status(isReady ? 200 : 503).send({ name, ready: isReady });
  };
  app.get<Named>('/v2/models/:name/ready', hide, ready);
  app.get<Named>('/v2/models/:name/versions/:version/ready', hide, ready);

  const infer = async (request: FastifyRequest<Named>, reply: FastifyReply) => {
    const { name, version } = request.params;
    checkOnly(name);
    const text = await answerInfer(inference, {
      name,
      version,
      key: routeKey(request),
      requestId: request.id,
      body: request.body,
    });
    return sendJson(reply, text);
  };
  app.post<Named>('/v2/models/:name/infer', { ...hide, bodyLimit }, infer);
  app.post<Named>('/v2/models/:name/versions/:version/infer', { ...hide, bodyLimit }, infer);

  app.post<Named>('/deployments/:name/predict', { ...hide, bodyLimit }, async (request, reply) => {
    const { name } = request.params;
    checkOnly(name);
    const text = await answerPredict(inference, {
      name,
      key: routeKey(request),
      requestId: request.id,
      body: request.body,
    });
    return sendJson(reply, text);
  });

  app.post<Named>('/deployments/:name/feedback', hide, async (request) => {
    const { name } = request.params;
    checkOnly(name);
    return predictions.feedback({ name, body: request.body });
  });
};
