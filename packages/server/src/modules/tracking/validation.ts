import {
  CairnError,
  RUN_STATUSES,
  TRACKING_LIMITS,
  VIEW_TYPES,
  type RunStatus,
  type ViewType,
} from '@cairn/contract';
import type { MetricPoint } from './entities.js';

/**
 * Domain checks on values that reach the service. Every failure names the
 * field it is about, so each face can point the user at it.
 */
const invalid = (field: string, message: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', `${field}: ${message}`, { field });

/** A wrong type, or MLflow's wording when the value is simply absent. */
const wrongType = (field: string, expected: string, value: unknown): CairnError =>
  value === undefined
    ? new CairnError('INVALID_ARGUMENT', `Missing value for required parameter '${field}'.`, { field })
    : invalid(field, `${expected}, got ${describe(value)}`);

const describe = (value: unknown): string => {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return 'an array';
  return `${typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`}`;
};

// MLflow's rule for metric/param/tag names: letters, digits, _ - . / space and :,
// and never a path that could climb out of its folder when written to disk.
const KEY_PATTERN = /^[\p{L}\p{N}_\-./ :]+$/u;

export function checkKey(value: unknown, field: string): string {
  if (typeof value !== 'string') throw wrongType(field, `must be a string`, value);
  if (value.length === 0) throw invalid(field, 'must not be empty');
  if (value.length > TRACKING_LIMITS.maxEntityKeyLength) {
    throw invalid(
      field,
      `is ${value.length} characters long; the limit is ${TRACKING_LIMITS.maxEntityKeyLength}`,
    );
  }
  if (!KEY_PATTERN.test(value)) {
    throw invalid(
      field,
      `"${value.slice(0, 80)}" may only contain letters, digits, underscores, dashes, periods, spaces, colons and slashes`,
    );
  }
  if (value.startsWith('/') || value.split('/').some((part) => part === '..' || part === '.')) {
    throw invalid(field, `"${value}" must be a relative name without "." or ".." segments`);
  }
  return value;
}

export function checkString(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string') throw wrongType(field, `must be a string`, value);
  if (value.length > maxLength)
    throw invalid(field, `is ${value.length} characters long; the limit is ${maxLength}`);
  if (value.includes('\u0000')) throw invalid(field, 'must not contain NUL characters');
  return value;
}

export function checkOptionalString(value: unknown, field: string, maxLength: number): string | undefined {
  return value === undefined || value === null ? undefined : checkString(value, field, maxLength);
}

/** An int64 as MLflow clients send it: a JSON integer, or a decimal string (protobuf JSON). */
export function checkInteger(value: unknown, field: string): number {
  const number =
    typeof value === 'string' && /^-?\d{1,19}$/.test(value.trim()) ? Number(value.trim()) : (value as number);
  if (typeof number !== 'number' || !Number.isFinite(number) || !Number.isInteger(number)) {
    throw wrongType(field, `must be an integer`, value);
  }
  if (!Number.isSafeInteger(number)) throw invalid(field, `${number} is outside the range of safe integers`);
  return number;
}

export function checkOptionalInteger(value: unknown, field: string): number | undefined {
  return value === undefined || value === null ? undefined : checkInteger(value, field);
}

/** A metric value: any double, with NaN and ±Infinity sent as protobuf-JSON strings. */
export function checkMetricValue(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === 'NaN') return Number.NaN;
    if (trimmed === 'Infinity' || trimmed === '+Infinity') return Number.POSITIVE_INFINITY;
    if (trimmed === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (trimmed !== '' && Number.isFinite(Number(trimmed))) return Number(trimmed);
  }
  throw wrongType(field, `must be a number (or "NaN", "Infinity", "-Infinity")`, value);
}

export function checkMetric(raw: unknown, field: string, defaults: { timestamp?: number } = {}): MetricPoint {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw wrongType(field, `must be an object with key, value, timestamp and step`, raw);
  }
  const record = raw as Record<string, unknown>;
  const key = checkKey(record['key'], `${field}.key`);
  const value = checkMetricValue(record['value'], `${field}.value`);
  const timestamp =
    record['timestamp'] === undefined && defaults.timestamp !== undefined
      ? defaults.timestamp
      : checkInteger(record['timestamp'], `${field}.timestamp`);
  const step =
    record['step'] === undefined || record['step'] === null
      ? 0
      : checkInteger(record['step'], `${field}.step`);
  return { key, value, timestamp, step };
}

export function checkKeyValue(
  raw: unknown,
  field: string,
  maxValueLength: number,
): { key: string; value: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw wrongType(field, `must be an object with key and value`, raw);
  }
  const record = raw as Record<string, unknown>;
  return {
    key: checkKey(record['key'], `${field}.key`),
    value: checkString(record['value'], `${field}.value`, maxValueLength),
  };
}

export function checkRunStatus(value: unknown, field: string): RunStatus {
  if (typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value))
    return value as RunStatus;
  throw wrongType(field, `must be one of ${RUN_STATUSES.join(', ')}`, value);
}

export function checkViewType(value: unknown, field: string): ViewType {
  if (value === undefined || value === null || value === '') return 'ACTIVE_ONLY';
  if (typeof value === 'string' && (VIEW_TYPES as readonly string[]).includes(value))
    return value as ViewType;
  if (value === 1 || value === 2 || value === 3) return VIEW_TYPES[value - 1] as ViewType;
  throw wrongType(field, `must be one of ${VIEW_TYPES.join(', ')}`, value);
}

export function checkMaxResults(value: unknown, field: string, limit: number): number {
  if (value === undefined || value === null) return TRACKING_LIMITS.defaultMaxResults;
  const number = checkInteger(value, field);
  if (number < 1 || number > limit) throw invalid(field, `must be between 1 and ${limit}, got ${number}`);
  return number;
}

export function checkExperimentName(value: unknown, field = 'name'): string {
  const name = checkString(value, field, TRACKING_LIMITS.maxExperimentNameLength);
  if (name.trim() === '') throw invalid(field, 'must not be empty');
  return name;
}

export function checkId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw wrongType(field, `must be a non-empty string`, value);
  }
  if (value.length > 256 || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw invalid(field, `"${value.slice(0, 60)}" is not a valid id`);
  }
  return value;
}

export function checkArray(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw wrongType(field, `must be an array`, value);
  return value;
}
