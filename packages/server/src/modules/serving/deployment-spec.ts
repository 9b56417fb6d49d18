import { CairnError } from '@cairn/contract';
import { DEFAULT_BATCHING } from '@cairn/serving';
import type { ModelVersionRecord } from '../registry/index.js';
import type {
  DeploymentSettings,
  DeploymentSpec,
  FollowedAlias,
  LiveRoute,
  ShadowRoute,
} from './entities.js';
import type { ModelVersionSource } from './serving-context.js';

/** Formats a runtime can serve; a version of any other format is refused when deployed, not when first called. */
export const SERVABLE_FORMATS: readonly string[] = ['onnx', 'command'];

/**
 * Defaults for a new deployment: batching as the runtime measured it best
 * for small models (see DEFAULT_BATCHING), a queue that holds a few batches'
 * worth of waiting requests, and every request logged.
 */
export const DEFAULT_SETTINGS: DeploymentSettings = Object.freeze({
  maxBatchSize: DEFAULT_BATCHING.maxBatchSize,
  maxBatchWaitMs: DEFAULT_BATCHING.maxBatchWaitMs,
  maxQueue: 1024,
  sampleRate: 1,
});

export const SETTING_BOUNDS = {
  maxBatchSize: { min: 1, max: 4096 },
  maxBatchWaitMs: { min: 0, max: 1000 },
  maxQueue: { min: 1, max: 100_000 },
} as const;

const MAX_CANARIES = 8;
const MAX_SHADOWS = 4;

/** What a caller may change; absent fields keep the previous revision's values. */
export interface SpecInput {
  model?: unknown;
  canary?: unknown;
  shadows?: unknown;
  follow?: unknown;
  settings?: unknown;
}

/**
 * Builds the next revision's spec from the caller's input and the current
 * spec (none for a new deployment). Every reference is resolved to a version
 * now, with the caller's read permission, so a revision names exact versions
 * and digests whatever aliases do later (follow mode rolls by new revisions).
 */
export async function buildSpec(
  models: ModelVersionSource,
  input: SpecInput,
  current?: DeploymentSpec,
): Promise<DeploymentSpec> {
  const primaryRef = input.model === undefined ? undefined : checkRef(input.model, 'model');
  if (primaryRef === undefined && current === undefined) {
    throw new CairnError('INVALID_ARGUMENT', 'model is required: a version as NAME/3 or NAME@ALIAS', {
      field: 'model',
    });
  }
  const canaryInput = input.canary === undefined ? undefined : checkCanaries(input.canary);
  const shadowInput = input.shadows === undefined ? undefined : checkShadows(input.shadows);
  const primary =
    primaryRef === undefined ? primaryOf(current!) : await resolveRoute(models, primaryRef, 'model');
  const canaries =
    canaryInput === undefined
      ? (current?.routes.slice(1) ?? [])
      : await Promise.all(
          canaryInput.map(async (c, i) => ({
            ...(await resolveRoute(models, c.ref, `canary[${i}].model`)),
            weight: c.weight,
          })),
        );
  const canaryWeight = canaries.reduce((sum, c) => sum + c.weight, 0);
  if (canaryWeight >= 100) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `canary weights add up to ${canaryWeight}%; they must leave the primary model some traffic (at most 99%)`,
      { field: 'canary' },
    );
  }
  const routes: LiveRoute[] = [{ ...primary, weight: 100 - canaryWeight }, ...canaries];
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.versionId)) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `${route.model}/${route.version} is named twice among the live routes`,
        { field: 'canary' },
      );
    }
    seen.add(route.versionId);
  }
  const shadows =
    shadowInput === undefined
      ? (current?.shadows ?? [])
      : await Promise.all(
          shadowInput.map(async (s, i) => ({
            ...(await resolveRoute(models, s.ref, `shadows[${i}].model`)),
            percent: s.percent,
          })),
        );
  return {
    routes,
    shadows: shadows.map((s): ShadowRoute => ({ ...s })),
    settings: checkSettings(input.settings, current?.settings ?? DEFAULT_SETTINGS),
    follow: followOf(input.follow, primaryRef, current),
  };
}

/** The primary route: the one the rest of the traffic goes to (always first). */
export function primaryOf(spec: DeploymentSpec): LiveRoute {
  return spec.routes[0]!;
}

