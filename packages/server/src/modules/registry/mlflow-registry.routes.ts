import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { mlflowBody, mlflowQuery, type MlflowFields } from '../../http/mlflow-request.js';
import { CairnError, isCairnError } from '@cairn/contract';
import type { RegisteredModelRecord } from './entities.js';
import { mlflowModelVersion, mlflowRegisteredModel } from './mlflow-registry-json.js';
import type { ModelVersionService } from './model-versions.service.js';
import type { RegisteredModelService } from './registered-models.service.js';

export interface MlflowRegistryRoutesOptions {
  models: RegisteredModelService;
  versions: ModelVersionService;
}

type Fields = MlflowFields;
const body = mlflowBody;
const query = mlflowQuery;

/**
 * MLflow's SQL store treats deleting a tag or alias that is not there as
 * done (the model or version must exist); scripts rely on it to clear a label
 * before setting it. Only the NOT_FOUND naming that field is swallowed.
 */
async function idempotentDelete(work: Promise<void>, field: 'key' | 'alias'): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (isCairnError(error) && error.code === 'NOT_FOUND' && error.field === field) return;
    throw error;
  }
}

/**
 * MLflow REST API 2.0 — model registry (`registered-models/*`,
 * `model-versions/*`). Methods, field names and response shapes follow
 * model_registry.proto so `mlflow.register_model`, `MlflowClient` and
 * `models:/` URIs work unchanged; the services check every value and the
 * error handler turns failures into MLflow's `{error_code, message}`.
 */
