import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MLFLOW_ERROR_BY_CODE, nativeStatus, toCairnError } from './error-mapping.js';

const MLFLOW_PREFIXES = [
  '/api/2.0/mlflow',
  '/ajax-api/2.0/mlflow',
  '/api/2.0/mlflow-artifacts',
  '/ajax-api/2.0/mlflow-artifacts',
];

/** Open Inference Protocol routes answer errors as `{"error": "message"}`, as KServe and Triton do. */
export function isInferenceProtocolPath(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

export function isMlflowPath(url: string): boolean {
  return MLFLOW_PREFIXES.some((prefix) => url.startsWith(prefix));
}

/**
 * The one error handler. MLflow routes answer in MLflow's shape and codes; the
 * rest in Cairn's `{ error: { code, message } }`. Every answer carries the
 * request id; 5xx are logged with it and never expose internals.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, raw: unknown): FastifyReply {
  const error = toCairnError(raw);
  if (error.code === 'INTERNAL' || error.code === 'DATA_LOSS') {
    request.log.error({ err: raw, requestId: request.id }, 'request failed');
  } else {
    request.log.debug({ code: error.code, message: error.message }, 'request rejected');
  }
  if (isMlflowPath(request.url)) {
    const mlflow = MLFLOW_ERROR_BY_CODE[error.code];
    return reply.status(mlflow.status).send({ error_code: mlflow.code, message: error.message });
  }
  // An overloaded or restarting model: clients (and load balancers) back off and come back.
  if (error.code === 'UNAVAILABLE' && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  if (isInferenceProtocolPath(request.url)) {
    // OIP's error body is `{"error": message}`; Cairn's code rides beside it for clients that want it.
    return reply.status(nativeStatus(error)).send({ error: error.message, code: error.code });
  }
  return reply.status(nativeStatus(error)).send({
    error: {
      code: error.code,
      message: error.message,
      ...(error.field === undefined ? {} : { field: error.field }),
      requestId: request.id,
    },
  });
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
    sendError(request, reply, raw),
  );

  app.setNotFoundHandler((request, reply) => {
    const message = `No route for ${request.method} ${request.url.split('?')[0] ?? ''}`;
    if (isMlflowPath(request.url))
      return reply.status(404).send({ error_code: 'ENDPOINT_NOT_FOUND', message });
    if (isInferenceProtocolPath(request.url))
      return reply.status(404).send({ error: message, code: 'NOT_FOUND' });
    return reply.status(404).send({ error: { code: 'NOT_FOUND', message, requestId: request.id } });
  });
}
