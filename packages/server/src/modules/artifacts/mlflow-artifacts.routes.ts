import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CairnError, isCairnError } from '@cairn/contract';
import { Readable } from 'node:stream';
import type { ArtifactService } from './artifacts.service.js';
import { baseName } from './artifact-path.js';
import { contentTypeFor, readAll, VERIFY_BEFORE_SEND_BYTES } from './artifact-download.js';

export interface MlflowArtifactsRoutesOptions {
  artifacts: ArtifactService;
}

/** Sends a stored file; small files are verified whole first, large ones fail mid-stream if corrupted. */
export async function sendArtifact(
  reply: FastifyReply,
  artifacts: ArtifactService,
  path: unknown,
): Promise<FastifyReply> {
  const { file, stream } = await artifacts.download(path);
  reply
    .header('content-type', contentTypeFor(file.path))
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', `attachment; filename="${encodeURIComponent(baseName(file.path))}"`)
    .header('etag', `"${file.digest}"`);
  if (file.sizeBytes <= VERIFY_BEFORE_SEND_BYTES) return reply.send(await readAll(stream));
  return reply.header('content-length', String(file.sizeBytes)).send(stream);
}

/**
 * MLflow's artifact proxy (`mlflow server --serve-artifacts`): clients resolve
 * `mlflow-artifacts:/<path>` to these routes. Bytes stream into the blob store.
 */
export const mlflowArtifactsRoutes: FastifyPluginAsync<MlflowArtifactsRoutesOptions> = async (
  app,
  options,
) => {
  const { artifacts } = options;
  // Uploads are raw bytes of any type; keep the stream, never buffer it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.put('/artifacts/*', async (request) => {
    const path = (request.params as { '*': string })['*'];
    // An empty file arrives with no body at all; it is still a file.
    await artifacts.upload(path, (request.body as Readable | undefined) ?? Readable.from([]));
    return {};
  });

  app.get('/artifacts/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    if (path === '') return listing(request.query);
    return sendArtifact(reply, artifacts, path);
  });

  const listing = async (q: unknown): Promise<Record<string, unknown>> => {
    const path = (q as Record<string, unknown> | undefined)?.['path'];
    if (path !== undefined && typeof path !== 'string') {
      throw new CairnError('INVALID_ARGUMENT', 'path must be given at most once', { field: 'path' });
    }
    const entries = await artifacts.list({ root: path ?? '', path: '' });
    return {
      files: entries.map((e) =>
        e.isDir ? { path: e.path, is_dir: true } : { path: e.path, is_dir: false, file_size: e.sizeBytes },
      ),
    };
  };
  app.get('/artifacts', async (request) => listing(request.query));

  // MLflow's proxy treats deleting what is not there as done.
  app.delete('/artifacts/*', async (request) => {
    const path = (request.params as { '*': string })['*'];
    try {
      await artifacts.delete(path);
    } catch (error) {
      if (!isCairnError(error) || error.code !== 'NOT_FOUND') throw error;
    }
    return {};
  });

  // Cairn streams any size through a plain PUT. MLflow clients that try
  // multipart first fall back to PUT on exactly this answer.
  for (const step of ['create', 'complete', 'abort']) {
    app.post(`/mpu/${step}/*`, async (_request, reply) =>
      reply.status(501).send({
        error_code: 'NOT_IMPLEMENTED',
        message: 'Multipart upload is not supported for the current artifact repository',
      }),
    );
  }
};
