import { CairnError } from '@cairn/contract';
import { RISK_TIERS, STAGES, type RiskTier, type Stage } from './entities.js';

/** Domain checks for registry input; every failure names its field. */

export const REGISTRY_LIMITS = {
  maxNameLength: 256,
  maxAliasLength: 255,
  maxTagKeyLength: 250,
  maxTagValueLength: 100_000,
  maxDescriptionLength: 100_000,
  maxSourceLength: 4_000,
  maxCardFieldLength: 100_000,
  maxSearchResultsModels: 1_000,
  maxSearchResultsVersions: 200_000,
} as const;

const invalid = (field: string, message: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', `${field}: ${message}`, { field });

const missing = (field: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', `Missing value for required parameter '${field}'.`, { field });

export function checkText(value: unknown, field: string, maxLength: number): string {
  if (value === undefined || value === null) throw missing(field);
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  if (value.length > maxLength)
    throw invalid(field, `is ${value.length} characters long, the limit is ${maxLength}`);
  // PostgreSQL text cannot hold NUL: refused here, it would otherwise fail the query with a 500.
  if (value.includes('\u0000')) throw invalid(field, 'must not contain NUL characters');
  return value;
}

export function checkOptionalText(value: unknown, field: string, maxLength: number): string | undefined {
  return value === undefined || value === null ? undefined : checkText(value, field, maxLength);
}

/**
 * Model names end up in `models:/<name>/<version>` and `models:/<name>@<alias>`
 * URIs, so the characters that would make those ambiguous are refused.
 */
export function checkModelName(value: unknown, field = 'name'): string {
  const name = checkText(value, field, REGISTRY_LIMITS.maxNameLength);
  if (name.trim() === '') throw invalid(field, 'must not be empty');
  if (name !== name.trim()) throw invalid(field, 'must not start or end with spaces');
  // `.` and `..` vanish from URL paths once clients normalise them, so such a model could never be reached.
  if (name === '.' || name === '..') throw invalid(field, `"${name}" is not a usable name`);
  if (/[/@\\]/.test(name)) throw invalid(field, `"${name}" must not contain '/', '\\' or '@'`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid(field, 'must not contain control characters');
  return name;
}

const ALIAS_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Aliases read like words: never a number or `v3` (those name versions), never the reserved `latest`. */
export function checkAlias(value: unknown, field = 'alias'): string {
  const alias = checkText(value, field, REGISTRY_LIMITS.maxAliasLength);
  if (alias === '') throw invalid(field, 'must not be empty');
  if (/^[vV]?\d+$/.test(alias)) {
    throw invalid(
      field,
      `"${alias}" looks like a version number; an alias must start with a letter, e.g. champion`,
    );
  }
  if (!ALIAS_PATTERN.test(alias)) {
    throw invalid(
      field,
      `"${alias}" may only contain letters, digits, '_' and '-', and must start with a letter or '_' (no '@' or '/')`,
    );
  }
  if (alias.toLowerCase() === 'latest')
    throw invalid(field, '"latest" is reserved: it always means the newest version');
  return alias;
}

/** A version number as MLflow sends it (a string) or as a number. */
export function checkVersionNumber(value: unknown, field = 'version'): number {
  if (value === undefined || value === null || value === '') throw missing(field);
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,9}$/.test(text.trim()) || Number(text) < 1) {
    throw invalid(field, `must be a positive whole version number, got ${JSON.stringify(value)}`);
  }
  return Number(text);
}

/** Stages are matched case-insensitively, as MLflow does, and returned in canonical case. */
export function checkStage(value: unknown, field = 'stage'): Stage {
  const text = checkText(value, field, 64);
  const stage = STAGES.find((s) => s.toLowerCase() === text.trim().toLowerCase());
  if (stage === undefined)
    throw invalid(field, `"${text}" is not a stage; expected one of ${STAGES.join(', ')}`);
  return stage;
}

export function checkRiskTier(value: unknown, field = 'risk_tier'): RiskTier | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !(RISK_TIERS as readonly string[]).includes(value.trim().toLowerCase())) {
    throw invalid(
      field,
      `${JSON.stringify(value)} is not a risk tier; expected one of ${RISK_TIERS.join(', ')}`,
    );
  }
  return value.trim().toLowerCase() as RiskTier;
}

export function checkTagKey(value: unknown, field = 'key'): string {
  const key = checkText(value, field, REGISTRY_LIMITS.maxTagKeyLength);
  if (key === '') throw invalid(field, 'must not be empty');
  return key;
}

export function checkTags(value: unknown, field = 'tags'): Array<{ key: string; value: string }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(field, 'must be a list of {key, value}');
  return value.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null)
      throw invalid(`${field}[${i}]`, 'must be an object {key, value}');
    const tag = item as Record<string, unknown>;
    return {
      key: checkTagKey(tag['key'], `${field}[${i}].key`),
      value: checkText(tag['value'] ?? '', `${field}[${i}].value`, REGISTRY_LIMITS.maxTagValueLength),
    };
  });
}

export function checkMaxResults(value: unknown, defaultValue: number, limit: number): number {
  if (value === undefined || value === null || value === '') return defaultValue;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > limit) {
    throw invalid(
      'max_results',
      `must be a whole number between 1 and ${limit}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

export function checkBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid(field, 'must be true or false');
}

/** The tag MLflow clients name a model's project with, since MLflow's create request has no such field. */
export const PROJECT_TAG = 'cairn.project';
const PROJECT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The project a new model goes to: `project`, else the `cairn.project` tag, else `default`. */
export function checkProject(
  value: unknown,
  tags: ReadonlyArray<{ key: string; value: string }>,
  defaultProject: string,
): string {
  const given =
    value === undefined || value === null || value === '' ? undefined : projectId(value, 'project');
  const tag = tags.findLast((t) => t.key === PROJECT_TAG)?.value;
  const tagged = tag === undefined || tag === '' ? undefined : projectId(tag, `tags.${PROJECT_TAG}`);
  if (given !== undefined && tagged !== undefined && given !== tagged) {
    throw invalid('project', `'${given}' and tag ${PROJECT_TAG} '${tagged}' differ; give one of them`);
  }
  return given ?? tagged ?? defaultProject;
}

function projectId(value: unknown, field: string): string {
  const text = checkText(value, field, 63);
  if (!PROJECT_ID_PATTERN.test(text)) {
    throw invalid(field, `"${text}" is not a project id (lower-case letters, digits, '_' and '-')`);
  }
  return text;
}
