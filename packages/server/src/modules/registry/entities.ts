/** Registry records. Version numbers are integers here; MLflow's wire format makes them strings. */

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

export const MODEL_FORMATS = ['onnx', 'mlflow', 'command', 'opaque'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

export const VERSION_STATUSES = ['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export const RISK_TIERS = ['low', 'medium', 'high'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

export interface RegisteredModelRecord {
  modelId: string;
  projectId: string;
  name: string;
  description: string;
  creationTime: number;
  lastUpdateTime: number;
  tags: Record<string, string>;
  /** alias → version number. */
  aliases: Record<string, number>;
}

export interface SignatureField {
  name: string | null;
  /** ONNX: the Open Inference Protocol datatype (FP32, INT64, BYTES…); MLflow: its column or numpy type. */
  type: string;
  shape?: number[];
  dimNames?: Array<string | null>;
  required?: boolean;
  onnxType?: string;
}

export interface ModelSignature {
  source: 'onnx' | 'mlflow' | 'command';
  inputs: SignatureField[];
  outputs: SignatureField[];
  params?: Array<Record<string, unknown>>;
}

export interface PinnedFile {
  /** Relative to the model's root, `/`-separated. */
  path: string;
  digest: `sha256:${string}`;
  sizeBytes: number;
}

export interface ModelVersionRecord {
  versionId: string;
  modelId: string;
  name: string;
  version: number;
  description: string;
  userId: string;
  status: VersionStatus;
  statusMessage: string;
  stage: Stage;
  /** The URI the version was registered from, as given. */
  source: string;
  runId: string | null;
  runLink: string;
  format: ModelFormat;
  /** sha256 over the sorted `path\tdigest\n` manifest: names the whole pinned file set. */
  digest: `sha256:${string}`;
  fileCount: number;
  sizeBytes: number;
  signature: ModelSignature | null;
  /** Flavors, input example, ONNX producer and opsets, inspection warnings. */
  formatDetails: Record<string, unknown>;
  creationTime: number;
  lastUpdateTime: number;
  tags: Record<string, string>;
  aliases: string[];
}

/** One interval during which a label (alias or stage) pointed at a version. */
export interface LabelHistoryEntry {
  kind: 'alias' | 'stage';
  label: string;
  version: number;
  startedAt: number;
  /** null while the label still points there. */
  endedAt: number | null;
  startedBy: string;
  endedBy: string | null;
}

export interface ModelCardFields {
  intendedUse: string;
  outOfScopeUse: string;
  limitations: string;
  ethicalConsiderations: string;
  riskTier: RiskTier | null;
  /** Free-form Markdown appended to the card. */
  markdown: string;
}

export interface ModelCardRecord extends ModelCardFields {
  updatedAt: number | null;
  updatedBy: string | null;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** Where a version's pinned files are served read-only through the artifact proxy. */
export const PINNED_ARTIFACT_ROOT = '_registry';

export function pinnedArtifactPath(versionId: string): string {
  return `${PINNED_ARTIFACT_ROOT}/${versionId}`;
}
