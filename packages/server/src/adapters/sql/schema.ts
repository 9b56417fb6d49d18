import type { Generated } from 'kysely';

/** Row shapes of the metadata database. Rows stay in adapters; mappers turn them into entities. */
export interface ProjectsTable {
  project_id: string;
  name: string;
  created_ms: number;
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
}
