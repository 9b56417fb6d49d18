import type { FastifyPluginAsync } from 'fastify';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { ArtifactService } from '../artifacts/index.js';
import { experimentRoutes } from './experiments.routes.js';
import { runArtifactRoutes } from './run-artifacts.routes.js';
import { runRoutes } from './runs.routes.js';
import type { ExperimentService } from './experiments.service.js';
import type { TrackingService } from './tracking.service.js';

export interface TrackingRoutesOptions {
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
}

/**
 * Native API /api/v1 — experiments, runs, metrics, artifacts. Routes are thin:
 * the schemas check shapes, the services check values and rules, and the
 * mappers in native-json.ts shape the answers.
 */
export const trackingRoutes: FastifyPluginAsync<TrackingRoutesOptions> = async (app, options) => {
  app.setValidatorCompiler(typeboxValidatorCompiler);
  // Only the services go down: the prefix in `options` is this plugin's own.
  const services = {
    experiments: options.experiments,
    tracking: options.tracking,
    artifacts: options.artifacts,
  };
  await app.register(experimentRoutes, services);
  await app.register(runRoutes, services);
  await app.register(runArtifactRoutes, services);
};
