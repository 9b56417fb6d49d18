import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ArtifactListing, ArtifactListQuery, ArtifactUploadResult, CairnError } from '@cairn/contract';
import {
  joinArtifactPath,
  normalizeArtifactPath,
  sendArtifact,
  type ArtifactService,
} from '../artifacts/index.js';
import { nativeArtifactEntry } from './native-json.js';

import { ARTIFACTS, ArtifactParams, Binary, errors, RunParams } from './native-route-schemas.js';
import type { ExperimentService } from './experiments.service.js';
import type { TrackingService } from './tracking.service.js';

export interface NativeRoutesOptions {
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
}

/** /api/v1/runs/{runId}/artifacts — list, download and (streamed) upload. */
export const runArtifactRoutes: FastifyPluginAsync<NativeRoutesOptions> = async (instance, options) => {
  const { tracking, artifacts } = options;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  // ── artifacts of a run ──
  app.get(
    '/runs/:runId/artifacts',
    {
      schema: {
        tags: ARTIFACTS,
        summary: 'List one folder of a run’s artifacts',
        operationId: 'listArtifacts',
        params: RunParams,
        querystring: ArtifactListQuery,
        response: { 200: ArtifactListing, ...errors },
      },
    },
    async (request) => {
      const info = await tracking.getRunInfo(request.params.runId, {
        permission: 'read',
        action: 'artifacts.list',
      });
      const entries = await artifacts.list({ root: tracking.artifactRootOf(info), path: request.query.path });
      return { rootUri: info.artifactUri, files: entries.map(nativeArtifactEntry) };
    },
  );

  app.get(
    '/runs/:runId/artifacts/*',
    {
      schema: {
        tags: ARTIFACTS,
        summary: 'Download one artifact file',
        operationId: 'downloadArtifact',
        params: ArtifactParams,
        response: { 200: { content: { 'application/octet-stream': { schema: Binary } } }, ...errors },
      },
    },
    async (request, reply) => {
      const info = await tracking.getRunInfo(request.params.runId, {
        permission: 'read',
        action: 'artifacts.download',
      });
      const path = artifactFilePath(request.params['*']);
      return sendArtifact(reply, artifacts, joinArtifactPath(tracking.artifactRootOf(info), path));
    },
  );

  // Uploads are raw bytes of any type: this child plugin alone keeps the body as a stream.
  await app.register(async (child) => {
    const uploads = child.withTypeProvider<TypeBoxTypeProvider>();
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    uploads.put(
      '/runs/:runId/artifacts/*',
      {
        schema: {
          tags: ARTIFACTS,
          summary: 'Upload one artifact file (raw bytes, streamed)',
          description:
            'Any content type; the body is stored as is. An existing file at the path is replaced.',
          operationId: 'uploadArtifact',
          params: ArtifactParams,
          body: { content: { 'application/octet-stream': { schema: Binary } } },
          response: { 201: ArtifactUploadResult, ...errors },
        },
      },
      async (request, reply) => {
        const { info } = await tracking.writableRun(request.params.runId, 'artifacts.upload');
        const root = tracking.artifactRootOf(info);
        const path = artifactFilePath(request.params['*']);
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        const file = await artifacts.upload(joinArtifactPath(root, path), body);
        return reply.status(201).send({ path, sizeBytes: file.sizeBytes, digest: file.digest });
      },
    );
  });
};

/** The path of a file below a run's root: normalised first, so it can never climb out of the root. */
function artifactFilePath(raw: string): string {
  const path = normalizeArtifactPath(raw);
  if (path === '') {
    throw new CairnError(
      'INVALID_ARGUMENT',
      'The artifact path must name a file; list folders with GET /api/v1/runs/{runId}/artifacts?path=…',
      { field: 'path' },
    );
  }
  return path;
}
