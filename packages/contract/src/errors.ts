/**
 * The closed table of error codes every Cairn face speaks. HTTP status and the
 * CLI's exit code are derived from the code, never chosen ad hoc.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'PAYLOAD_TOO_LARGE',
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'DATA_LOSS',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 412,
  PAYLOAD_TOO_LARGE: 413,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  INTERNAL: 500,
};

/** Process exit codes for the CLI; 1 stays "unexpected", 2 "usage". */
export const EXIT_CODE_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 3,
  UNAUTHENTICATED: 4,
  PERMISSION_DENIED: 5,
  NOT_FOUND: 6,
  ALREADY_EXISTS: 7,
  FAILED_PRECONDITION: 8,
  PAYLOAD_TOO_LARGE: 3,
  RESOURCE_EXHAUSTED: 9,
  UNAVAILABLE: 10,
  DATA_LOSS: 12,
  INTERNAL: 11,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string; requestId?: string };
}

const CAIRN_ERROR_KIND = 'cairn.error' as const;

export interface CairnErrorOptions {
  /** The request field the error is about (dotted path), when there is one. */
  field?: string;
  cause?: unknown;
  /** Whether repeating the same call may succeed (orchestrator and SDK retries). */
  retryable?: boolean;
  requestId?: string;
}

/**
 * The one error class of Cairn. Checked by its `kind` brand rather than
 * `instanceof`, so two copies of this package (server + sdk in one process)
 * still agree.
 */
export class CairnError extends Error {
  readonly kind = CAIRN_ERROR_KIND;
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryable: boolean;
  readonly requestId: string | undefined;

  constructor(code: ErrorCode, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.field = options.field;
    this.retryable = options.retryable ?? (code === 'UNAVAILABLE' || code === 'RESOURCE_EXHAUSTED');
    this.requestId = options.requestId;
  }

  get httpStatus(): number {
    return HTTP_STATUS_BY_CODE[this.code];
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
        ...(this.requestId === undefined ? {} : { requestId: this.requestId }),
      },
    };
  }
}

export function isCairnError(value: unknown): value is CairnError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === CAIRN_ERROR_KIND &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export const invalidArgument = (message: string, field?: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, field === undefined ? {} : { field });
export const notFound = (message: string): CairnError => new CairnError('NOT_FOUND', message);
export const alreadyExists = (message: string): CairnError => new CairnError('ALREADY_EXISTS', message);
export const failedPrecondition = (message: string): CairnError =>
  new CairnError('FAILED_PRECONDITION', message);
