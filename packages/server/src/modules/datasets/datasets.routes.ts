import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  DatasetDiffJson,
  DatasetJson,
  DatasetVersionJson,
  ErrorResponse,
  GcResultJson,
  TableJson,
  UploadedFileJson,
  UploadJson,
} from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import type { DatasetDiffService } from './dataset-diff.service.js';
import type { DatasetReadService } from './dataset-reads.service.js';
import type { DatasetTransferService } from './dataset-transfer.service.js';
import type { DataGcService } from './data-gc.service.js';
import { datasetJson, fileJson, uploadedFileJson, versionJson } from './datasets-json.js';
import type { DatasetsService } from './datasets.service.js';
import type { TableProfilesService } from './table-profiles.service.js';
import type { UploadsService } from './uploads.service.js';

export interface DatasetRoutesOptions {
  datasets: DatasetsService;
  uploads: UploadsService;
  reads: DatasetReadService;
  transfer: DatasetTransferService;
  gc: DataGcService;
  profiles: TableProfilesService;
  diffs: DatasetDiffService;
}

const TAGS = ['datasets'];
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse };
const Binary = Type.Unsafe<unknown>({ type: 'string', format: 'binary' });
const Name = Type.Object({ name: Type.String() });
const NameRef = Type.Object({ name: Type.String(), ref: Type.String() });
const NameUpload = Type.Object({ name: Type.String(), uploadId: Type.String() });
const NameAlias = Type.Object({ name: Type.String(), alias: Type.String() });
const Paging = {
  max_results: Type.Optional(Type.String()),
  page_token: Type.Optional(Type.String()),
};
const AnyBody = Type.Object({}, { additionalProperties: true });
const DatasetAnswer = Type.Object({ dataset: DatasetJson });
const VersionAnswer = Type.Object({ version: DatasetVersionJson });
const TablesAnswer = Type.Object({ tables: Type.Array(TableJson) });
const VersionTablesAnswer = Type.Object({ version: DatasetVersionJson, tables: Type.Array(TableJson) });
const OCTETS = 'application/octet-stream';

