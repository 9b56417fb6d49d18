import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { UploadedFileJson, UploadJson } from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { DatasetReadService } from './dataset-reads.service.js';
import {
  AnyBody,
  Binary,
  errors,
  Name,
  NameUpload,
  OCTETS,
  TAGS,
  VersionAnswer,
} from './dataset-route-schemas.js';
import type { DatasetTransferService } from './dataset-transfer.service.js';
import { uploadedFileJson, versionJson } from './datasets-json.js';
import type { UploadsService } from './uploads.service.js';

export interface DatasetTransferRoutesOptions {
  uploads: UploadsService;
  reads: DatasetReadService;
  transfer: DatasetTransferService;
}

/** /api/v1/datasets — adds (upload sessions) and chunks moved by digest (checkout, push, pull). */
export const datasetTransferRoutes: FastifyPluginAsync<DatasetTransferRoutesOptions> = async (
  instance,
  options,
) => {
  const { uploads, reads, transfer } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const doc = (summary: string, operationId: string) => ({ tags: TAGS, summary, operationId });

  // ── adds ──
  app.post(
    '/datasets/:name/uploads',
    {
      schema: {
        ...doc('Start an add', 'startDatasetUpload'),
        params: Name,
        body: Type.Optional(AnyBody),
        response: { 200: UploadJson, ...errors },
      },
    },
    async (request) => {
      const b = (request.body ?? {}) as Record<string, unknown>;
      const { upload, dataset } = await uploads.begin({ name: request.params.name, parent: b['parent'] });
      return { uploadId: upload.uploadId, dataset: dataset.name, parent: upload.parentVersion };
    },
  );

  app.post(
    '/datasets/:name/uploads/:uploadId/reuse',
    {
      schema: {
        ...doc('Stage files the server already holds, by digest', 'reuseDatasetFiles'),
        params: NameUpload,
        body: AnyBody,
      },
    },
    async (request) => {
      const result = await uploads.reuse({
        name: request.params.name,
        uploadId: request.params.uploadId,
        files: (request.body as Record<string, unknown>)['files'],
      });
      return { staged: result.staged.map(uploadedFileJson), missing: result.missing };
    },
  );

  app.post(
    '/datasets/:name/uploads/:uploadId/commit',
    {
      schema: {
        ...doc('Commit an add as a new version', 'commitDatasetUpload'),
        params: NameUpload,
        body: AnyBody,
        response: { 200: VersionAnswer, ...errors },
      },
    },
    async (request) => {
      const b = request.body as Record<string, unknown>;
      const committed = await uploads.commit({
        name: request.params.name,
        uploadId: request.params.uploadId,
        message: b['message'],
        aliases: b['aliases'],
      });
      return { version: versionJson(committed) };
    },
  );

  app.delete(
    '/datasets/:name/uploads/:uploadId',
    { schema: { ...doc('Abort an add', 'abortDatasetUpload'), params: NameUpload } },
    async (request) => {
      await uploads.abort({ name: request.params.name, uploadId: request.params.uploadId });
      return {};
    },
  );

  // ── chunks by digest ──
  app.post(
    '/datasets/:name/chunks/read',
    {
      schema: {
        ...doc('Decoded, verified chunks as frames', 'readDatasetChunks'),
        params: Name,
        body: AnyBody,
      },
    },
    async (request, reply) =>
      sendFrames(
        reply,
        await reads.readChunks({
          name: request.params.name,
          digests: (request.body as Record<string, unknown>)['digests'],
        }),
      ),
  );

  app.post(
    '/datasets/:name/chunks/export',
    {
      schema: {
        ...doc('Chunks as stored, as frames (push/pull)', 'exportDatasetChunks'),
        params: Name,
        body: AnyBody,
      },
    },
    async (request, reply) =>
      sendFrames(
        reply,
        await reads.exportChunks({
          name: request.params.name,
          digests: (request.body as Record<string, unknown>)['digests'],
        }),
      ),
  );

  app.post(
    '/datasets/:name/chunks/missing',
    {
      schema: {
        ...doc('Which chunks this server lacks', 'missingDatasetChunks'),
        params: Name,
        body: AnyBody,
      },
    },
    async (request) => ({
      missing: await transfer.missingChunks({
        name: request.params.name,
        digests: (request.body as Record<string, unknown>)['digests'],
      }),
    }),
  );

  app.post(
    '/datasets/objects/missing',
    { schema: { ...doc('Which file objects this server lacks', 'missingDatasetObjects'), body: AnyBody } },
    async (request) => ({
      missing: await transfer.missingObjects({
        digests: (request.body as Record<string, unknown>)['digests'],
      }),
    }),
  );

  app.post(
    '/datasets/:name/versions/import',
    {
      schema: {
        ...doc('Recreate a version whose chunks are here (push/pull)', 'importDatasetVersion'),
        params: Name,
        body: AnyBody,
        response: { 200: VersionAnswer, ...errors },
      },
    },
    async (request) => {
      const b = request.body as Record<string, unknown>;
      const { dataset, version } = await transfer.importVersion({
        name: request.params.name,
        message: b['message'],
        author: b['author'],
        createdAt: b['createdAt'],
        parentDigest: b['parentDigest'],
        files: b['files'],
      });
      return { version: versionJson({ dataset, version, aliases: [] }) };
    },
  );

  // Raw bodies: this child plugin alone keeps them as streams.
  await app.register(async (child) => {
    const raw = child.withTypeProvider<TypeBoxTypeProvider>();
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    raw.put(
      '/datasets/:name/uploads/:uploadId/files',
      {
        schema: {
          ...doc('Stream one file of an add', 'putDatasetFile'),
          params: NameUpload,
          querystring: Type.Object({ path: Type.String(), mode: Type.Optional(Type.String()) }),
          body: { content: { [OCTETS]: { schema: Binary } } },
          response: { 200: UploadedFileJson, ...errors },
        },
      },
      async (request) => {
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        return uploadedFileJson(
          await uploads.putFile({
            name: request.params.name,
            uploadId: request.params.uploadId,
            path: request.query.path,
            mode: request.query.mode,
            body,
          }),
        );
      },
    );
    raw.post(
      '/datasets/:name/chunks/import',
      {
        schema: {
          ...doc('Take in chunks as frames (push/pull)', 'importDatasetChunks'),
          params: Name,
          body: { content: { [OCTETS]: { schema: Binary } } },
        },
      },
      async (request) => {
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        return transfer.importChunks({ name: request.params.name, body });
      },
    );
  });
};

function sendFrames(reply: FastifyReply, frames: AsyncIterable<Uint8Array>): FastifyReply {
  reply.header('content-type', OCTETS);
  return reply.send(Readable.from(frames));
}
