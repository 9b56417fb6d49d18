import { CairnError } from '@cairn/contract';

/** Offset paging tokens: opaque to clients, so the scheme can change without breaking them. */
export function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

export function decodeCursor(token: unknown, field = 'page_token'): number {
  if (token === undefined || token === null || token === '') return 0;
  const text = typeof token === 'string' ? Buffer.from(token, 'base64url').toString() : '';
  const match = /^o:([0-9]{1,12})$/.exec(text);
  if (match === null) {
    throw new CairnError('INVALID_ARGUMENT', `${field} is not one this server handed out`, { field });
  }
  return Number(match[1]);
}

export function checkLimit(
  value: unknown,
  bounds: { max: number; fallback: number; field?: string },
): number {
  const { max, fallback, field = 'max_results' } = bounds;
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' && /^[0-9]{1,9}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new CairnError('INVALID_ARGUMENT', `${field} must be a whole number from 1 to ${max}`, { field });
  }
  return n;
}