/** /api/v1/datasets — datasets, versions, files, aliases, adds and chunk transfer. */
export const datasetRoutes: FastifyPluginAsync<DatasetRoutesOptions> = async (instance, options) => {
  const { datasets, uploads, reads, transfer, profiles, diffs, gc } = options;
  instance.setValidatorCompiler(typeboxValidatorCompiler);
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const doc = (summary: string, operationId: string) => ({ tags: TAGS, summary, operationId });

  app.post(
    '/datasets',
    {
      schema: {
        ...doc('Create a dataset', 'createDataset'),
        body: AnyBody,
        response: { 200: DatasetAnswer, ...errors },
      },
    },
    async (request) => {
      const b = request.body as Record<string, unknown>;
      return {
        dataset: datasetJson(
          await datasets.create({ name: b['name'], project: b['project'], description: b['description'] }),
        ),
      };
    },
  );

  app.get(
    '/datasets',
    {
      schema: {
        ...doc('List datasets', 'listDatasets'),
        querystring: Type.Object({
          project: Type.Optional(Type.String()),
          prefix: Type.Optional(Type.String()),
          ...Paging,
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const page = await datasets.list({
        project: q.project,
        prefix: q.prefix,
        maxResults: q.max_results,
        pageToken: q.page_token,
      });
      return { datasets: page.items.map(datasetJson), ...nextPage(page.nextPageToken) };
    },
  );

  app.get(
    '/datasets/:name',
    {
      schema: {
        ...doc('Get a dataset', 'getDataset'),
        params: Name,
        response: { 200: DatasetAnswer, ...errors },
      },
    },
    async (request) => ({ dataset: datasetJson(await datasets.get(request.params.name)) }),
  );

  app.patch(
    '/datasets/:name',
    {
      schema: {
        ...doc('Update a dataset', 'updateDataset'),
        params: Name,
        body: AnyBody,
        response: { 200: DatasetAnswer, ...errors },
      },
    },
    async (request) => ({
      dataset: datasetJson(
        await datasets.update({
          name: request.params.name,
          description: (request.body as Record<string, unknown>)['description'],
        }),
      ),
    }),
  );

  app.get(
    '/datasets/:name/versions',
    {
      schema: {
        ...doc('Versions of a dataset, newest first', 'listDatasetVersions'),
        params: Name,
        querystring: Type.Object(Paging),
      },
    },
    async (request) => {
      const page = await datasets.listVersions({
        name: request.params.name,
        maxResults: request.query.max_results,
        pageToken: request.query.page_token,
      });
      return { versions: page.items.map(versionJson), ...nextPage(page.nextPageToken) };
    },
  );

  app.get(
    '/datasets/:name/versions/:ref',
    {
      schema: {
        ...doc('One version (number, alias or latest) with its tables', 'getDatasetVersion'),
        params: NameRef,
        response: { 200: VersionTablesAnswer, ...errors },
      },
    },
    async (request) => {
      const view = await datasets.getVersion({ name: request.params.name, ref: request.params.ref });
      return { version: versionJson(view), tables: await profiles.tablesOf(view.version) };
    },
  );

  app.get(
    '/datasets/:name/versions/:ref/tables',
    {
      schema: {
        ...doc("A version's tables with their profiles (or the one at path)", 'listDatasetTables'),
        params: NameRef,
        querystring: Type.Object({ path: Type.Optional(Type.String()) }),
        response: { 200: TablesAnswer, ...errors },
      },
    },
    async (request) => ({
      tables: await profiles.versionTables({
        name: request.params.name,
        ref: request.params.ref,
        path: request.query.path,
      }),
    }),
  );

  app.get(
    '/datasets/:name/diff',
    {
      schema: {
        ...doc(
          'What changed between two versions: files, and rows and statistics of tables',
          'diffDatasetVersions',
        ),
        params: Name,
        querystring: Type.Object({
          from: Type.Optional(Type.String()),
          to: Type.Optional(Type.String()),
          key: Type.Optional(Type.String()),
        }),
        response: { 200: DatasetDiffJson, ...errors },
      },
    },
    async (request) =>
      diffs.diff({
        name: request.params.name,
        from: request.query.from,
        to: request.query.to,
        key: request.query.key,
      }),
  );

  app.get(
    '/datasets/:name/versions/:ref/files',
    {
      schema: {
        ...doc('Files of a version in path order', 'listDatasetFiles'),
        params: NameRef,
        querystring: Type.Object({
          prefix: Type.Optional(Type.String()),
          chunks: Type.Optional(Type.String()),
          ...Paging,
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const page = await datasets.listFiles({
        name: request.params.name,
        ref: request.params.ref,
        prefix: q.prefix,
        maxResults: q.max_results,
        pageToken: q.page_token,
        withChunks: q.chunks === 'true' || q.chunks === '1',
      });
      return { files: page.items.map(fileJson), ...nextPage(page.nextPageToken) };
    },
  );

  app.get(
    '/datasets/:name/versions/:ref/content',
    {
      schema: {
        ...doc("A file's bytes, verified while streamed", 'getDatasetFileContent'),
        params: NameRef,
        querystring: Type.Object({ path: Type.String() }),
        response: { 200: { content: { [OCTETS]: { schema: Binary } } }, ...errors },
      },
    },
    async (request, reply) => {
      const { file, body } = await reads.openContent({
        name: request.params.name,
        ref: request.params.ref,
        path: request.query.path,
      });
      reply
        .header('content-type', OCTETS)
        .header('content-length', file.sizeBytes)
        .header('x-cairn-digest', file.digest);
      return reply.send(Readable.from(body));
    },
  );

  app.put(
    '/datasets/:name/aliases/:alias',
    {
      schema: {
        ...doc('Point an alias at a version', 'setDatasetAlias'),
        params: NameAlias,
        body: AnyBody,
        response: { 200: DatasetAnswer, ...errors },
      },
    },
    async (request) => ({
      dataset: datasetJson(
        await datasets.setAlias({
          name: request.params.name,
          alias: request.params.alias,
          version: (request.body as Record<string, unknown>)['version'],
        }),
      ),
    }),
  );

  app.delete(
    '/datasets/:name/aliases/:alias',
    {
      schema: {
        ...doc('Remove an alias', 'deleteDatasetAlias'),
        params: NameAlias,
        response: { 200: DatasetAnswer, ...errors },
      },
    },
    async (request) => ({
      dataset: datasetJson(
        await datasets.deleteAlias({ name: request.params.name, alias: request.params.alias }),
      ),
    }),
  );

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

  app.post(
    '/datasets/gc',
    {
      schema: {
        ...doc('Remove chunks and packs no version needs (Cairn admin)', 'collectDatasetGarbage'),
        body: Type.Optional(Type.Object({ graceSeconds: Type.Optional(Type.Number({ minimum: 0 })) })),
        response: { 200: GcResultJson, ...errors },
      },
    },
    async (request) => gc.collect({ graceSeconds: request.body?.graceSeconds }),
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

function nextPage(token: string | undefined): { next_page_token?: string } {
  return token === undefined ? {} : { next_page_token: token };
}

function sendFrames(reply: FastifyReply, frames: AsyncIterable<Uint8Array>): FastifyReply {
  reply.header('content-type', OCTETS);
  return reply.send(Readable.from(frames));
}
