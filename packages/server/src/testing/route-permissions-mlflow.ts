import type { Fixtures, Method, TestRequest } from './permission-world.js';
import type { RouteRule } from './route-rule.js';

const ML = '/api/2.0/mlflow';
const MA = '/api/2.0/mlflow-artifacts';
const PROJECT_TAG = 'cairn.project';

type Build = RouteRule['build'];
type Fields = Record<string, unknown>;
const query = (fields: Fields): string =>
  new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)])).toString();

/** An MLflow call whose fields come from the fixtures: GET as a query string, others as a JSON body. */
const ml =
  (method: Method, path: string, fields: (fx: Fixtures, n: number) => Promise<Fields>): Build =>
  async ({ fx, n }) => {
    const values = await fields(fx, n);
    return method === 'GET'
      ? { method, url: `${ML}/${path}?${query(values)}` }
      : { method, url: `${ML}/${path}`, json: values };
  };
const experimentId = async (fx: Fixtures) => ({ experiment_id: (await fx.experiment()).id });
const runId = async (fx: Fixtures) => ({ run_id: (await fx.run()).id });
const modelName = async (fx: Fixtures) => ({ name: (await fx.model()).name });
const version1 = async (fx: Fixtures) => ({ ...(await modelName(fx)), version: '1' });
const artifactPath = async (fx: Fixtures, file = 'model/model.bin') => {
  const run = await fx.run();
  return `${run.experimentId}/${run.id}/artifacts/${file}`;
};
const artifact =
  (method: Method, file?: string): Build =>
  async ({ fx }) => {
    const request: TestRequest = { method, url: `${MA}/artifacts/${await artifactPath(fx, file)}` };
    return method === 'PUT' ? { ...request, text: 'bytes' } : request;
  };
/** Set-up that must happen once per fixture set before the request (delete before restore). */
const deletedFirst =
  (path: string, fields: (fx: Fixtures) => Promise<Fields>): Build =>
  async (ctx) => {
    const values = await fields(ctx.fx);
    await ctx.fx.memo('deleted', () =>
      ctx.world.must('admin', { method: 'POST', url: `${ML}/${path}`, json: values }),
    );
    return { method: 'POST', url: `${ML}/${path.replace('delete', 'restore')}`, json: values };
  };

const experimentItems = (body: any) => body.experiments.map((e: any) => `experiment:${e.experiment_id}`);
const showsExperiment = async (fx: Fixtures) => `experiment:${(await fx.experiment()).id}`;
const searchExperiments: Partial<RouteRule> = {
  need: 'authenticated',
  ok: 200,
  items: experimentItems,
  shows: showsExperiment,
};
const latestVersions: RouteRule = {
  need: 'read',
  ok: 200,
  build: ml('GET', 'registered-models/get-latest-versions', modelName),
};
const byAlias = (path: string): RouteRule => ({
  need: 'read',
  ok: 200,
  build: ml('GET', path, async (fx) => ({ ...(await modelName(fx)), alias: 'candidate' })),
});
const multipart = (step: string): RouteRule => ({
  // Cairn streams uploads through PUT; MLflow clients fall back to it on exactly this 501.
  need: 'authenticated',
  scoped: false,
  ok: 501,
  build: async () => ({ method: 'POST', url: `${MA}/mpu/${step}/some/path`, json: {} }),
});

