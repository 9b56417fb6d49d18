import type { FastifyPluginAsync } from 'fastify';
import { mlflowBody, mlflowQuery, type MlflowFields } from '../../http/mlflow-request.js';
import type { ArtifactService } from '../artifacts/index.js';
import { metricHistoryBody } from './history-json.js';
import { mlflowExperiment, mlflowRun, mlflowRunInfo } from './mlflow-json.js';
import type { ExperimentService } from './experiments.service.js';
import type { TrackingService } from './tracking.service.js';

export interface MlflowTrackingRoutesOptions {
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
}

type Fields = MlflowFields;
const body = mlflowBody;
const query = mlflowQuery;

/** Older clients send `run_uuid`; MLflow accepts either. */
const runIdOf = (fields: Fields): unknown => fields['run_id'] ?? fields['run_uuid'];

/** A query parameter that may be given once or repeated. */
const listOf = (value: unknown): unknown => (value === undefined || Array.isArray(value) ? value : [value]);

/**
 * MLflow REST API 2.0 — tracking. Field names, defaults and response shapes
 * follow MLflow's reference so unmodified MLflow clients work; errors are
 * turned into MLflow's shape by the error handler.
 */
export const mlflowTrackingRoutes: FastifyPluginAsync<MlflowTrackingRoutesOptions> = async (app, options) => {
  const { experiments, tracking, artifacts } = options;

  // experiments
  app.post('/experiments/create', async (request) => {
    const b = body(request);
    const experiment = await experiments.createExperiment({
      name: b['name'],
      artifactLocation: b['artifact_location'],
      tags: b['tags'],
    });
    return { experiment_id: experiment.experimentId };
  });
  app.get('/experiments/get', async (request) => ({
    experiment: mlflowExperiment(await experiments.getExperiment(query(request)['experiment_id'])),
  }));
  app.get('/experiments/get-by-name', async (request) => ({
    experiment: mlflowExperiment(await experiments.getExperimentByName(query(request)['experiment_name'])),
  }));
  const searchExperiments = async (fields: Fields): Promise<Fields> => {
    const page = await experiments.searchExperiments({
      filter: fields['filter'],
      orderBy: listOf(fields['order_by']),
      maxResults: fields['max_results'],
      pageToken: fields['page_token'],
      viewType: fields['view_type'],
    });
    return {
      experiments: page.items.map(mlflowExperiment),
      ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
    };
  };
  app.post('/experiments/search', async (request) => searchExperiments(body(request)));
  app.get('/experiments/search', async (request) => searchExperiments(query(request)));
  app.post('/experiments/update', async (request) => {
    const b = body(request);
    await experiments.renameExperiment(b['experiment_id'], b['new_name']);
    return {};
  });
  app.post('/experiments/delete', async (request) => {
    await experiments.deleteExperiment(body(request)['experiment_id']);
    return {};
  });
  app.post('/experiments/restore', async (request) => {
    await experiments.restoreExperiment(body(request)['experiment_id']);
    return {};
  });
  app.post('/experiments/set-experiment-tag', async (request) => {
    const b = body(request);
    await experiments.setExperimentTag(b['experiment_id'], b['key'], b['value']);
    return {};
  });
  app.post('/experiments/delete-experiment-tag', async (request) => {
    const b = body(request);
    await experiments.deleteExperimentTag(b['experiment_id'], b['key']);
    return {};
  });

  // runs
  app.post('/runs/create', async (request) => {
    const b = body(request);
    const run = await tracking.createRun({
      experimentId: b['experiment_id'],
      runName: b['run_name'],
      startTime: b['start_time'],
      userId: b['user_id'],
      tags: b['tags'],
    });
    return { run: mlflowRun(run) };
  });
  app.get('/runs/get', async (request) => ({
    run: mlflowRun(await tracking.getRun(runIdOf(query(request)))),
  }));
  app.post('/runs/update', async (request) => {
    const b = body(request);
    const info = await tracking.updateRun(runIdOf(b), {
      status: b['status'],
      endTime: b['end_time'],
      runName: b['run_name'],
    });
    return { run_info: mlflowRunInfo(info) };
  });
  app.post('/runs/delete', async (request) => {
    await tracking.deleteRun(runIdOf(body(request)));
    return {};
  });
  app.post('/runs/restore', async (request) => {
    await tracking.restoreRun(runIdOf(body(request)));
    return {};
  });
  app.post('/runs/search', async (request) => {
    const b = body(request);
    const page = await tracking.searchRuns({
      experimentIds: b['experiment_ids'],
      filter: b['filter'],
      orderBy: b['order_by'],
      maxResults: b['max_results'],
      pageToken: b['page_token'],
      viewType: b['run_view_type'],
    });
    return {
      runs: page.items.map(mlflowRun),
      ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
    };
  });
  app.post('/runs/log-metric', async (request) => {
    const b = body(request);
    await tracking.logMetric(runIdOf(b), {
      key: b['key'],
      value: b['value'],
      timestamp: b['timestamp'],
      step: b['step'],
    });
    return {};
  });
  app.post('/runs/log-parameter', async (request) => {
    const b = body(request);
    await tracking.logParam(runIdOf(b), b['key'], b['value']);
    return {};
  });
  app.post('/runs/log-batch', async (request) => {
    const b = body(request);
    await tracking.logBatch(b['run_id'], { metrics: b['metrics'], params: b['params'], tags: b['tags'] });
    return {};
  });
  app.post('/runs/set-tag', async (request) => {
    const b = body(request);
    await tracking.setTag(runIdOf(b), b['key'], b['value']);
    return {};
  });
  app.post('/runs/delete-tag', async (request) => {
    const b = body(request);
    await tracking.deleteTag(b['run_id'], b['key']);
    return {};
  });
  app.post('/runs/log-inputs', async (request) => {
    const b = body(request);
    await tracking.logInputs(b['run_id'], b['datasets']);
    return {};
  });
  app.post('/runs/log-model', async (request) => {
    const b = body(request);
    await tracking.recordLoggedModel(b['run_id'], b['model_json']);
    return {};
  });

  // metrics
  app.get('/metrics/get-history', async (request, reply) => {
    const q = query(request);
    const page = await tracking.getMetricHistory(runIdOf(q), q['metric_key'], {
      maxResults: q['max_results'],
      pageToken: q['page_token'],
    });
    return reply
      .type('application/json')
      .send(
        metricHistoryBody(page.items, { tokenField: 'next_page_token', nextPageToken: page.nextPageToken }),
      );
  });

  // artifacts of a run (listing only; bytes go through mlflow-artifacts)
  app.get('/artifacts/list', async (request) => {
    const q = query(request);
    const info = await tracking.getRunInfo(runIdOf(q), { permission: 'read', action: 'artifacts.list' });
    const root = tracking.artifactRootOf(info);
    const entries = await artifacts.list({ root, path: q['path'] });
    return {
      root_uri: info.artifactUri,
      files: entries.map((e) =>
        e.isDir ? { path: e.path, is_dir: true } : { path: e.path, is_dir: false, file_size: e.sizeBytes },
      ),
    };
  });
};
