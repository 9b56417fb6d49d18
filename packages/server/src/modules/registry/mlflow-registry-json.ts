import type { ModelVersionRecord, RegisteredModelRecord } from './entities.js';

/**
 * Registry entities in MLflow's REST JSON (model_registry.proto): snake_case,
 * versions as strings, tags and aliases as lists. Optional fields MLflow's SQL
 * store leaves null when not given (description, user_id, run_id, run_link,
 * status_message) and empty repeated fields are left out, as proto-JSON does;
 * MLflow clients read a missing string as '' and a missing list as [].
 * Cairn's own fields (format, digest, signature…) stay on the native API.
 */
export function mlflowModelVersion(v: ModelVersionRecord): Record<string, unknown> {
  const tags = keyValues(v.tags);
  return {
    name: v.name,
    version: String(v.version),
    creation_timestamp: v.creationTime,
    last_updated_timestamp: v.lastUpdateTime,
    ...nonEmpty('user_id', v.userId),
    current_stage: v.stage,
    ...nonEmpty('description', v.description),
    source: v.source,
    ...nonEmpty('run_id', v.runId),
    status: v.status,
    ...nonEmpty('status_message', v.statusMessage),
    ...(tags.length === 0 ? {} : { tags }),
    ...nonEmpty('run_link', v.runLink),
    ...(v.aliases.length === 0 ? {} : { aliases: [...v.aliases].sort() }),
  };
}

/** `latestVersions`: the newest version in each stage, as MLflow's `latest_versions`. */
export function mlflowRegisteredModel(
  m: RegisteredModelRecord,
  latestVersions: readonly ModelVersionRecord[],
): Record<string, unknown> {
  const tags = keyValues(m.tags);
  const aliases = Object.entries(m.aliases)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([alias, version]) => ({ alias, version: String(version) }));
  return {
    name: m.name,
    creation_timestamp: m.creationTime,
    last_updated_timestamp: m.lastUpdateTime,
    ...nonEmpty('description', m.description),
    ...(latestVersions.length === 0
      ? {}
      : {
          latest_versions: [...latestVersions].sort((a, b) => a.version - b.version).map(mlflowModelVersion),
        }),
    ...(tags.length === 0 ? {} : { tags }),
    ...(aliases.length === 0 ? {} : { aliases }),
  };
}

function keyValues(tags: Record<string, string>): Array<{ key: string; value: string }> {
  return Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
}

function nonEmpty(field: string, value: string | null): Record<string, string> {
  return value === null || value === '' ? {} : { [field]: value };
}
