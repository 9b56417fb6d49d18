import { CairnError } from '@cairn/contract';

/**
 * A point in time as users give it in filters: epoch milliseconds, or an
 * ISO-8601 date/time. Shared by every query that takes one (label history,
 * audit events), so they accept and refuse the same things.
 */
export function checkTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    if (/^\d{1,16}$/.test(value)) return Number(value);
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed) && /^\d{4}-\d{2}-\d{2}/.test(value)) return parsed;
  }
  throw new CairnError(
    'INVALID_ARGUMENT',
    `${field}: expected epoch milliseconds or an ISO date such as 2026-03-03T12:00:00Z, got ${JSON.stringify(value)}`,
    { field },
  );
}
