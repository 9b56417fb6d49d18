import { randomUUID } from 'node:crypto';
import { buildLinearModel } from './onnx-builder.js';
import type { FastifyInstance } from 'fastify';

/** Who calls, in the permission sweep: no token, a user with no role, one user per role in `own`, the server admin. */
export const CALLERS = ['anonymous', 'nobody', 'viewer', 'editor', 'approver', 'padmin', 'admin'] as const;
export type CallerName = (typeof CALLERS)[number];

/** The project every role is held in, and the one only the server admin may touch. */
export const OWN = 'own';
export const OTHER = 'other';
export type ProjectName = typeof OWN | typeof OTHER;

/** Editor in both projects: creates the promotion requests, so no caller under test is their requester. */
export const MAKER = 'maker';

const ROLE_OF: Record<string, string> = {
  viewer: 'viewer',
  editor: 'editor',
  approver: 'approver',
  padmin: 'admin',
};

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TestRequest {
  method: Method;
  url: string;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as-is with `contentType` (application/octet-stream by default). */
  text?: string;
  contentType?: string;
}

export interface Reply {
  status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: any;
  text: string;
  requestId: string;
}

/** A pipeline whose run writes nothing in the background: its one step fans out over an empty list. */
export const EMPTY_PIPELINE = { name: 'empty', steps: { none: { run: 'true', foreach: [] } } };

/** Lazily made things in one project, each created at most once per fixture set. */
export interface Fixtures {
  readonly project: ProjectName;
  /** An experiment with the tag `t`. */
  experiment(): Promise<{ id: string; name: string }>;
  /** A run of `experiment()` with metric `auc`, param `p`, tag `t` and the artifact `model/model.bin`. */
  run(): Promise<{ id: string; experimentId: string }>;
  /** A model (tag `t`) with version 1 from `run()` (tag `t`, card filled in) and alias `candidate` on it. */
  model(): Promise<{ name: string; versionId: string }>;
  /** A pending request by MAKER to move version 1 of `model()` to `champion`. */
  promotion(): Promise<{ id: string }>;
  /** A dataset with version 1 (file `t.csv`), alias `golden` on it, and an open upload. */
  dataset(): Promise<{ name: string; uploadId: string; chunk: string; digest: string }>;
  /** A deployment (no own port) of an ONNX model in the project, with two revisions, serving. */
  deployment(): Promise<{ name: string; model: string }>;
  /**
   * A pipeline run in the project in the given state: `succeeded` (step `make` with output `out`),
   * `failed` (resumable) or `running` (its one step waiting an hour to retry, holding no slot).
   */
  pipelineRun(state: 'succeeded' | 'failed' | 'running'): Promise<{ id: string }>;
  /** A schedule trigger (never due in a test) of a pipeline whose one step fans out over nothing. */
  pipelineTrigger(): Promise<{ name: string; id: string }>;
  /** Runs `make` once per fixture set under `key`: set-up steps of a request (delete before restore). */
  memo<T>(key: string, make: () => Promise<T>): Promise<T>;
}

/** The app, its callers' tokens and the fixtures made so far, for the permission and hostile-input tests. */
export class PermissionWorld {
  readonly tokens = new Map<string, string>();
  /** `kind:id` → project, for every fixture made (and MLflow's default experiment): what a list may show to whom. */
  readonly projectOf = new Map<string, string>([['experiment:0', 'default']]);
  /** Called with every answer, set-up included. */
  observe: ((reply: Reply) => void) | undefined;
  private counter = 0;

  constructor(
    readonly app: FastifyInstance,
    adminToken: string,
  ) {
    this.tokens.set('admin', adminToken);
  }

  /** A number never handed out before in this world: for names that must not collide. */
  unique(): number {
    return ++this.counter;
  }

