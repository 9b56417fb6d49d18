import { CairnError } from '@cairn/contract';
import type {
  LabelHistoryEntry,
  ModelCardFields,
  ModelFormat,
  ModelSignature,
  ModelVersionRecord,
  PinnedFile,
  RegisteredModelRecord,
  RiskTier,
  Stage,
  VersionStatus,
} from '../../../modules/registry/entities.js';
import type { NewModelVersion } from '../../../modules/registry/registry.store.js';
import type {
  ModelCardsTable,
  ModelLabelHistoryTable,
  ModelVersionFilesTable,
  ModelVersionsTable,
  RegisteredModelsTable,
} from '../schema.js';

/** A version row as the stores select it: joined with its model for the name. */
export type VersionRow = ModelVersionsTable & { model_name: string };

export function toModel(
  row: RegisteredModelsTable,
  related: { tags: Record<string, string>; aliases: Record<string, number> },
): RegisteredModelRecord {
  return {
    modelId: row.model_id,
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    creationTime: Number(row.creation_ms),
    lastUpdateTime: Number(row.last_update_ms),
    tags: related.tags,
    aliases: related.aliases,
  };
}

/** A new model's row; its version counter starts at 0 so the first version is 1. */
export function toModelRow(model: RegisteredModelRecord): RegisteredModelsTable {
  return {
    model_id: model.modelId,
    project_id: model.projectId,
    name: model.name,
    description: model.description,
    last_version: 0,
    creation_ms: model.creationTime,
    last_update_ms: model.lastUpdateTime,
  };
}

export function toVersion(
  row: VersionRow,
  related: { tags: Record<string, string>; aliases: string[] },
): ModelVersionRecord {
  return {
    versionId: row.version_id,
    modelId: row.model_id,
    name: row.model_name,
    version: Number(row.version),
    description: row.description,
    userId: row.user_id,
    status: row.status as VersionStatus,
    statusMessage: row.status_message,
    stage: row.stage as Stage,
    source: row.source,
    runId: row.run_id,
    runLink: row.run_link,
    format: row.format as ModelFormat,
    digest: row.digest as `sha256:${string}`,
    fileCount: Number(row.file_count),
    sizeBytes: Number(row.size_bytes),
    signature: parseSignature(row),
    formatDetails: parseJsonObject(row, 'format_details') ?? {},
    creationTime: Number(row.creation_ms),
    lastUpdateTime: Number(row.last_update_ms),
    tags: related.tags,
    aliases: related.aliases,
  };
}

export function toVersionRow(version: NewModelVersion): ModelVersionsTable {
  return {
    version_id: version.versionId,
    model_id: version.modelId,
    version: version.version,
    description: version.description,
    user_id: version.userId,
    status: version.status,
    status_message: version.statusMessage,
    stage: version.stage,
    source: version.source,
    run_id: version.runId,
    run_link: version.runLink,
    format: version.format,
    digest: version.digest,
    file_count: version.fileCount,
    size_bytes: version.sizeBytes,
    signature: version.signature === null ? null : JSON.stringify(version.signature),
    format_details: JSON.stringify(version.formatDetails),
    creation_ms: version.creationTime,
    last_update_ms: version.lastUpdateTime,
  };
}

/** Key order matches `flattenFileRow`, which the compiled-statement cache relies on. */
export function toFileRow(versionId: string, file: PinnedFile): ModelVersionFilesTable {
  return { version_id: versionId, path: file.path, digest: file.digest, size_bytes: file.sizeBytes };
}

export const flattenFileRow = (row: ModelVersionFilesTable): readonly unknown[] => [
  row.version_id,
  row.path,
  row.digest,
  row.size_bytes,
];

export function toPinnedFile(
  row: Pick<ModelVersionFilesTable, 'path' | 'digest' | 'size_bytes'>,
): PinnedFile {
  return { path: row.path, digest: row.digest as `sha256:${string}`, sizeBytes: Number(row.size_bytes) };
}

export function toLabelEntry(row: ModelLabelHistoryTable): LabelHistoryEntry {
  return {
    kind: row.kind as LabelHistoryEntry['kind'],
    label: row.label,
    version: Number(row.version),
    startedAt: Number(row.started_ms),
    endedAt: row.ended_ms === null ? null : Number(row.ended_ms),
    startedBy: row.started_by,
    endedBy: row.ended_by,
  };
}

export function toCard(row: ModelCardsTable): ModelCardFields & { updatedAt: number; updatedBy: string } {
  return {
    intendedUse: row.intended_use,
    outOfScopeUse: row.out_of_scope_use,
    limitations: row.limitations,
    ethicalConsiderations: row.ethical_considerations,
    riskTier: row.risk_tier as RiskTier | null,
    markdown: row.markdown,
    updatedAt: Number(row.updated_ms),
    updatedBy: row.updated_by,
  };
}

export function toCardRow(
  versionId: string,
  card: ModelCardFields,
  stamp: { at: number; actor: string },
): ModelCardsTable {
  return {
    version_id: versionId,
    intended_use: card.intendedUse,
    out_of_scope_use: card.outOfScopeUse,
    limitations: card.limitations,
    ethical_considerations: card.ethicalConsiderations,
    risk_tier: card.riskTier,
    markdown: card.markdown,
    updated_ms: stamp.at,
    updated_by: stamp.actor,
  };
}

function parseSignature(row: VersionRow): ModelSignature | null {
  const value = parseJsonObject(row, 'signature');
  if (value === null) return null;
  const { source, inputs, outputs } = value;
  if (
    (source !== 'onnx' && source !== 'mlflow' && source !== 'command') ||
    !Array.isArray(inputs) ||
    !Array.isArray(outputs)
  ) {
    throw corrupt(row, 'signature is not a signature with source, inputs and outputs');
  }
  return value as unknown as ModelSignature;
}

/** JSON columns are text on both dialects; a row that does not hold an object is corrupt, not "empty". */
function parseJsonObject(
  row: VersionRow,
  columnName: 'signature' | 'format_details',
): Record<string, unknown> | null {
  const text = row[columnName];
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw corrupt(row, `${columnName} is not valid JSON`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(row, `${columnName} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function corrupt(row: VersionRow, problem: string, cause?: unknown): CairnError {
  return new CairnError(
    'INTERNAL',
    `stored ${problem} (model version ${row.model_name}/${row.version})`,
    cause === undefined ? {} : { cause },
  );
}
