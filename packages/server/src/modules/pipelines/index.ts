export type {
  PipelineRunRecord,
  PipelineTrigger,
  PipelineTriggerRecord,
  StepOutput,
  StepRunRecord,
} from './entities.js';
export { DONE_STEP_STATUSES, ENDED_RUN_STATUSES, FINISHED_STEP_STATUSES, stepRunLabel } from './entities.js';
export type {
  PipelineRunPatch,
  PipelineRunQuery,
  PipelineStore,
  PipelineStores,
  PipelineTriggerPatch,
  StepRunGuard,
  StepRunPatch,
} from './pipelines.store.js';
export type {
  LoggedMetric,
  ResolvedInput,
  StepExecutor,
  StepListener,
  StepResult,
  StepTask,
  StoredLog,
} from './step-executor.js';
export { PipelineScheduler } from './pipeline-scheduler.js';
export type { PipelineSchedulerDeps } from './pipeline-scheduler.js';
export { PipelineRunsService, newStepRow } from './pipeline-runs.service.js';
export type {
  PipelineDatasets,
  PipelineRunsServiceDeps,
  RunView,
  StartInput,
} from './pipeline-runs.service.js';
export { PipelineFilesService } from './pipeline-files.service.js';
export type { OutputContent } from './pipeline-files.service.js';
export { CodePackagesService } from './code-packages.service.js';
export type { StoredCodePackage } from './code-packages.service.js';
export { CodeTrees } from './code-trees.js';
export { StepTracking, STEP_RUN_TAGS } from './step-tracking.js';
export { PipelineRunDescriber } from './pipeline-run-describer.js';
export { cacheKeyOf } from './cache-key.js';
export { pipelineRunJson, pipelineRunDetailJson, stepRunJson } from './pipelines-json.js';
export { PipelineTriggersService } from './pipeline-triggers.service.js';
export type { CreateTriggerInput, PipelineTriggersDeps } from './pipeline-triggers.service.js';
export type { CheckedStart, DatasetPin } from './pipeline-runs.service.js';
export { checkSchedule, nextFireTime } from './cron-schedule.js';
