import { invalidArgument } from './errors.js';

/**
 * Durations and memory sizes as people write them in a pipeline definition.
 * Both parsers throw INVALID_ARGUMENT (a CairnError carrying `field`) with a
 * message that shows the accepted forms.
 */

const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)\s*/y;
const DECIMAL = /^\d+(?:\.\d+)?$/;

/** Binary units throughout: 1K = 1/1024 MB, 1G = 1GB = 1Gi = 1GiB = 1024 MB. */
const MEMORY_UNIT_MB = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 } as const;
const MEMORY_TEXT = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])i?b?)?$/i;

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : `a ${typeof value === 'object' ? 'map' : typeof value}`;
}

function durationTextMs(text: string): number | null {
  if (DECIMAL.test(text)) return Number(text) * 1000;
  if (text === '') return null;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    DURATION_PART.lastIndex = at;
    const match = DURATION_PART.exec(text);
    if (match === null) return null;
    total += Number(match[1]) * DURATION_UNIT_MS[match[2] as keyof typeof DURATION_UNIT_MS];
    at = DURATION_PART.lastIndex;
  }
  return total;
}

/**
 * Milliseconds from a number of seconds (`90`, `0.5`) or a string of one or
 * more `<number><unit>` parts, unit `ms`, `s`, `m`, `h` or `d`: `500ms`,
 * `30s`, `5m`, `2h`, `1d`, `1h30m`, `1h 30m`. A bare numeric string is
 * seconds. Never negative; rounded to a whole millisecond.
 */
export function parseDuration(value: unknown, field: string): number {
  let ms: number | null = null;
  if (typeof value === 'number') ms = Number.isFinite(value) && value >= 0 ? value * 1000 : null;
  else if (typeof value === 'string') ms = durationTextMs(value.trim());
  if (ms === null) {
    throw invalidArgument(
      `${shown(value)} is not a duration: write 500ms, 30s, 5m, 2h, 1d, 1h30m or a number of seconds`,
      field,
    );
  }
  if (ms > Number.MAX_SAFE_INTEGER) throw invalidArgument(`${shown(value)} is too long a duration`, field);
  return Math.round(ms);
}

/** Shortest exact text for a duration: `1h30m`, `500ms`, `7d`, `0s`. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms);
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = DURATION_UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text === '' ? '0s' : text;
}

/**
 * Megabytes (MiB, rounded up) from a number of MB (`2048`) or a string with
 * an optional binary unit K, M, G or T, written alone or with `i`, `B` or
 * `iB`, in any case: `512Mi`, `4GiB`, `4G`, `2048MB`, `4g`. Must be above 0.
 */
export function parseMemory(value: unknown, field: string): number {
  let mb: number | null = null;
  if (typeof value === 'number') mb = Number.isFinite(value) ? value : null;
  else if (typeof value === 'string') {
    const match = MEMORY_TEXT.exec(value.trim());
    const unit = (match?.[2]?.toLowerCase() ?? 'm') as keyof typeof MEMORY_UNIT_MB;
    if (match !== null) mb = Number(match[1]) * MEMORY_UNIT_MB[unit];
  }
  if (mb === null || mb < 0) {
    throw invalidArgument(
      `${shown(value)} is not a memory size: write 512Mi, 4GiB, 4G, 2048MB or a number of MB`,
      field,
    );
  }
  if (mb === 0) throw invalidArgument(`memory must be more than 0`, field);
  if (mb > Number.MAX_SAFE_INTEGER)
    throw invalidArgument(`${shown(value)} is too large a memory size`, field);
  return Math.ceil(mb);
}
