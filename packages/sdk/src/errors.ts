import { CairnError, isCairnError, isErrorCode, type ErrorCode } from '@cairn/contract';

/** Statuses worth another try: the server was busy or briefly broken. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RESOURCE_EXHAUSTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'UNAVAILABLE',
};

interface WireError {
  code?: unknown;
  message?: unknown;
  field?: unknown;
  requestId?: unknown;
}

/**
 * Rebuilds the server's CairnError from a failed response: the wire body
 * `{error: {code, message, field, requestId}}` keeps its code; anything else
 * (a proxy's HTML page, an empty 502) gets a code from the status.
 */
export async function errorFromResponse(response: Response, what: string): Promise<CairnError> {
  const headerId = response.headers.get('x-request-id') ?? undefined;
  const retryable = isRetryableStatus(response.status);
  let text = '';
  try {
    text = await response.text();
  } catch {
    // the body is gone; the status still says enough
  }
  let wire: WireError | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'object' && parsed.error !== null) wire = parsed.error as WireError;
  } catch {
    wire = undefined;
  }
  if (wire !== undefined && isErrorCode(wire.code) && typeof wire.message === 'string') {
    const requestId = typeof wire.requestId === 'string' ? wire.requestId : headerId;
    return new CairnError(wire.code, wire.message, {
      ...(typeof wire.field === 'string' ? { field: wire.field } : {}),
      ...(requestId === undefined ? {} : { requestId }),
      retryable,
    });
  }
  const code: ErrorCode = CODE_BY_STATUS[response.status] ?? 'INTERNAL';
  const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return new CairnError(
    code,
    `${what} failed: HTTP ${response.status} ${response.statusText}${snippet === '' ? '' : ` — ${snippet}`}`,
    { ...(headerId === undefined ? {} : { requestId: headerId }), retryable },
  );
}

/** A request that never got an answer: refused, reset, DNS, or timed out. */
export function networkError(error: unknown, target: string, timeoutMs: number): CairnError {
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError') {
    return new CairnError('UNAVAILABLE', `No answer from ${target} within ${timeoutMs} ms.`, {
      cause: error,
      retryable: true,
    });
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const detail =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : error instanceof Error
          ? error.message
          : String(error);
  return new CairnError('UNAVAILABLE', `Cannot reach Cairn at ${target} (${detail}).`, {
    cause: error,
    retryable: true,
  });
}

/** Anything thrown inside the SDK, as a CairnError (bugs become INTERNAL, keeping the cause). */
export function asCairnError(error: unknown): CairnError {
  if (isCairnError(error)) return error;
  return new CairnError('INTERNAL', error instanceof Error ? error.message : String(error), { cause: error });
}