/** MLflow's REST API; the `/ajax-api/…` copies share these. */
export const MLFLOW_ROUTE_RULES: Record<string, RouteRule> = {
  // experiments
  [`POST ${ML}/experiments/create`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'experiments/create', async (fx, n) => ({
      name: `ml-exp-${n}`,
      tags: [{ key: PROJECT_TAG, value: fx.project }],
    })),
  },
  [`GET ${ML}/experiments/get`]: { need: 'read', ok: 200, build: ml('GET', 'experiments/get', experimentId) },
  [`GET ${ML}/experiments/get-by-name`]: {
    need: 'read',
    ok: 200,
    build: ml('GET', 'experiments/get-by-name', async (fx) => ({
      experiment_name: (await fx.experiment()).name,
    })),
  },
  [`GET ${ML}/experiments/search`]: {
    ...searchExperiments,
    build: ml('GET', 'experiments/search', async (fx) => {
      await fx.experiment();
      return { max_results: 1000, order_by: 'creation_time DESC' };
    }),
  } as RouteRule,
  [`POST ${ML}/experiments/search`]: {
    ...searchExperiments,
    build: ml('POST', 'experiments/search', async (fx) => {
      await fx.experiment();
      return { max_results: 1000, order_by: ['creation_time DESC'] };
    }),
  } as RouteRule,
  [`POST ${ML}/experiments/update`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'experiments/update', async (fx, n) => ({
      ...(await experimentId(fx)),
      new_name: `ml-renamed-${n}`,
    })),
  },
  [`POST ${ML}/experiments/delete`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: ml('POST', 'experiments/delete', experimentId),
  },
  [`POST ${ML}/experiments/restore`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: deletedFirst('experiments/delete', experimentId),
  },
  [`POST ${ML}/experiments/set-experiment-tag`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'experiments/set-experiment-tag', async (fx) => ({
      ...(await experimentId(fx)),
      key: 't2',
      value: 'w',
    })),
  },
  [`POST ${ML}/experiments/delete-experiment-tag`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: ml('POST', 'experiments/delete-experiment-tag', async (fx) => ({
      ...(await experimentId(fx)),
      key: 't',
    })),
  },

  // runs
  [`POST ${ML}/runs/create`]: { need: 'write', ok: 200, build: ml('POST', 'runs/create', experimentId) },
  [`GET ${ML}/runs/get`]: { need: 'read', ok: 200, build: ml('GET', 'runs/get', runId) },
  [`POST ${ML}/runs/update`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'runs/update', async (fx, n) => ({ ...(await runId(fx)), run_name: `ml-run-${n}` })),
  },
  [`POST ${ML}/runs/delete`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: ml('POST', 'runs/delete', runId),
  },
  [`POST ${ML}/runs/restore`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: deletedFirst('runs/delete', runId),
  },
  [`POST ${ML}/runs/search`]: {
    need: 'read',
    ok: 200,
    build: ml('POST', 'runs/search', async (fx) => ({
      experiment_ids: [(await fx.run()).experimentId],
      max_results: 100,
    })),
    items: (body) => (body.runs ?? []).map((r: any) => `run:${r.info.run_id}`),
    shows: async (fx) => `run:${(await fx.run()).id}`,
  },
  [`POST ${ML}/runs/log-metric`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'runs/log-metric', async (fx) => ({
      ...(await runId(fx)),
      key: 'auc',
      value: 0.93,
      timestamp: 1,
      step: 2,
    })),
  },
  [`POST ${ML}/runs/log-parameter`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'runs/log-parameter', async (fx, n) => ({
      ...(await runId(fx)),
      key: `ml-p${n}`,
      value: '1',
    })),
  },
  [`POST ${ML}/runs/log-batch`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'runs/log-batch', async (fx) => ({
      ...(await runId(fx)),
      metrics: [{ key: 'loss', value: 0.1, timestamp: 1, step: 0 }],
    })),
  },
  [`POST ${ML}/runs/set-tag`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'runs/set-tag', async (fx) => ({ ...(await runId(fx)), key: 't2', value: 'w' })),
  },
  [`POST ${ML}/runs/delete-tag`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: ml('POST', 'runs/delete-tag', async (fx) => ({ ...(await runId(fx)), key: 't' })),
  },
  [`POST ${ML}/runs/log-inputs`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'runs/log-inputs', async (fx) => ({
      ...(await runId(fx)),
      datasets: [{ dataset: { name: 'train', digest: 'd1', source_type: 'local', source: 'train.csv' } }],
    })),
  },
  [`POST ${ML}/runs/log-model`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'runs/log-model', async (fx) => {
      const { run_id } = await runId(fx);
      const model = {
        run_id,
        artifact_path: 'model',
        utc_time_created: '2026-01-01 00:00:00.000000',
        flavors: {},
      };
      return { run_id, model_json: JSON.stringify(model) };
    }),
  },
  [`GET ${ML}/metrics/get-history`]: {
    need: 'read',
    ok: 200,
    build: ml('GET', 'metrics/get-history', async (fx) => ({ ...(await runId(fx)), metric_key: 'auc' })),
  },
  [`GET ${ML}/artifacts/list`]: {
    need: 'read',
    ok: 200,
    build: ml('GET', 'artifacts/list', async (fx) => ({ ...(await runId(fx)), path: 'model' })),
  },

  // registered models
  [`POST ${ML}/registered-models/create`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'registered-models/create', async (fx, n) => ({
      name: `ml-model-${n}`,
      tags: [{ key: PROJECT_TAG, value: fx.project }],
    })),
  },
  [`GET ${ML}/registered-models/get`]: {
    need: 'read',
    ok: 200,
    build: ml('GET', 'registered-models/get', modelName),
  },
  [`POST ${ML}/registered-models/rename`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: ml('POST', 'registered-models/rename', async (fx, n) => ({
      ...(await modelName(fx)),
      new_name: `ml-renamed-model-${n}`,
    })),
  },
  [`PATCH ${ML}/registered-models/update`]: {
    need: 'write',
    ok: 200,
    build: ml('PATCH', 'registered-models/update', async (fx) => ({
      ...(await modelName(fx)),
      description: 'changed',
    })),
  },
  [`DELETE ${ML}/registered-models/delete`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: ml('DELETE', 'registered-models/delete', modelName),
  },
  [`GET ${ML}/registered-models/search`]: {
    need: 'authenticated',
    ok: 200,
    build: ml('GET', 'registered-models/search', async (fx) => {
      await fx.model();
      return { max_results: 1000, order_by: 'creation_timestamp DESC' };
    }),
    items: (body) => (body.registered_models ?? []).map((m: any) => `model:${m.name}`),
    shows: async (fx) => `model:${(await fx.model()).name}`,
  },
  [`POST ${ML}/registered-models/set-tag`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'registered-models/set-tag', async (fx) => ({
      ...(await modelName(fx)),
      key: 't2',
      value: 'w',
    })),
  },
  [`DELETE ${ML}/registered-models/delete-tag`]: {
    need: 'write',
    ok: 200,
    build: ml('DELETE', 'registered-models/delete-tag', async (fx) => ({
      ...(await modelName(fx)),
      key: 't',
    })),
  },
  [`POST ${ML}/registered-models/get-latest-versions`]: {
    ...latestVersions,
    build: ml('POST', 'registered-models/get-latest-versions', modelName),
  },
  [`GET ${ML}/registered-models/get-latest-versions`]: latestVersions,
  [`POST ${ML}/registered-models/alias`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'registered-models/alias', async (fx) => ({
      ...(await version1(fx)),
      alias: 'candidate2',
    })),
  },
  [`DELETE ${ML}/registered-models/alias`]: {
    need: 'write',
    ok: 200,
    build: ml('DELETE', 'registered-models/alias', async (fx) => ({
      ...(await modelName(fx)),
      alias: 'candidate',
    })),
  },
  [`GET ${ML}/registered-models/alias`]: byAlias('registered-models/alias'),
  [`GET ${ML}/model-versions/get-by-alias`]: byAlias('model-versions/get-by-alias'),

  // model versions
  [`POST ${ML}/model-versions/create`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'model-versions/create', async (fx) => {
      const run = await fx.run();
      return { ...(await modelName(fx)), source: `runs:/${run.id}/model`, run_id: run.id };
    }),
  },
  [`GET ${ML}/model-versions/get`]: {
    need: 'read',
    ok: 200,
    build: ml('GET', 'model-versions/get', version1),
  },
  [`PATCH ${ML}/model-versions/update`]: {
    need: 'write',
    ok: 200,
    build: ml('PATCH', 'model-versions/update', async (fx) => ({
      ...(await version1(fx)),
      description: 'changed',
    })),
  },
  [`DELETE ${ML}/model-versions/delete`]: {
    need: 'write',
    ok: 200,
    consumes: true,
    build: ml('DELETE', 'model-versions/delete', version1),
  },
  [`GET ${ML}/model-versions/search`]: {
    need: 'authenticated',
    ok: 200,
    build: ml('GET', 'model-versions/search', async (fx) => {
      await fx.model();
      return { max_results: 1000, order_by: 'creation_timestamp DESC' };
    }),
    items: (body) => (body.model_versions ?? []).map((v: any) => `model:${v.name}`),
    shows: async (fx) => `model:${(await fx.model()).name}`,
  },
  [`POST ${ML}/model-versions/set-tag`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'model-versions/set-tag', async (fx) => ({
      ...(await version1(fx)),
      key: 't2',
      value: 'w',
    })),
  },
  [`DELETE ${ML}/model-versions/delete-tag`]: {
    need: 'write',
    ok: 200,
    build: ml('DELETE', 'model-versions/delete-tag', async (fx) => ({ ...(await version1(fx)), key: 't' })),
  },
  [`POST ${ML}/model-versions/transition-stage`]: {
    need: 'write',
    ok: 200,
    build: ml('POST', 'model-versions/transition-stage', async (fx) => ({
      ...(await version1(fx)),
      stage: 'Staging',
      archive_existing_versions: false,
    })),
  },
  [`GET ${ML}/model-versions/get-download-uri`]: {
    need: 'read',
    ok: 200,
    build: ml('GET', 'model-versions/get-download-uri', version1),
  },

  // the artifact proxy
  [`GET ${MA}/artifacts`]: {
    need: 'read',
    ok: 200,
    build: async ({ fx }) => {
      const path = (await artifactPath(fx, '')).replace(/\/$/, '');
      return { method: 'GET', url: `${MA}/artifacts?${query({ path })}` };
    },
  },
  [`GET ${MA}/artifacts/*`]: { need: 'read', ok: 200, build: artifact('GET') },
  [`PUT ${MA}/artifacts/*`]: { need: 'write', ok: 200, build: artifact('PUT', 'extra/ml.txt') },
  [`DELETE ${MA}/artifacts/*`]: { need: 'write', ok: 200, build: artifact('DELETE', 'model/model.bin') },
  [`POST ${MA}/mpu/create/*`]: multipart('create'),
  [`POST ${MA}/mpu/complete/*`]: multipart('complete'),
  [`POST ${MA}/mpu/abort/*`]: multipart('abort'),
};
