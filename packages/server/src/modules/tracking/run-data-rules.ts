import { CairnError, TRACKING_LIMITS } from '@cairn/contract';
import type { DatasetInputRecord } from './entities.js';
import type { BatchWrite } from './tracking.store.js';
import { checkArray, checkKeyValue, checkMetric, checkOptionalString, checkString } from './validation.js';

/** MLflow's tag holding the models logged to a run, as a JSON list. */
export const LOG_MODEL_HISTORY_TAG = 'mlflow.log-model.history';

export interface RawBatch {
  metrics?: unknown;
  params?: unknown;
  tags?: unknown;
}

const invalid = (message: string, field?: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, field === undefined ? {} : { field });

/**
 * Checks a whole log-batch request against MLflow's limits and value rules
 * before anything is written, so a rejected batch writes nothing.
 */
export function parseBatch(raw: RawBatch): BatchWrite {
  const rawMetrics = checkArray(raw.metrics, 'metrics');
  const rawParams = checkArray(raw.params, 'params');
  const rawTags = checkArray(raw.tags, 'tags');
  const limits: Array<[unknown[], number, string]> = [
    [rawMetrics, TRACKING_LIMITS.batchMetrics, 'metrics'],
    [rawParams, TRACKING_LIMITS.batchParams, 'params'],
    [rawTags, TRACKING_LIMITS.batchTags, 'tags'],
  ];
  for (const [items, max, name] of limits) {
    if (items.length > max) {
      throw invalid(
        `A batch logging request can contain at most ${max} ${name}. Got ${items.length} ${name}. ` +
          `Please split up ${name} across multiple requests and try again.`,
        name,
      );
    }
  }
  const total = rawMetrics.length + rawParams.length + rawTags.length;
  if (total > TRACKING_LIMITS.batchTotal) {
    throw invalid(
      `A batch logging request can contain at most ${TRACKING_LIMITS.batchTotal} metrics, params and tags in total. ` +
        `Got ${total}. Please split up the data across multiple requests and try again.`,
    );
  }
  return {
    metrics: rawMetrics.map((m, i) => checkMetric(m, `metrics[${i}]`)),
    params: dedupeParams(
      rawParams.map((p, i) => checkKeyValue(p, `params[${i}]`, TRACKING_LIMITS.maxParamValueLength)),
    ),
    tags: dedupeTags(
      rawTags.map((t, i) => checkKeyValue(t, `tags[${i}]`, TRACKING_LIMITS.maxTagValueLength)),
    ),
  };
}

/** The last value of a repeated tag key wins, as in MLflow. */
export function dedupeTags(
  tags: Array<{ key: string; value: string }>,
): Array<{ key: string; value: string }> {
  const byKey = new Map<string, string>();
  for (const tag of tags) byKey.set(tag.key, tag.value);
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** A param key repeated with the same value is one param; with another value it is an error. */
export function dedupeParams(
  params: Array<{ key: string; value: string }>,
): Array<{ key: string; value: string }> {
  const byKey = new Map<string, string>();
  for (const param of params) {
    const seen = byKey.get(param.key);
    if (seen !== undefined && seen !== param.value) {
      throw invalid(
        `Duplicate parameter key '${param.key}' with different values ('${seen}' and '${param.value}') in one batch.`,
        'params',
      );
    }
    byKey.set(param.key, param.value);
  }
  return [...byKey].map(([key, value]) => ({ key, value }));
}

export function checkDatasetInput(raw: unknown, field: string): DatasetInputRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid(`${field} must be an object`, field);
  const record = raw as Record<string, unknown>;
  const dataset = record['dataset'];
  if (typeof dataset !== 'object' || dataset === null || Array.isArray(dataset)) {
    throw invalid(
      `${field}.dataset must be an object with name, digest, source_type and source`,
      `${field}.dataset`,
    );
  }
  const d = dataset as Record<string, unknown>;
  const schema = checkOptionalString(d['schema'], `${field}.dataset.schema`, 1_048_576);
  const profile = checkOptionalString(d['profile'], `${field}.dataset.profile`, 1_048_576);
  return {
    dataset: {
      name: nonEmpty(checkString(d['name'], `${field}.dataset.name`, 500), `${field}.dataset.name`),
      digest: nonEmpty(checkString(d['digest'], `${field}.dataset.digest`, 144), `${field}.dataset.digest`),
      sourceType: nonEmpty(
        checkString(d['source_type'] ?? d['sourceType'], `${field}.dataset.source_type`, 144),
        `${field}.dataset.source_type`,
      ),
      source: checkString(d['source'], `${field}.dataset.source`, 65_535),
      ...(schema === undefined ? {} : { schema }),
      ...(profile === undefined ? {} : { profile }),
    },
    tags: checkArray(record['tags'], `${field}.tags`).map((t, i) =>
      checkKeyValue(t, `${field}.tags[${i}]`, TRACKING_LIMITS.maxTagValueLength),
    ),
  };
}

