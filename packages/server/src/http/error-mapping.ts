import { CairnError, HTTP_STATUS_BY_CODE, isCairnError, type ErrorCode } from '@cairn/contract';

/** MLflow's own codes, used only at the edge of the MLflow routes. */
export const MLFLOW_ERROR_BY_CODE: Readonly<Record<ErrorCode, { code: string; status: number }>> = {
  INVALID_ARGUMENT: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  UNAUTHENTICATED: { code: 'UNAUTHENTICATED', status: 401 },
  PERMISSION_DENIED: { code: 'PERMISSION_DENIED', status: 403 },
  NOT_FOUND: { code: 'RESOURCE_DOES_NOT_EXIST', status: 404 },
  // MLflow answers an existing name with 400, not 409.
  ALREADY_EXISTS: { code: 'RESOURCE_ALREADY_EXISTS', status: 400 },
  FAILED_PRECONDITION: { code: 'INVALID_STATE', status: 400 },
  PAYLOAD_TOO_LARGE: { code: 'BAD_REQUEST', status: 413 },
  RESOURCE_EXHAUSTED: { code: 'REQUEST_LIMIT_EXCEEDED', status: 429 },
  UNAVAILABLE: { code: 'TEMPORARILY_UNAVAILABLE', status: 503 },
  DATA_LOSS: { code: 'DATA_LOSS', status: 500 },
  INTERNAL: { code: 'INTERNAL_ERROR', status: 500 },
};

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: Array<{
    instancePath?: string;
    message?: string;
    params?: Record<string, unknown>;
    keyword?: string;
  }>;
  validationContext?: string;
}

function describeValidation(error: FastifyLikeError): { message: string; field?: string } {
  const first = error.validation?.[0];
  if (first === undefined) return { message: error.message ?? 'invalid request' };
  const base = (first.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const missing = first.keyword === 'required' ? String(first.params?.['missingProperty'] ?? '') : '';
  const extra =
    first.keyword === 'additionalProperties' ? String(first.params?.['additionalProperty'] ?? '') : '';
  const field =
    [base, missing || extra].filter((p) => p !== '').join('.') || (error.validationContext ?? 'body');
  if (missing !== '') return { message: `Missing value for required parameter '${field}'.`, field };
  if (extra !== '') return { message: `Unknown parameter '${field}'.`, field };
  return { message: `Invalid value for parameter '${field}': ${first.message ?? 'invalid'}.`, field };
}

/** Turns anything thrown while serving a request into a CairnError (500s keep no internals). */
export function toCairnError(error: unknown): CairnError {
  if (isCairnError(error)) return error;
  const e = (error ?? {}) as FastifyLikeError;
  if (e.validation !== undefined) {
    const { message, field } = describeValidation(e);
    return new CairnError('INVALID_ARGUMENT', message, field === undefined ? {} : { field });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CairnError(
        'INVALID_ARGUMENT',
        `The request body is not valid JSON: ${e.message ?? ''}`.trim(),
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CairnError('PAYLOAD_TOO_LARGE', 'The request body is larger than the server accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CairnError('INVALID_ARGUMENT', `Unsupported Content-Type: ${e.message ?? ''}`.trim());
    case 'FST_ERR_BAD_URL':
      return new CairnError('INVALID_ARGUMENT', 'The URL is malformed (a bad %-escape?).');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new CairnError('INVALID_ARGUMENT', 'Content-Length does not match the body.');
    default:
      break;
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code: ErrorCode =
      e.statusCode === 404 ? 'NOT_FOUND' : e.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_ARGUMENT';
    return new CairnError(code, e.message ?? 'bad request');
  }
  return new CairnError('INTERNAL', 'Internal error; the server log has the details under this request id.', {
    cause: error,
  });
}

export function nativeStatus(error: CairnError): number {
  return HTTP_STATUS_BY_CODE[error.code];
}
