import { CairnError } from '@cairn/contract';

/**
 * Search page tokens, in MLflow's shape: base64 of the JSON `{"offset": N}`.
 * Tokens are opaque to clients; any token this module did not make is refused.
 */

const MAX_TOKEN_LENGTH = 1_000;

export function encodePageToken(offset: number): string {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`a page token offset must be a non-negative safe integer, got ${offset}`);
  }
  return Buffer.from(`{"offset": ${offset}}`, 'utf8').toString('base64');
}

/** The offset a token stands for; 0 for no token (or an empty one). */
export function decodePageToken(token: string | undefined, field = 'page_token'): number {
  if (token === undefined || token === '') return 0;
  const invalid = (why: string): CairnError =>
    new CairnError(
      'INVALID_ARGUMENT',
      `Invalid ${field}: ${why}; pass the token from the previous page unchanged`,
      {
        field,
      },
    );
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH)
    throw invalid('not a token this server issued');
  // Standard or URL-safe base64, padding optional.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(token)) throw invalid('not base64');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalid('not a token this server issued');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid('not a token this server issued');
  }
  const offset = (parsed as { offset?: unknown }).offset;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw invalid('its offset is not a non-negative integer');
  }
  return offset;
}
