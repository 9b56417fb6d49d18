import type { Generated } from 'kysely';

/** Row shapes of the metadata database. Rows stay in adapters; mappers turn them into entities. */
export interface ProjectsTable {
  project_id: string;
  name: string;
  description: Generated<string>;
  created_ms: number;
  created_by: Generated<string>;
}

export interface UsersTable {
  user_id: string;
  name: string;
  display_name: string;
  email: string;
  is_admin: number;
  disabled_ms: number | null;
  created_ms: number;
  created_by: string;
}

export interface ApiTokensTable {
  token_id: string;
  user_id: string;
  name: string;
  salt: string;
  secret_hash: string;
  created_ms: number;
  expires_ms: number | null;
  revoked_ms: number | null;
  last_used_ms: number | null;
}

export interface RoleBindingsTable {
  project_id: string;
  user_id: string;
  role: string;
  created_ms: number;
  created_by: string;
}

export interface ProjectPoliciesTable {
  project_id: string;
  version: number;
  document: string;
  source: string;
  source_format: string;
  comment: string;
  created_ms: number;
  created_by: string;
}

export interface PromotionRequestsTable {
  request_id: string;
  project_id: string;
  model_id: string;
  model_name: string;
  version: number;
  target_kind: string;
  target: string;
  archive_existing: Generated<number>;
  requester: string;
  reason: string;
  status: string;
  policy_version: number | null;
  /** JSON text: the policy the request is judged by, frozen at creation. */
  policy: string;
  /** JSON text: the latest check results with their evidence. */
  checks: string;
  created_ms: number;
  expires_ms: number;
  decided_ms: number | null;
  decided_by: string | null;
  decision_comment: string | null;
}

export interface PromotionReviewsTable {
  request_id: string;
  reviewer: string;
  decision: string;
  comment: string;
  created_ms: number;
}

export interface AuditEventsTable {
  seq: number;
  time_ms: number;
  actor: string;
  action: string;
  outcome: string;
  target_kind: string;
  target_id: string;
  project_id: string | null;
  request_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  last_seq: number;
  last_hash: string;
  first_seq: number;
  anchor_hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  time_ms: number;
  key_id: string;
  signature: string;
}

export interface SequencesTable {
  name: string;
  value: number;
}

export interface ExperimentsTable {
  experiment_id: string;
  project_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_ms: number;
  last_update_ms: number;
}

export interface ExperimentTagsTable {
  experiment_id: string;
  key: string;
  value: string;
}

export interface RunsTable {
  run_uuid: string;
  experiment_id: string;
  run_name: string;
  user_id: string;
  status: string;
  start_ms: number;
  end_ms: number | null;
  lifecycle_stage: string;
  artifact_uri: string;
  deleted_ms: number | null;
}

export interface KeyValueTable {
  run_uuid: string;
  key: string;
  value: string;
}

export interface MetricsTable {
  run_uuid: string;
  key: string;
  step: number;
  timestamp_ms: number;
  value: number;
  is_nan: number;
}

export interface MetricChunksTable {
  run_uuid: string;
  key: string;
  chunk_id: string;
  point_count: number;
  min_step: number;
  max_step: number;
  data: Uint8Array;
}

