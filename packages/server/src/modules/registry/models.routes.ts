import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CreateRegisteredModelRequest,
  LabelHistory,
  LabelHistoryQuery,
  ListRegisteredModelsQuery,
  ModelVersion,
  RegisteredModel,
  RegisteredModelList,
  ResolveModelQuery,
  SetAliasRequest,
  SetValueRequest,
  UpdateRegisteredModelRequest,
  normalizeModelReference,
} from '@cairn/contract';
import type { RegisteredModelRecord } from './entities.js';
import type { RegisteredModelService } from './registered-models.service.js';
import { nativeHistoryEntry, nativeModel, nativeVersion } from './registry-native-json.js';
import {
  AliasParams,
  errors,
  ModelParams,
  MODELS,
  ModelTagParams,
  NoContent,
  type RegistryRoutesOptions,
} from './registry-route-schemas.js';

const keyValues = (tags: Record<string, string> | undefined): Array<{ key: string; value: string }> =>
  Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));

/** The highest version number of a model that exists now (the counter may be past a deleted one). */
async function latestVersionOf(models: RegisteredModelService, model: RegisteredModelRecord) {
  const latest = await models.latestVersions(model.name);
  return latest.length === 0 ? null : Math.max(...latest.map((v) => v.version));
}

/** /api/v1/models — registered models, their tags, aliases and label history; resolving references. */
export const modelRoutes: FastifyPluginAsync<RegistryRoutesOptions> = async (instance, options) => {
  const { models, versions } = options;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const withLatest = async (model: RegisteredModelRecord) =>
    nativeModel(model, await latestVersionOf(models, model));

  app.post(
    '/models',
    {
      schema: {
        tags: MODELS,
        summary: 'Create a registered model',
        operationId: 'createRegisteredModel',
        body: CreateRegisteredModelRequest,
        response: { 201: RegisteredModel, ...errors },
      },
    },
    async (request, reply) => {
      const { name, description, tags, project } = request.body;
      const model = await models.createModel({ name, description, tags: keyValues(tags), project });
      return reply.status(201).send(nativeModel(model, null));
    },
  );

  app.get(
    '/models',
    {
      schema: {
        tags: MODELS,
        summary: 'List or search registered models',
        description: 'Filters on `name`, `tags.<key>` and the timestamps; ordered by name when not told.',
        operationId: 'listRegisteredModels',
        querystring: ListRegisteredModelsQuery,
        response: { 200: RegisteredModelList, ...errors },
      },
    },
    async (request) => {
      const page = await models.searchModels(request.query);
      const latest = await models.latestVersionsOfModels(page.items);
      const items = page.items.map((model) => {
        const versions = latest.get(model.modelId) ?? [];
        return nativeModel(model, versions.length === 0 ? null : Math.max(...versions.map((v) => v.version)));
      });
      return {
        models: items,
        ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
      };
    },
  );

  app.get(
    '/models/:name',
    {
      schema: {
        tags: MODELS,
        summary: 'Get a registered model',
        operationId: 'getRegisteredModel',
        params: ModelParams,
        response: { 200: RegisteredModel, ...errors },
      },
    },
    async (request) => withLatest(await models.getModel(request.params.name)),
  );

  app.patch(
    '/models/:name',
    {
      schema: {
        tags: MODELS,
        summary: 'Rename a registered model and/or change its description',
        description:
          'The rename happens first; the description is checked by the schema, so it cannot fail after.',
        operationId: 'updateRegisteredModel',
        params: ModelParams,
        body: UpdateRegisteredModelRequest,
        response: { 200: RegisteredModel, ...errors },
      },
    },
    async (request) => {
      const { name: newName, description } = request.body;
      let model = await models.getModel(request.params.name);
      if (newName !== undefined) model = await models.renameModel(model.name, newName);
      if (description !== undefined) model = await models.updateModel(model.name, { description });
      return withLatest(model);
    },
  );

  app.delete(
    '/models/:name',
    {
      schema: {
        tags: MODELS,
        summary: 'Delete a registered model with all its versions',
        description: 'Alias and stage history is kept.',
        operationId: 'deleteRegisteredModel',
        params: ModelParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await models.deleteModel(request.params.name);
      return reply.status(204).send(null);
    },
  );

  app.put(
    '/models/:name/tags/:key',
    {
      schema: {
        tags: MODELS,
        summary: 'Set a registered model tag',
        operationId: 'setRegisteredModelTag',
        params: ModelTagParams,
        body: SetValueRequest,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await models.setModelTag(request.params.name, request.params.key, request.body.value);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/models/:name/tags/:key',
    {
      schema: {
        tags: MODELS,
        summary: 'Delete a registered model tag',
        operationId: 'deleteRegisteredModelTag',
        params: ModelTagParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await models.deleteModelTag(request.params.name, request.params.key);
      return reply.status(204).send(null);
    },
  );

  // ── aliases ──
  app.put(
    '/models/:name/aliases/:alias',
    {
      schema: {
        tags: MODELS,
        summary: 'Point an alias at a version (moving it if it pointed elsewhere)',
        description:
          'Aliases start with a letter or `_` and hold letters, digits, `_` and `-`; never a number, ' +
          '`v3` or `latest`. Every move is kept in the label history.',
        operationId: 'setModelAlias',
        params: AliasParams,
        body: SetAliasRequest,
        response: { 200: ModelVersion, ...errors },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      return nativeVersion(await models.setAlias({ name, alias, version: request.body.version }));
    },
  );

  app.get(
    '/models/:name/aliases/:alias',
    {
      schema: {
        tags: MODELS,
        summary: 'The version an alias points at',
        operationId: 'getModelVersionByAlias',
        params: AliasParams,
        response: { 200: ModelVersion, ...errors },
      },
    },
    async (request) => nativeVersion(await versions.getByAlias(request.params.name, request.params.alias)),
  );

  app.delete(
    '/models/:name/aliases/:alias',
    {
      schema: {
        tags: MODELS,
        summary: 'Remove an alias (its history is kept)',
        operationId: 'deleteModelAlias',
        params: AliasParams,
        response: { 204: NoContent, ...errors },
      },
    },
    async (request, reply) => {
      await models.deleteAlias({ name: request.params.name, alias: request.params.alias });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/models/:name/history',
    {
      schema: {
        tags: MODELS,
        summary: 'Which version each alias and stage pointed at, from when to when',
        description:
          'Intervals, newest first. `at` keeps those covering one moment: ' +
          '`?kind=alias&label=champion&at=2026-03-03` answers “which version was champion on 3 March”.',
        operationId: 'getModelLabelHistory',
        params: ModelParams,
        querystring: LabelHistoryQuery,
        response: { 200: LabelHistory, ...errors },
      },
    },
    async (request) => {
      const { kind, label, at, maxResults } = request.query;
      const entries = await models.labelHistory({
        name: request.params.name,
        kind,
        label,
        at,
        limit: maxResults,
      });
      return { entries: entries.map(nativeHistoryEntry) };
    },
  );

  app.get(
    '/model-versions/resolve',
    {
      schema: {
        tags: MODELS,
        summary: 'Resolve `name@alias`, `name/3`, `name/Production` or `name` to a version',
        description: '`name@3` is read as version 3 (an alias never looks like a number).',
        operationId: 'resolveModelVersion',
        querystring: ResolveModelQuery,
        response: { 200: ModelVersion, ...errors },
      },
    },
    async (request) => nativeVersion(await versions.resolve(normalizeModelReference(request.query.ref))),
  );
};