export async function resolveRoute(
  models: ModelVersionSource,
  ref: string,
  field: string,
): Promise<Omit<LiveRoute, 'weight'>> {
  let record: ModelVersionRecord;
  try {
    record = await models.resolve(ref);
  } catch (error) {
    // Say which reference was wrong; refusals and internal errors pass as they are.
    if (error instanceof CairnError && (error.code === 'NOT_FOUND' || error.code === 'INVALID_ARGUMENT')) {
      throw new CairnError(error.code, `${field}: ${error.message}`, { field, cause: error });
    }
    throw error;
  }
  if (record.status !== 'READY') {
    throw new CairnError('FAILED_PRECONDITION', `${field}: ${record.name}/${record.version} is not ready`, {
      field,
    });
  }
  if (!SERVABLE_FORMATS.includes(record.format)) {
    throw new CairnError(
      'FAILED_PRECONDITION',
      `${field}: ${record.name}/${record.version} is a ${record.format} model, which Cairn cannot serve; ` +
        `register an ONNX file, or a folder with a cairn-model.json naming the command that serves it`,
      { field },
    );
  }
  return {
    ref,
    model: record.name,
    version: record.version,
    versionId: record.versionId,
    digest: record.digest,
    format: record.format,
  };
}

function checkRef(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 600) {
    throw new CairnError('INVALID_ARGUMENT', `${field} must name a model version as NAME/3 or NAME@ALIAS`, {
      field,
    });
  }
  return value.trim();
}

function checkCanaries(value: unknown): Array<{ ref: string; weight: number }> {
  if (!Array.isArray(value) || value.length > MAX_CANARIES) {
    throw new CairnError('INVALID_ARGUMENT', `canary must be a list of at most ${MAX_CANARIES} routes`, {
      field: 'canary',
    });
  }
  return value.map((item: unknown, i) => {
    const field = `canary[${i}]`;
    const entry = checkObject(item, field);
    const weight = entry['weight'];
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1 || weight > 99) {
      throw new CairnError('INVALID_ARGUMENT', `${field}.weight must be a whole percent from 1 to 99`, {
        field: `${field}.weight`,
      });
    }
    return { ref: checkRef(entry['model'], `${field}.model`), weight };
  });
}

function checkShadows(value: unknown): Array<{ ref: string; percent: number }> {
  if (!Array.isArray(value) || value.length > MAX_SHADOWS) {
    throw new CairnError('INVALID_ARGUMENT', `shadows must be a list of at most ${MAX_SHADOWS} routes`, {
      field: 'shadows',
    });
  }
  return value.map((item: unknown, i) => {
    const field = `shadows[${i}]`;
    const entry = checkObject(item, field);
    const percent = entry['percent'] ?? 100;
    if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 1 || percent > 100) {
      throw new CairnError('INVALID_ARGUMENT', `${field}.percent must be a whole percent from 1 to 100`, {
        field: `${field}.percent`,
      });
    }
    return { ref: checkRef(entry['model'], `${field}.model`), percent };
  });
}

export function checkSettings(value: unknown, base: DeploymentSettings): DeploymentSettings {
  if (value === undefined || value === null) return { ...base };
  const input = checkObject(value, 'settings');
  const known = new Set(['maxBatchSize', 'maxBatchWaitMs', 'maxQueue', 'sampleRate']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `settings.${key} is not a setting; known: ${[...known].join(', ')}`,
        {
          field: `settings.${key}`,
        },
      );
    }
  }
  const settings = { ...base };
  for (const key of ['maxBatchSize', 'maxBatchWaitMs', 'maxQueue'] as const) {
    const given = input[key];
    if (given === undefined) continue;
    const { min, max } = SETTING_BOUNDS[key];
    if (typeof given !== 'number' || !Number.isInteger(given) || given < min || given > max) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `settings.${key} must be a whole number from ${min} to ${max}`,
        {
          field: `settings.${key}`,
        },
      );
    }
    settings[key] = given;
  }
  const rate = input['sampleRate'];
  if (rate !== undefined) {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new CairnError('INVALID_ARGUMENT', 'settings.sampleRate must be a number from 0 to 1', {
        field: 'settings.sampleRate',
      });
    }
    settings.sampleRate = rate;
  }
  return settings;
}

/**
 * Follow mode tracks the alias the primary route was named by. Turning it on
 * needs that reference to be an alias; a new primary by number turns it off.
 */
function followOf(
  value: unknown,
  primaryRef: string | undefined,
  current?: DeploymentSpec,
): FollowedAlias | null {
  if (value !== undefined && value !== null && typeof value !== 'boolean') {
    throw new CairnError('INVALID_ARGUMENT', 'follow must be true or false', { field: 'follow' });
  }
  const ref = primaryRef ?? current?.routes[0]?.ref ?? '';
  const keeps = current?.follow != null && (primaryRef === undefined || primaryRef.includes('@'));
  const wanted = value === undefined || value === null ? keeps : value;
  if (!wanted) return null;
  const at = ref.lastIndexOf('@');
  if (at <= 0) {
    throw new CairnError(
      'INVALID_ARGUMENT',
      `follow needs the model named by an alias (NAME@ALIAS), not ${JSON.stringify(ref)}`,
      { field: 'follow' },
    );
  }
  return { model: ref.slice(0, at).replace(/^models:\//, ''), alias: ref.slice(at + 1) };
}

function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CairnError('INVALID_ARGUMENT', `${field} must be an object`, { field });
  }
  return value as Record<string, unknown>;
}
