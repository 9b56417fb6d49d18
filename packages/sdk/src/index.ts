export { Cairn, DEFAULT_URL } from './cairn.js';
export type { CairnOptions, StartRunOptions } from './cairn.js';
export { ActiveRun } from './active-run.js';
export type { EndStatus, ParamValue } from './active-run.js';
export { ExperimentsResource } from './experiments.js';
export type { CreateExperimentInput, ListExperimentsOptions } from './experiments.js';
export { RunsResource } from './runs.js';
export type {
  ArtifactUpload,
  CodeVersionInput,
  DatasetVersionRef,
  RunPatch,
  SearchRunsInput,
} from './runs.js';
export { parseDatasetVersionRef } from './runs.js';
export { captureCodeVersion } from './code-version.js';
export type { CaptureOptions, CapturedCodeVersion } from './code-version.js';
export { ModelsResource } from './models.js';
export type { FileUpload, LabelHistoryOptions, ListModelsOptions, ListVersionsOptions } from './models.js';
export type { RegisterModelOptions } from './model-registration.js';
export type { ProgressListener, TransferProgress } from './local-model-files.js';
export { DatasetsResource, parseDatasetRef } from './datasets.js';
export { DatasetHandle, DatasetVersionHandle } from './dataset-handles.js';
export type {
  DatasetRef,
  DatasetReference,
  ListDatasetsOptions,
  ListFilesOptions,
  Page,
  VersionDetail,
} from './datasets.js';
export type { AddDatasetOptions, AddProgress } from './dataset-add.js';
export type { CheckoutOptions, CheckoutProgress, CheckoutResult } from './dataset-checkout.js';
export { encodeFrame, pushDataset, readFrames } from './dataset-transfer.js';
export type {
  ChunkEncoding,
  ChunkFrameHeader,
  ErrorFrameHeader,
  Frame,
  FrameHeader,
  PushOptions,
  PushProgress,
  PushResult,
} from './dataset-transfer.js';
export { DeploymentsResource } from './deployments.js';
export type {
  CanaryInput,
  CreateDeploymentInput,
  DeploymentPage,
  DeploymentPatch,
  DeploymentSettingsInput,
  FeedbackItem,
  ListDeploymentsOptions,
  ListPredictionsOptions,
  PredictResult,
  ShadowInput,
  TimeInput,
} from './deployments.js';
export { ENDED_PIPELINE_STATUSES, parseOutputRef, PipelinesResource, stepRunsOf } from './pipelines.js';
export type {
  DownloadedOutput,
  ListPipelineRunsOptions,
  OutputRef,
  PipelineRunPage,
  RunPipelineOptions,
  StartPipelineRunInput,
  StepOutputContent,
  UploadCodeOptions,
  UploadedCode,
  WaitOptions,
} from './pipelines.js';
export { PipelineTriggersResource } from './pipeline-triggers.js';
export type {
  CodeUploader,
  CreatePipelineTriggerInput,
  OnDatasetOptions,
  SchedulePipelineOptions,
  TriggerCodeUpload,
  TriggerPipelineOptions,
  TriggerProjectOptions,
} from './pipeline-triggers.js';
export {
  checkPipeline,
  dataset,
  output,
  param,
  pipeline,
  PipelineDefinitionError,
  step,
} from './pipeline-builder.js';
export type {
  DatasetInputRef,
  DurationInput,
  InputRefText,
  ParamRef,
  PipelineDefinition,
  PipelineInput,
  StepDefinition,
  StepInput,
  StepOutputRef,
} from './pipeline-builder.js';
export type { CodePackage, PackCodeOptions, PackedFile, SkippedEntry } from './code-package.js';
export { UsersResource } from './users.js';
export { TokensResource } from './tokens.js';
export type { CreateTokenOptions } from './tokens.js';
export { ProjectsResource } from './projects.js';
export { PoliciesResource, PromotionsResource } from './promotions.js';
export type { SetPolicyInput } from './promotions.js';
export { AuditResource } from './audit.js';
export type { ExportAuditOptions, ListAuditEventsOptions } from './audit.js';
export { HttpTransport } from './transport.js';
export type {
  HttpMethod,
  HttpTransportOptions,
  QueryValue,
  RequestBody,
  Transport,
  TransportRequest,
} from './transport.js';
export {
  CairnError,
  isCairnError,
  decodeMetricValue,
  encodeMetricValue,
  normalizeModelReference,
  formatProblems,
  validatePipelineDefinition,
} from '@cairn/contract';
export type {
  ArtifactEntry,
  ArtifactListing,
  ArtifactUploadResult,
  ErrorCode,
  LabelHistory,
  LabelHistoryEntry,
  LabelKind,
  LineageGraph,
  LineageNode,
  ModelCard,
  ModelCardFields,
  ModelCardPatch,
  ModelFormat,
  ModelSignature,
  ModelStage,
  ModelUploadResult,
  ModelVersion,
  ModelVersionList,
  PinnedFile,
  PinnedFileList,
  RegisteredModel,
  RegisteredModelList,
  SignatureField,
  Experiment,
  ExperimentList,
  Metric,
  MetricHistory,
  MetricValue,
  Run,
  RunInfo,
  RunList,
  RunStatus,
  ViewType,
  ApiToken,
  CreatedApiToken,
  CreateUserRequest,
  Project,
  ProjectMember,
  ProjectRole,
  User,
  WhoAmI,
  CodeVersionJson,
  DatasetDiffJson,
  DatasetJson,
  DatasetVersionJson,
  FileChunksJson,
  GcResultJson,
  SchemaChangeJson,
  StatShiftJson,
  TableDiffJson,
  TableJson,
  TableProfileJson,
  ColumnProfileJson,
  UploadedFileJson,
  UploadJson,
  VersionFileJson,
  DeploymentJson,
  DeploymentRevisionJson,
  DeploymentRouteJson,
  DeploymentSettingsJson,
  PredictionJson,
  ShadowRouteJson,
  ShadowSummaryJson,
  AuditCheckpoint,
  AuditEvent,
  AuditEventList,
  AuditOutcome,
  AuditProblem,
  AuditProblemKind,
  AuditPruneResult,
  AuditPublicKey,
  AuditVerifyResult,
  PolicyDocument,
  PolicyFormat,
  ProjectPolicy,
  PromotionCheck,
  PromotionList,
  PromotionRequest,
  PromotionReview,
  PromotionStatus,
  PromotionTarget,
  DefinitionProblem,
  FileTree,
  FileTreeEntry,
  PipelineExecutorName,
  PipelineRunDetailJson,
  PipelineRunJson,
  PipelineRunStatus,
  PipelineRunSummaryJson,
  PipelineSpec,
  PipelineTriggerJson,
  StepOutputJson,
  StepRunJson,
  StepRunStatus,
} from '@cairn/contract';