  async send(who: string, request: TestRequest): Promise<Reply> {
    const requestId = `perm-${who}-${this.unique()}`;
    const headers: Record<string, string> = { 'x-request-id': requestId };
    const token = this.tokens.get(who);
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    let payload: string | undefined;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(request.json);
    } else if (request.text !== undefined) {
      headers['content-type'] = request.contentType ?? 'application/octet-stream';
      payload = request.text;
    }
    const response = await this.app.inject({
      method: request.method,
      url: request.url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    });
    let body: unknown = response.body;
    try {
      body = response.body === '' ? undefined : JSON.parse(response.body);
    } catch {
      // not JSON: keep the text
    }
    const reply = { status: response.statusCode, body, text: response.body, requestId };
    this.observe?.(reply);
    return reply;
  }

  /** A request that must succeed (set-up), as `who`. */
  async must(who: string, request: TestRequest): Promise<any> {
    const reply = await this.send(who, request);
    if (reply.status >= 300) {
      throw new Error(`${who} ${request.method} ${request.url}: ${reply.status} ${reply.text.slice(0, 500)}`);
    }
    return reply.body;
  }

  /** Projects own and other, a user per role in own, `nobody`, MAKER; a token each. */
  async populate(): Promise<void> {
    for (const id of [OWN, OTHER]) {
      await this.must('admin', { method: 'POST', url: '/api/v1/projects', json: { id } });
      this.projectOf.set(`project:${id}`, id);
    }
    const grants: Array<[string, Array<[string, string]>]> = [
      ...Object.entries(ROLE_OF).map(([user, role]): [string, Array<[string, string]>] => [
        user,
        [[OWN, role]],
      ]),
      ['nobody', []],
      [
        MAKER,
        [
          [OWN, 'editor'],
          [OTHER, 'editor'],
        ],
      ],
    ];
    for (const [user, roles] of grants) {
      await this.must('admin', { method: 'POST', url: '/api/v1/users', json: { name: user } });
      for (const [project, role] of roles) {
        await this.must('admin', {
          method: 'POST',
          url: `/api/v1/projects/${project}/members`,
          json: { user, role },
        });
      }
      const created = await this.must('admin', {
        method: 'POST',
        url: '/api/v1/tokens',
        json: { user, name: 'permission-sweep' },
      });
      this.tokens.set(user, created.token as string);
    }
  }

  /** A new, empty fixture set in `project`: nothing is created until asked for. */
  fixtures(project: ProjectName): Fixtures {
    const memos = new Map<string, Promise<unknown>>();
    const memo = <T>(key: string, make: () => Promise<T>): Promise<T> => {
      let found = memos.get(key) as Promise<T> | undefined;
      if (found === undefined) {
        found = make();
        memos.set(key, found);
      }
      return found;
    };
    const n = this.unique();
    const admin = (request: TestRequest) => this.must('admin', request);
    const fx: Fixtures = {
      project,
      memo,
      experiment: () =>
        memo('experiment', async () => {
          const name = `${project}-exp-${n}`;
          const created = await admin({
            method: 'POST',
            url: '/api/v1/experiments',
            json: { name, project, tags: { t: 'v' } },
          });
          const id = created.experimentId as string;
          this.projectOf.set(`experiment:${id}`, project);
          return { id, name };
        }),
      run: () =>
        memo('run', async () => {
          const experiment = await fx.experiment();
          const created = await admin({
            method: 'POST',
            url: '/api/v1/runs',
            json: { experimentId: experiment.id, runName: `run-${n}` },
          });
          const id = created.info.runId as string;
          this.projectOf.set(`run:${id}`, project);
          await admin({
            method: 'POST',
            url: `/api/v1/runs/${id}/log-batch`,
            json: {
              metrics: [{ key: 'auc', value: 0.91, step: 0 }],
              params: [{ key: 'p', value: '1' }],
              tags: [{ key: 't', value: 'v' }],
            },
          });
          await admin({
            method: 'PUT',
            url: `/api/v1/runs/${id}/artifacts/model/model.bin`,
            text: `weights ${project} ${n}`,
          });
          return { id, experimentId: experiment.id };
        }),
      model: () =>
        memo('model', async () => {
          const run = await fx.run();
          const name = `${project}-model-${n}`;
          await admin({ method: 'POST', url: '/api/v1/models', json: { name, project, tags: { t: 'v' } } });
          this.projectOf.set(`model:${name}`, project);
          const version = await admin({
            method: 'POST',
            url: `/api/v1/models/${name}/versions`,
            json: { source: `runs:/${run.id}/model`, tags: { t: 'v' } },
          });
          await admin({
            method: 'PUT',
            url: `/api/v1/models/${name}/aliases/candidate`,
            json: { version: 1 },
          });
          await admin({
            method: 'PATCH',
            url: `/api/v1/models/${name}/versions/1/card`,
            json: { intendedUse: 'permission tests', riskTier: 'low' },
          });
          return { name, versionId: version.versionId as string };
        }),
      promotion: () =>
        memo('promotion', async () => {
          const model = await fx.model();
          const created = await this.must(MAKER, {
            method: 'POST',
            url: '/api/v1/promotions',
            json: { model: model.name, version: 1, alias: 'champion', reason: 'permission sweep' },
          });
          const id = created.id as string;
          this.projectOf.set(`promotion:${id}`, project);
          return { id };
        }),
      dataset: () =>
        memo('dataset', async () => {
          const name = `${project}-data-${n}`;
          await admin({ method: 'POST', url: '/api/v1/datasets', json: { name, project } });
          this.projectOf.set(`dataset:${name}`, project);
          const first = await admin({ method: 'POST', url: `/api/v1/datasets/${name}/uploads`, json: {} });
          const put = await admin({
            method: 'PUT',
            url: `/api/v1/datasets/${name}/uploads/${first.uploadId}/files?path=t.csv`,
            text: `a,b\n1,${n}\n`,
          });
          await admin({
            method: 'POST',
            url: `/api/v1/datasets/${name}/uploads/${first.uploadId}/commit`,
            json: { message: 'v1', aliases: ['golden'] },
          });
          const open = await admin({ method: 'POST', url: `/api/v1/datasets/${name}/uploads`, json: {} });
          const files = await admin({
            method: 'GET',
            url: `/api/v1/datasets/${name}/versions/1/files?chunks=true`,
          });
          return {
            name,
            uploadId: open.uploadId as string,
            digest: put.digest as string,
            chunk: files.files[0].chunks[0].digest as string,
          };
        }),
      pipelineRun: (state) =>
        memo(`pipeline-${state}`, async () => {
          const run = {
            succeeded: `echo ${project}-${n} > {{outputs.out}}`,
            failed: 'exit 1',
            running: 'exit 1',
          }[state];
          const definition = {
            name: `${project}-pipe-${n}`,
            steps: {
              make: {
                run,
                outputs: state === 'succeeded' ? ['out'] : [],
                ...(state === 'running' ? { retry: { count: 1, backoff: '1h' } } : {}),
              },
            },
          };
          const started = await admin({
            method: 'POST',
            url: '/api/v1/pipeline-runs',
            json: { definition, project, noCache: true },
          });
          const id = started.run.id as string;
          this.projectOf.set(`pipeline_run:${id}`, project);
          for (let i = 0; i < 400; i++) {
            const got = await admin({ method: 'GET', url: `/api/v1/pipeline-runs/${id}` });
            const step = got.run.steps[0];
            if (state !== 'running' && got.run.status === state) break;
            // Waiting to retry, and its first attempt's tracking run ended (no audit event still to come).
            if (state === 'running' && step.attempt === 1 && step.status === 'pending') {
              const tracked = await admin({ method: 'GET', url: `/api/v1/runs/${step.runId as string}` });
              if (JSON.stringify(tracked).includes('FAILED')) break;
            }
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
          return { id };
        }),
      pipelineTrigger: () =>
        memo('pipeline-trigger', async () => {
          const name = `${project}-trigger-${n}`;
          const created = await admin({
            method: 'POST',
            url: '/api/v1/pipeline-triggers',
            json: { name, project, definition: EMPTY_PIPELINE, schedule: { cron: '0 3 1 1 *' } },
          });
          const id = created.trigger.id as string;
          this.projectOf.set(`pipeline_trigger:${id}`, project);
          return { name, id };
        }),
      deployment: () =>
        memo('deployment', async () => {
          const model = `${project}-onnx-${n}`;
          await admin({ method: 'POST', url: '/api/v1/models', json: { name: model, project } });
          this.projectOf.set(`model:${model}`, project);
          const upload = await this.app.inject({
            method: 'PUT',
            url: `/api/v1/model-uploads/${randomUUID()}/model.onnx`,
            payload: Buffer.from(buildLinearModel({ inputs: 4, outputs: 3 })),
            headers: {
              'content-type': 'application/octet-stream',
              authorization: `Bearer ${this.tokens.get('admin') ?? ''}`,
            },
          });
          const source = (upload.json() as { source: string }).source;
          await admin({ method: 'POST', url: `/api/v1/models/${model}/versions`, json: { source } });
          const name = `${project}-dep-${n}`;
          await admin({
            method: 'POST',
            url: '/api/v1/deployments',
            json: { name, project, model: `${model}/1`, port: null },
          });
          await admin({
            method: 'PATCH',
            url: `/api/v1/deployments/${name}`,
            json: { settings: { sampleRate: 1 } },
          });
          this.projectOf.set(`deployment:${name}`, project);
          for (let i = 0; i < 400; i++) {
            const res = await admin({ method: 'GET', url: `/api/v1/deployments/${name}` });
            if (res.deployment.status.servedRevision === 2) break;
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
          return { name, model };
        }),
    };
    return fx;
  }
}
