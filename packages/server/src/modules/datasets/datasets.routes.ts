import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DatasetDiffJson, GcResultJson } from '@cairn/contract';
import { typeboxValidatorCompiler } from '../../http/typebox-validator.js';
import {
  AnyBody,
  Binary,
  DatasetAnswer,
  errors,
  Name,
  NameAlias,
  NameRef,
  OCTETS,
  Paging,
  TablesAnswer,
  TAGS,
  VersionTablesAnswer,
} from './dataset-route-schemas.js';
import { datasetTransferRoutes } from './dataset-transfer.routes.js';
import type { DatasetDiffService } from './dataset-diff.service.js';
import type { DatasetReadService } from './dataset-reads.service.js';
import type { DatasetTransferService } from './dataset-transfer.service.js';
import type { DataGcService } from './data-gc.service.js';
import { datasetJson, fileJson, versionJson } from './datasets-json.js';
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

  await app.register(datasetTransferRoutes, { uploads, reads, transfer });
};

function nextPage(token: string | undefined): { next_page_token?: string } {
  return token === undefined ? {} : { next_page_token: token };
}
