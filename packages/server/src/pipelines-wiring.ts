import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DatasetVersionFiles } from './adapters/pipeline-executors/dataset-version-files.js';
import { LocalStepExecutor } from './adapters/pipeline-executors/local-step-executor.js';
import { QueueStepExecutor } from './adapters/pipeline-executors/queue-step-executor.js';
import type { MetadataStores } from './adapters/sql/sql-stores.js';
import type { CairnConfig } from './config/load-config.js';
import type { Clock } from './kernel/clock.js';
import type { Transactor } from './kernel/transactor.js';
import type { ArtifactService, BlobStore } from './modules/artifacts/index.js';
import type { DatasetReadService, DatasetsService } from './modules/datasets/index.js';
import type { AccessControl } from './modules/governance/index.js';
import {
  CodePackagesService,
  CodeTrees,
  PipelineFilesService,
  PipelineRunsService,
  PipelineScheduler,
  PipelineTriggersService,
  StepTracking,
  type PipelineDatasets,
} from './modules/pipelines/index.js';
import { pipelineRoutes } from './modules/pipelines/pipelines.routes.js';
import { pipelineTriggerRoutes } from './modules/pipelines/pipeline-triggers.routes.js';
import { startServerTimer } from './modules/governance/index.js';
import type { ExperimentService, TrackingService } from './modules/tracking/index.js';

/** How often triggers are checked for a due schedule or a new dataset version. */
const TRIGGER_POLL_MS = 2_000;

export interface PipelineDeps {
  config: CairnConfig;
  stores: MetadataStores;
  transactor: Transactor<MetadataStores>;
  clock: Clock;
  access: AccessControl;
  blobs: BlobStore;
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
  datasets: DatasetsService;
  datasetReads: DatasetReadService;
  onError: (error: unknown, message: string) => void;
}

export interface PipelineParts {
  runs: PipelineRunsService;
  files: PipelineFilesService;
  code: CodePackagesService;
  scheduler: PipelineScheduler;
  triggers: PipelineTriggersService;
  local: LocalStepExecutor;
  /** Present when CAIRN_QUEUE_URL is set. */
  queue: QueueStepExecutor | undefined;
  /** Steps log back to the server at this URL (known once it listens). */
  setTrackingUri(uri: string): void;
}

export function createPipelines(deps: PipelineDeps): PipelineParts {
  const { stores, clock, blobs, access } = deps;
  const tracking = new StepTracking({
    experiments: deps.experiments,
    tracking: deps.tracking,
    artifacts: deps.artifacts,
    transactor: deps.transactor,
    clock,
  });
  const codeTrees = new CodeTrees(blobs);
  const scheduler = new PipelineScheduler({
    store: stores.pipelines,
    tracking,
    codeTrees,
    blobs,
    clock,
    onError: deps.onError,
  });
  const runner = {
    blobs,
    datasets: new DatasetVersionFiles({ store: stores.datasets, reads: deps.datasetReads }),
    workRoot: path.join(deps.config.dataDir, 'work', 'steps'),
    env: deps.config.pipelines.stepEnv,
    trackingUri: undefined as string | undefined,
  };
  const local = new LocalStepExecutor({
    runner,
    listener: scheduler.listener,
    slots: deps.config.pipelines.slots,
    // Unique per server process and start, so a restarted server knows its predecessor's steps are not its own.
    workerName: `local:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    onListenerError: (error) => deps.onError(error, 'pipeline scheduler listener failed'),
  });
  scheduler.useExecutor(local);
  const { queueUrl, queuePrefix } = deps.config.pipelines;
  const queue =
    queueUrl === undefined
      ? undefined
      : new QueueStepExecutor({
          url: queueUrl,
          prefix: queuePrefix,
          listener: scheduler.listener,
          onError: deps.onError,
        });
  if (queue !== undefined) scheduler.useExecutor(queue);
  const datasets: PipelineDatasets = {
    resolve: async (name, ref) => {
      const view = await deps.datasets.getVersion({ name, ref });
      return { versionId: view.version.versionId, version: view.version.version };
    },
  };
  const runs = new PipelineRunsService({
    store: stores.pipelines,
    transactor: deps.transactor,
    access,
    clock,
    scheduler,
    tracking,
    codeTrees,
    datasets,
  });
  const triggers = new PipelineTriggersService({
    store: stores.pipelines,
    transactor: deps.transactor,
    access,
    clock,
    runs,
    datasets,
    onError: deps.onError,
  });
  const files = new PipelineFilesService({ runs, blobs, tracking: deps.tracking, artifacts: deps.artifacts });
  const code = new CodePackagesService({ blobs, access });
  const setTrackingUri = (uri: string): void => {
    runner.trackingUri = uri;
  };
  return { runs, files, code, scheduler, triggers, local, queue, setTrackingUri };
}

/**
 * Registers the routes and ties the scheduler to the app's life: it starts
 * once the server listens (so steps can log back to it) and stops first on
 * close, before the executor's children are stopped and the database closes.
 */
export async function startPipelinesIn(app: FastifyInstance, parts: PipelineParts): Promise<void> {
  await app.register(pipelineRoutes, {
    prefix: '/api/v1',
    runs: parts.runs,
    files: parts.files,
    code: parts.code,
  });
  await app.register(pipelineTriggerRoutes, { prefix: '/api/v1', triggers: parts.triggers });
  app.addHook('onListen', async () => {
    const address = app.server.address();
    if (address !== null && typeof address === 'object') {
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const local = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
      parts.setTrackingUri(`http://${local}:${address.port}`);
    }
  });
  // Triggers are looked at every couple of seconds on every server; firing is compare-and-set, so once.
  let triggerTimer: { stop(): Promise<void> | void } | undefined;
  app.addHook('onReady', async () => {
    parts.scheduler.start();
    triggerTimer = startServerTimer(() => parts.triggers.tick().then(() => undefined), {
      intervalMs: TRIGGER_POLL_MS,
      firstRunMs: TRIGGER_POLL_MS,
      onError: (error) => app.log.error({ err: error }, 'pipeline trigger sweep failed'),
    });
  });
  app.addHook('preClose', async () => {
    await triggerTimer?.stop();
    await parts.scheduler.stop();
    await parts.local.close();
    await parts.queue?.close();
  });
}
