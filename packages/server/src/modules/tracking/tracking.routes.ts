import type { FastifyPluginAsync } from 'fastify';
import type { ArtifactService } from '../artifacts/index.js';
import type { TrackingService } from './tracking.service.js';

export interface TrackingRoutesOptions {
  tracking: TrackingService;
  artifacts: ArtifactService;
}

/** Native API /api/v1 — experiments, runs, metrics, artifacts. */
export const trackingRoutes: FastifyPluginAsync<TrackingRoutesOptions> = async () => {};