export interface DatasetsTable {
  dataset_uuid: string;
  experiment_id: string;
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface InputsTable {
  input_uuid: string;
  source_type: string;
  source_id: string;
  destination_type: string;
  destination_id: string;
}

export interface InputTagsTable {
  input_uuid: string;
  key: string;
  value: string;
}

export interface ArtifactFilesTable {
  path: string;
  dir: string;
  digest: string;
  size_bytes: number;
  created_ms: number;
}

export interface ArtifactDirsTable {
  path: string;
  parent: string;
}

export interface RegisteredModelsTable {
  model_id: string;
  project_id: string;
  name: string;
  description: string;
  last_version: number;
  creation_ms: number;
  last_update_ms: number;
}

export interface RegisteredModelTagsTable {
  model_id: string;
  key: string;
  value: string;
}

export interface ModelVersionsTable {
  version_id: string;
  model_id: string;
  version: number;
  description: string;
  user_id: string;
  status: string;
  status_message: string;
  stage: string;
  source: string;
  run_id: string | null;
  run_link: string;
  format: string;
  digest: string;
  file_count: number;
  size_bytes: number;
  /** JSON text. */
  signature: string | null;
  /** JSON text: flavors, input example, ONNX producer and opsets, warnings. */
  format_details: string | null;
  creation_ms: number;
  last_update_ms: number;
}

export interface ModelVersionTagsTable {
  version_id: string;
  key: string;
  value: string;
}

export interface ModelVersionFilesTable {
  version_id: string;
  path: string;
  digest: string;
  size_bytes: number;
}

export interface ModelAliasesTable {
  model_id: string;
  alias: string;
  version: number;
}

export interface ModelLabelHistoryTable {
  entry_id: string;
  model_id: string;
  /** 'alias' | 'stage' */
  kind: string;
  label: string;
  version: number;
  started_ms: number;
  ended_ms: number | null;
  started_by: string;
  ended_by: string | null;
}

export interface ModelCardsTable {
  version_id: string;
  intended_use: string;
  out_of_scope_use: string;
  limitations: string;
  ethical_considerations: string;
  risk_tier: string | null;
  markdown: string;
  updated_ms: number;
  updated_by: string;
}

export interface LineageEdgesTable {
  /** `kind:id`, e.g. `run:3f2a…`. */
  from_node: string;
  to_node: string;
  relation: string;
  created_ms: number;
}

export interface KyselyMigrationRow {
  name: string;
  timestamp: Generated<string>;
}

export interface VersionedDatasetsTable {
  dataset_id: string;
  project_id: string;
  name: string;
  description: string;
  last_version: number;
  created_ms: number;
  created_by: string;
  updated_ms: number;
}

export interface DataPacksTable {
  pack_digest: string;
  size_bytes: number;
  created_ms: number;
}

export interface DataChunksTable {
  digest: string;
  size_bytes: number;
  pack_digest: string;
  pack_offset: number;
  stored_bytes: number;
  encoding: string;
  base_object: string | null;
  depth: number;
  created_ms: number;
}

export interface DataObjectsTable {
  object_digest: string;
  size_bytes: number;
  chunk_count: number;
  depth: number;
  created_ms: number;
}

export interface DataObjectChunksTable {
  object_digest: string;
  seq: number;
  chunk_digest: string;
  offset_bytes: number;
}

export interface DatasetVersionsTable {
  version_id: string;
  dataset_id: string;
  version: number;
  parent_version: number | null;
  message: string;
  author: string;
  created_ms: number;
  digest: string;
  file_count: number;
  size_bytes: number;
  bytes_new: number;
}

export interface DatasetVersionFilesTable {
  version_id: string;
  path: string;
  object_digest: string;
  size_bytes: number;
  mode: number;
}

export interface DatasetAliasesTable {
  dataset_id: string;
  alias: string;
  version: number;
  updated_ms: number;
}

export interface DataTableProfilesTable {
  object_digest: string;
  format: string;
  status: string;
  profile_json: string | null;
  error: string | null;
  updated_ms: number;
}

export interface DataUploadsTable {
  upload_id: string;
  dataset_id: string;
  parent_version: number | null;
  created_by: string;
  created_ms: number;
  touched_ms: number;
  bytes_new: number;
}

export interface DataUploadFilesTable {
  upload_id: string;
  path: string;
  object_digest: string;
  mode: number;
}

export interface DataUploadChunksTable {
  upload_id: string;
  chunk_digest: string;
}

export interface RunCodeVersionsTable {
  run_id: string;
  git_commit: string;
  branch: string | null;
  remote_url: string | null;
  dirty: number;
  diff_digest: string | null;
  diff_bytes: number;
  created_ms: number;
}

export interface DeploymentsTable {
  deployment_id: string;
  name: string;
  project_id: string;
  description: string;
  port: number | null;
  current_revision: number;
  created_ms: number;
  updated_ms: number;
  created_by: string;
}

export interface DeploymentRevisionsTable {
  deployment_id: string;
  revision: number;
  /** JSON text: LiveRoute[]. */
  routes: string;
  /** JSON text: ShadowRoute[]. */
  shadows: string;
  /** JSON text: DeploymentSettings. */
  settings: string;
  /** JSON text: FollowedAlias; null when the deployment follows no alias. */
  follow: string | null;
  reason: string;
  created_ms: number;
  created_by: string;
}

export interface PredictionsTable {
  request_id: string;
  /** 'live' | 'shadow' */
  kind: string;
  deployment_id: string;
  revision: number;
  model: string;
  version: number;
  protocol: string;
  created_ms: number;
  latency_ms: number;
  /** 'ok' | 'error' */
  status: string;
  error: string | null;
  /** JSON text. */
  inputs: string | null;
  /** JSON text. */
  outputs: string | null;
  /** 1, 0, or null when not compared. */
  agreed: number | null;
  mean_abs_diff: number | null;
}

export interface PredictionFeedbackTable {
  request_id: string;
  deployment_id: string;
  /** JSON text. */
  truth: string;
  created_ms: number;
  created_by: string;
}

export interface PipelineRunsTable {
  pipeline_run_id: string;
  project_id: string;
  pipeline_name: string;
  /** JSON text: PipelineSpec. */
  spec: string;
  definition_digest: string;
  code_digest: string | null;
  /** JSON text. */
  params: string;
  executor: string;
  use_cache: number;
  status: string;
  /** JSON text: PipelineTrigger. */
  trigger: string;
  trigger_key: string | null;
  error: string | null;
  experiment_id: string;
  owner: string | null;
  lease_until_ms: number | null;
  created_ms: number;
  started_ms: number | null;
  ended_ms: number | null;
  created_by: string;
}

export interface PipelineStepsTable {
  step_run_id: string;
  pipeline_run_id: string;
  step_name: string;
  item_index: number;
  /** JSON text; null without foreach. */
  item: string | null;
  status: string;
  attempt: number;
  cache_key: string | null;
  cached_from: string | null;
  reason: string | null;
  run_id: string | null;
  /** JSON text: Record<string, StepOutput>. */
  outputs: string;
  exit_code: number | null;
  error: string | null;
  stderr_tail: string | null;
  not_before_ms: number | null;
  lease_owner: string | null;
  lease_until_ms: number | null;
  pid: number | null;
  created_ms: number;
  started_ms: number | null;
  ended_ms: number | null;
}

export interface PipelineTriggersTable {
  trigger_id: string;
  project_id: string;
  name: string;
  kind: string;
  cron: string | null;
  timezone: string | null;
  dataset: string | null;
  alias: string | null;
  /** JSON text: PipelineSpec. */
  spec: string;
  definition_digest: string;
  code_digest: string | null;
  /** JSON text. */
  params: string;
  executor: string;
  enabled: number;
  next_ms: number | null;
  last_seen: string | null;
  created_ms: number;
  created_by: string;
}

export interface Database {
  projects: ProjectsTable;
  sequences: SequencesTable;
  experiments: ExperimentsTable;
  experiment_tags: ExperimentTagsTable;
  runs: RunsTable;
  params: KeyValueTable;
  tags: KeyValueTable;
  metric_chunks: MetricChunksTable;
  latest_metrics: MetricsTable;
  datasets: DatasetsTable;
  inputs: InputsTable;
  input_tags: InputTagsTable;
  artifact_files: ArtifactFilesTable;
  artifact_dirs: ArtifactDirsTable;
  registered_models: RegisteredModelsTable;
  registered_model_tags: RegisteredModelTagsTable;
  model_versions: ModelVersionsTable;
  model_version_tags: ModelVersionTagsTable;
  model_version_files: ModelVersionFilesTable;
  model_aliases: ModelAliasesTable;
  model_label_history: ModelLabelHistoryTable;
  model_cards: ModelCardsTable;
  lineage_edges: LineageEdgesTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  role_bindings: RoleBindingsTable;
  project_policies: ProjectPoliciesTable;
  promotion_requests: PromotionRequestsTable;
  promotion_reviews: PromotionReviewsTable;
  audit_events: AuditEventsTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  versioned_datasets: VersionedDatasetsTable;
  data_packs: DataPacksTable;
  data_chunks: DataChunksTable;
  data_objects: DataObjectsTable;
  data_object_chunks: DataObjectChunksTable;
  dataset_versions: DatasetVersionsTable;
  dataset_version_files: DatasetVersionFilesTable;
  dataset_aliases: DatasetAliasesTable;
  data_table_profiles: DataTableProfilesTable;
  data_uploads: DataUploadsTable;
  data_upload_files: DataUploadFilesTable;
  data_upload_chunks: DataUploadChunksTable;
  run_code_versions: RunCodeVersionsTable;
  deployments: DeploymentsTable;
  deployment_revisions: DeploymentRevisionsTable;
  predictions: PredictionsTable;
  prediction_feedback: PredictionFeedbackTable;
  pipeline_runs: PipelineRunsTable;
  pipeline_steps: PipelineStepsTable;
  pipeline_triggers: PipelineTriggersTable;
}
