import type { FastifyPluginAsync } from 'fastify';
import { CairnError, isCairnError } from '@cairn/contract';
import { sendError } from '../../http/error-handler.js';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import { modelCardRoutes } from './model-cards.routes.js';
import { modelVersionRoutes } from './model-versions.routes.js';
import { modelRoutes } from './models.routes.js';
import { nativeField } from './registry-native-json.js';
import type { RegistryRoutesOptions } from './registry-route-schemas.js';

export type { RegistryRoutesOptions } from './registry-route-schemas.js';

/**
 * Native API /api/v1 — registered models, versions, aliases and their
 * history, pinned files, model cards and provenance. Routes are thin: the
 * schemas check shapes, the registry services check values and rules, the
 * mappers in registry-native-json.ts shape the answers.
 */
export const registryRoutes: FastifyPluginAsync<RegistryRoutesOptions> = async (app, options) => {
  app.setValidatorCompiler(typeboxValidatorCompiler);
  // The services name fields as MLflow does (run_id); this API's requests say runId.
  app.setErrorHandler((error, request, reply) => sendError(request, reply, withNativeField(error)));
  const services: RegistryRoutesOptions = {
    models: options.models,
    versions: options.versions,
    cards: options.cards,
    artifacts: options.artifacts,
    lineage: options.lineage,
  };
  await app.register(modelRoutes, services);
  await app.register(modelVersionRoutes, services);
  await app.register(modelCardRoutes, services);
};

function withNativeField(error: unknown): unknown {
  if (!isCairnError(error) || error.field === undefined) return error;
  const field = nativeField(error.field);
  if (field === error.field) return error;
  const message = error.message.startsWith(`${error.field}:`)
    ? `${field}${error.message.slice(error.field.length)}`
    : error.message;
  return new CairnError(error.code, message, { field, cause: error, retryable: error.retryable });
}
