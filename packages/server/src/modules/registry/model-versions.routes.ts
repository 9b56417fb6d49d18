import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CairnError,
  CreateModelVersionRequest,
  ListModelVersionsQuery,
  ModelUploadResult,
  ModelVersion,
  ModelVersionList,
  PinnedFileList,
  SetValueRequest,
  TransitionStageRequest,
  UpdateModelVersionRequest,
} from '@cairn/contract';
import { joinArtifactPath, normalizeArtifactPath, sendArtifact } from '../artifacts/index.js';
import { pinnedArtifactPath } from './entities.js';
import { nativePinnedFile, nativeVersion } from './registry-native-json.js';
import {
  Binary,
  errors,
  MODEL_VERSIONS,
  ModelParams,
  NoContent,
  UploadParams,
  VersionFileParams,
  VersionParams,
  VersionTagParams,
  type RegistryRoutesOptions,
} from './registry-route-schemas.js';

/** Where uploaded folders wait to be registered: a plain artifact folder, one per upload id. */
const UPLOAD_ROOT = '_uploads';

/** `name = '…'` in the filter grammar: a quote inside the name is doubled. */
const nameFilter = (name: string): string => `name = '${name.replaceAll("'", "''")}'`;

/** /api/v1/models/{name}/versions — registration, reads, stages, tags, pinned files; folder uploads. */
export const modelVersionRoutes: FastifyPluginAsync<RegistryRoutesOptions> = async (instance, options) => {
  const { models, versions, artifacts } = options;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/models/:name/versions',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Register a new version from a run, an uploaded folder or another version',
        description:
          'The files are pinned (copied by digest) and inspected: ONNX and MLmodel folders get a ' +
          'signature. A `runId` (given, or taken from a `runs:/` source) records the lineage edge ' +
          'run → model version. To register local files, upload them first with ' +
          '`PUT /api/v1/model-uploads/{uploadId}/{path}` and pass the `source` it returns.',
        operationId: 'createModelVersion',
        params: ModelParams,
        body: CreateModelVersionRequest,
        response: { 201: ModelVersion, ...errors },
      },
    },
    async (request, reply) => {
      const { source, runId, format, description, tags } = request.body;
      const version = await versions.createVersion({
        name: request.params.name,
        source,
        runId,
        format,
        description,
        tags: Object.entries(tags ?? {}).map(([key, value]) => ({ key, value })),
      });
      return reply.status(201).send(nativeVersion(version));
    },
  );

  app.get(
    '/models/:name/versions',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'List the versions of a model, newest first',
        description:
          "`filter` narrows further, e.g. `tags.validated = 'true'` or `current_stage = 'Production'`.",
        operationId: 'listModelVersions',
        params: ModelParams,
        querystring: ListModelVersionsQuery,
        response: { 200: ModelVersionList, ...errors },
      },
    },
    async (request) => {
      const model = await models.getModel(request.params.name);
      const { filter, ...rest } = request.query;
      const scoped =
        filter === undefined || filter.trim() === ''
          ? nameFilter(model.name)
          : `${nameFilter(model.name)} AND (${filter})`;
      const page = await versions.searchVersions({ ...rest, filter: scoped });
      return {
        versions: page.items.map(nativeVersion),
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    },
  );

  app.get(
    '/models/:name/versions/:version',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Get a model version, with its signature',
        operationId: 'getModelVersion',
        params: VersionParams,
        response: { 200: ModelVersion, ...errors },
      },
    },
    async (request) => nativeVersion(await versions.getVersion(request.params.name, request.params.version)),
  );

  app.patch(
    '/models/:name/versions/:version',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Change the description of a model version',
        operationId: 'updateModelVersion',
        params: VersionParams,
        body: UpdateModelVersionRequest,
        response: { 200: ModelVersion, ...errors },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      return nativeVersion(await versions.updateVersion(name, version, request.body));
    },
  );

  app.delete(
    '/models/:name/versions/:version',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Delete a model version (aliases pointing at it go with it)',
        operationId: 'deleteModelVersion',
        params: VersionParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await versions.deleteVersion(request.params.name, request.params.version);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/models/:name/versions/:version/tags/:key',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Set a model version tag',
        operationId: 'setModelVersionTag',
        params: VersionTagParams,
        body: SetValueRequest,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await versions.setVersionTag({ ...request.params, value: request.body.value });
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/models/:name/versions/:version/tags/:key',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Delete a model version tag',
        operationId: 'deleteModelVersionTag',
        params: VersionTagParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await versions.deleteVersionTag(request.params);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/models/:name/versions/:version/stage',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Move a version to an MLflow stage (kept for older clients; prefer aliases)',
        operationId: 'transitionModelVersionStage',
        params: VersionParams,
        body: TransitionStageRequest,
        response: { 200: ModelVersion, ...errors },
      },
    },
    async (request) => {
      const { stage, archiveExisting } = request.body;
      const moved = await versions.transitionStage({
        ...request.params,
        stage,
        archiveExistingVersions: archiveExisting,
      });
      return nativeVersion(moved);
    },
  );

  // ── pinned files ──
  app.get(
    '/models/:name/versions/:version/files',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'The pinned files of a version, with their digests',
        operationId: 'listModelVersionFiles',
        params: VersionParams,
        response: { 200: PinnedFileList, ...errors },
      },
    },
    async (request) => {
      const record = await versions.getVersion(request.params.name, request.params.version);
      const files = await versions.listFiles(record.name, record.version);
      return {
        name: record.name,
        version: record.version,
        digest: record.digest,
        files: files.map(nativePinnedFile),
      };
    },
  );

  app.get(
    '/models/:name/versions/:version/files/*',
    {
      schema: {
        tags: MODEL_VERSIONS,
        summary: 'Download one pinned file, verified against its digest',
        description: 'The `etag` header carries the file digest.',
        operationId: 'downloadModelVersionFile',
        params: VersionFileParams,
        response: { 200: { content: { 'application/octet-stream': { schema: Binary } } }, ...errors },
      },
    },
    async (request, reply) => {
      const record = await versions.getVersion(request.params.name, request.params.version);
      const path = filePath(request.params['*'], 'GET /api/v1/models/{name}/versions/{version}/files');
      // The pinned tree is mounted read-only in the artifact service: same verified download path.
      return sendArtifact(reply, artifacts, joinArtifactPath(pinnedArtifactPath(record.versionId), path));
    },
  );

  // Uploads are raw bytes of any type: this child plugin alone keeps the body as a stream.
  await app.register(async (child) => {
    const uploads = child.withTypeProvider<TypeBoxTypeProvider>();
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    uploads.put(
      '/model-uploads/:uploadId/*',
      {
        schema: {
          tags: MODEL_VERSIONS,
          summary: 'Upload one file of a local model folder (raw bytes, streamed)',
          description:
            'Choose a UUID per folder, PUT each file at its relative path, then register with ' +
            '`POST /api/v1/models/{name}/versions` and the returned `source`. Uploaded files are ' +
            'content-addressed; registering pins them, so later uploads never change a version.',
          operationId: 'uploadModelFile',
          params: UploadParams,
          body: { content: { 'application/octet-stream': { schema: Binary } } },
          response: { 201: ModelUploadResult, ...errors },
        },
      },
      async (request, reply) => {
        const { uploadId } = request.params;
        const path = filePath(request.params['*'], 'a file path after the upload id');
        const folder = `${UPLOAD_ROOT}/${uploadId}`;
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        const file = await artifacts.upload(joinArtifactPath(folder, path), body);
        return reply.status(201).send({
          uploadId,
          path,
          sizeBytes: file.sizeBytes,
          digest: file.digest,
          source: `mlflow-artifacts:/${folder}`,
        });
      },
    );
  });
};

/** A file path below a root: normalised first, so it can never climb out of it. */
function filePath(raw: string, expected: string): string {
  const path = normalizeArtifactPath(raw);
  if (path === '') {
    throw new CairnError('INVALID_ARGUMENT', `The path must name a file (${expected}).`, { field: 'path' });
  }
  return path;
}