export const mlflowRegistryRoutes: FastifyPluginAsync<MlflowRegistryRoutesOptions> = async (app, options) => {
  const { models, versions } = options;

  /** One small indexed read per model (a page holds at most `max_results`). */
  const registeredModel = async (model: RegisteredModelRecord): Promise<Fields> =>
    mlflowRegisteredModel(model, await models.latestVersions(model.name));

  // registered models
  app.post('/registered-models/create', async (request) => {
    const b = body(request);
    const model = await models.createModel({
      name: b['name'],
      description: b['description'],
      tags: b['tags'],
    });
    return { registered_model: mlflowRegisteredModel(model, []) };
  });
  app.get('/registered-models/get', async (request) => ({
    registered_model: await registeredModel(await models.getModel(query(request)['name'])),
  }));
  app.post('/registered-models/rename', async (request) => {
    const b = body(request);
    return { registered_model: await registeredModel(await models.renameModel(b['name'], b['new_name'])) };
  });
  app.patch('/registered-models/update', async (request) => {
    const b = body(request);
    const model = await models.updateModel(b['name'], { description: b['description'] });
    return { registered_model: await registeredModel(model) };
  });
  app.delete('/registered-models/delete', async (request) => {
    await models.deleteModel(body(request)['name']);
    return {};
  });
  app.get('/registered-models/search', async (request) => {
    const q = query(request);
    const page = await models.searchModels({
      filter: q['filter'],
      orderBy: q['order_by'],
      maxResults: q['max_results'],
      pageToken: q['page_token'],
    });
    const latest = await models.latestVersionsOfModels(page.items);
    return {
      registered_models: page.items.map((model) =>
        mlflowRegisteredModel(model, latest.get(model.modelId) ?? []),
      ),
      ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
    };
  });
  app.post('/registered-models/set-tag', async (request) => {
    const b = body(request);
    await models.setModelTag(b['name'], b['key'], b['value']);
    return {};
  });
  app.delete('/registered-models/delete-tag', async (request) => {
    const b = body(request);
    await idempotentDelete(models.deleteModelTag(b['name'], b['key']), 'key');
    return {};
  });
  // MLflow's client uses POST; the proto also declares GET.
  const latestVersions = async (fields: Fields): Promise<Fields> => {
    const latest = await models.latestVersions(fields['name'], fields['stages']);
    return { model_versions: [...latest].sort((a, b) => a.version - b.version).map(mlflowModelVersion) };
  };
  app.post('/registered-models/get-latest-versions', async (request) => latestVersions(body(request)));
  app.get('/registered-models/get-latest-versions', async (request) => latestVersions(query(request)));

  // aliases
  app.post('/registered-models/alias', async (request) => {
    const b = body(request);
    await models.setAlias({ name: b['name'], alias: b['alias'], version: b['version'] });
    return {};
  });
  app.delete('/registered-models/alias', async (request) => {
    const b = body(request);
    await idempotentDelete(models.deleteAlias({ name: b['name'], alias: b['alias'] }), 'alias');
    return {};
  });
  // MLflow's GetModelVersionByAlias lives at `registered-models/alias`; some
  // clients and docs name it `model-versions/get-by-alias`, so both answer.
  const getByAlias = async (request: FastifyRequest): Promise<Record<string, unknown>> => {
    const q = query(request);
    try {
      return { model_version: mlflowModelVersion(await versions.getByAlias(q['name'], q['alias'])) };
    } catch (error) {
      // MLflow answers an unset alias with INVALID_PARAMETER_VALUE and this exact
      // sentence; client code matches on both to tell "not set" from a failure.
      if (isCairnError(error) && error.code === 'NOT_FOUND' && error.field === 'alias') {
        throw new CairnError('INVALID_ARGUMENT', `Registered model alias ${String(q['alias'])} not found.`, {
          field: 'alias',
          cause: error,
        });
      }
      throw error;
    }
  };
  app.get('/registered-models/alias', getByAlias);
  app.get('/model-versions/get-by-alias', getByAlias);

  // model versions
  app.post('/model-versions/create', async (request) => {
    const b = body(request);
    const version = await versions.createVersion({
      name: b['name'],
      source: b['source'],
      runId: b['run_id'],
      tags: b['tags'],
      description: b['description'],
      runLink: b['run_link'],
    });
    return { model_version: mlflowModelVersion(version) };
  });
  app.get('/model-versions/get', async (request) => {
    const q = query(request);
    return { model_version: mlflowModelVersion(await versions.getVersion(q['name'], q['version'])) };
  });
  app.patch('/model-versions/update', async (request) => {
    const b = body(request);
    const version = await versions.updateVersion(b['name'], b['version'], { description: b['description'] });
    return { model_version: mlflowModelVersion(version) };
  });
  app.delete('/model-versions/delete', async (request) => {
    const b = body(request);
    await versions.deleteVersion(b['name'], b['version']);
    return {};
  });
  app.get('/model-versions/search', async (request) => {
    const q = query(request);
    const page = await versions.searchVersions({
      filter: q['filter'],
      orderBy: q['order_by'],
      maxResults: q['max_results'],
      pageToken: q['page_token'],
    });
    return {
      model_versions: page.items.map(mlflowModelVersion),
      ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
    };
  });
  app.post('/model-versions/set-tag', async (request) => {
    const b = body(request);
    await versions.setVersionTag({
      name: b['name'],
      version: b['version'],
      key: b['key'],
      value: b['value'],
    });
    return {};
  });
  app.delete('/model-versions/delete-tag', async (request) => {
    const b = body(request);
    await idempotentDelete(
      versions.deleteVersionTag({ name: b['name'], version: b['version'], key: b['key'] }),
      'key',
    );
    return {};
  });
  app.post('/model-versions/transition-stage', async (request) => {
    const b = body(request);
    const version = await versions.transitionStage({
      name: b['name'],
      version: b['version'],
      stage: b['stage'],
      archiveExistingVersions: b['archive_existing_versions'],
    });
    return { model_version: mlflowModelVersion(version) };
  });
  app.get('/model-versions/get-download-uri', async (request) => {
    const q = query(request);
    return { artifact_uri: await versions.downloadUri(q['name'], q['version']) };
  });
};
