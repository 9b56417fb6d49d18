import {
  encodeMetricValue,
  type LabelHistoryEntry,
  type ModelCard,
  type ModelVersion,
  type PinnedFile,
  type RegisteredModel,
} from '@cairn/contract';
import type {
  LabelHistoryEntry as LabelHistoryRecord,
  ModelVersionRecord,
  PinnedFile as PinnedFileRecord,
  RegisteredModelRecord,
} from './entities.js';
import type { ModelCardView } from './model-cards.service.js';

/**
 * Registry entities in the native API's JSON (/api/v1): camelCase, epoch-ms
 * times, integer versions. Only the contract's fields go out (not the model
 * id or run link). Written field by field so a record field that
 * drifts from the contract fails to compile here.
 */
export function nativeModel(m: RegisteredModelRecord, latestVersion: number | null): RegisteredModel {
  return {
    name: m.name,
    project: m.projectId,
    description: m.description,
    creationTime: m.creationTime,
    lastUpdateTime: m.lastUpdateTime,
    tags: m.tags,
    aliases: m.aliases,
    latestVersion,
  };
}

export function nativeVersion(v: ModelVersionRecord): ModelVersion {
  return {
    name: v.name,
    version: v.version,
    versionId: v.versionId,
    description: v.description,
    status: v.status,
    statusMessage: v.statusMessage,
    stage: v.stage,
    source: v.source,
    runId: v.runId,
    format: v.format,
    digest: v.digest,
    fileCount: v.fileCount,
    sizeBytes: v.sizeBytes,
    signature: v.signature,
    formatDetails: v.formatDetails,
    tags: v.tags,
    aliases: v.aliases,
    creationTime: v.creationTime,
    lastUpdateTime: v.lastUpdateTime,
    userId: v.userId,
  };
}

export function nativePinnedFile(f: PinnedFileRecord): PinnedFile {
  return { path: f.path, digest: f.digest, sizeBytes: f.sizeBytes };
}

export function nativeHistoryEntry(e: LabelHistoryRecord): LabelHistoryEntry {
  return {
    kind: e.kind,
    label: e.label,
    version: e.version,
    startedAt: e.startedAt,
    endedAt: e.endedAt,
    startedBy: e.startedBy,
    endedBy: e.endedBy,
  };
}

/** Metric values may be NaN or ±Infinity, which JSON cannot carry: they go as strings, as in runs. */
export function nativeCard(card: ModelCardView): ModelCard {
  const { sourceRun, ...generated } = card.generated;
  return {
    model: card.model,
    version: card.version,
    fields: {
      intendedUse: card.fields.intendedUse,
      outOfScopeUse: card.fields.outOfScopeUse,
      limitations: card.fields.limitations,
      ethicalConsiderations: card.fields.ethicalConsiderations,
      riskTier: card.fields.riskTier,
      markdown: card.fields.markdown,
    },
    updatedAt: card.updatedAt,
    updatedBy: card.updatedBy,
    generated: {
      ...generated,
      ...(sourceRun === undefined
        ? {}
        : {
            sourceRun: {
              ...sourceRun,
              metrics: Object.fromEntries(
                Object.entries(sourceRun.metrics).map(([k, v]) => [k, encodeMetricValue(v)]),
              ),
            },
          }),
    },
  };
}

/** Service errors name fields as MLflow does; the native API names them as its requests do. */
const NATIVE_FIELDS: ReadonlyArray<[RegExp, string]> = [
  [/^new_name$/, 'name'],
  [/^run_id$/, 'runId'],
  [/^max_results$/, 'maxResults'],
  [/^page_token$/, 'pageToken'],
  [/^order_by/, 'orderBy'],
  [/^archive_existing_versions$/, 'archiveExisting'],
  [/^risk_tier$/, 'riskTier'],
];

export function nativeField(field: string): string {
  for (const [pattern, replacement] of NATIVE_FIELDS) {
    if (pattern.test(field)) return field.replace(pattern, replacement);
  }
  return field;
}