function nonEmpty(value: string, field: string): string {
  if (value.trim() === '') throw invalid(`${field} must not be empty`, field);
  return value;
}

const LOGGED_MODEL_FIELDS = ['run_id', 'artifact_path', 'utc_time_created', 'model_uuid'] as const;
const MANDATORY_MODEL_FIELDS = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'] as const;

/**
 * The part of an MLflow `Model` that MLflow keeps in the history tag
 * (`Model.get_tags_dict()`): identity, time, and flavors without their
 * config. Signatures and metadata stay in the MLmodel file, so large
 * signatures never overflow the tag.
 */
export function parseLoggedModel(raw: unknown): Record<string, unknown> {
  const text = checkString(raw, 'model_json', 1_048_576);
  let model: unknown;
  try {
    model = JSON.parse(text);
  } catch {
    model = undefined;
  }
  if (typeof model !== 'object' || model === null || Array.isArray(model)) {
    throw invalid('model_json must be a JSON object describing the logged model', 'model_json');
  }
  const record = model as Record<string, unknown>;
  const missing = MANDATORY_MODEL_FIELDS.filter((field) => record[field] === undefined);
  if (missing.length > 0) {
    throw invalid(`Model json is missing mandatory fields: ${missing.join(', ')}`, 'model_json');
  }
  const flavors = record['flavors'];
  if (typeof flavors !== 'object' || flavors === null || Array.isArray(flavors)) {
    throw invalid('model_json.flavors must be an object keyed by flavor name', 'model_json');
  }
  const kept: Record<string, unknown> = {};
  for (const field of LOGGED_MODEL_FIELDS) if (record[field] !== undefined) kept[field] = record[field];
  kept['flavors'] = Object.fromEntries(
    Object.entries(flavors as Record<string, unknown>).map(([name, config]) => [
      name,
      typeof config === 'object' && config !== null && !Array.isArray(config)
        ? Object.fromEntries(Object.entries(config).filter(([key]) => key !== 'config'))
        : config,
    ]),
  );
  return kept;
}

/**
 * Appends a model to the run's log-model history tag. When the list outgrows
 * a tag value, the oldest entries give way, so the newest model is always kept.
 */
export function appendLoggedModel(previous: string | undefined, model: Record<string, unknown>): string {
  let history: unknown[] = [];
  try {
    const parsed: unknown = JSON.parse(previous ?? '[]');
    if (Array.isArray(parsed)) history = parsed;
  } catch {
    history = [];
  }
  history.push(model);
  let value = JSON.stringify(history);
  while (value.length > TRACKING_LIMITS.maxTagValueLength && history.length > 1) {
    history.shift();
    value = JSON.stringify(history);
  }
  if (value.length > TRACKING_LIMITS.maxTagValueLength) {
    throw invalid(`model_json is longer than ${TRACKING_LIMITS.maxTagValueLength} characters`, 'model_json');
  }
  return value;
}
